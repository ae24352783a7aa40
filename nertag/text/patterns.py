"""Entity patterns (rules): a JSONL file in the shape of spaCy's EntityRuler, matched over
tagged sentences and merged with the model's entities (``nertag tag --patterns FILE``).

**File.** UTF-8, one JSON object a line (blank lines are skipped)::

    {"label": "PRODUCT", "pattern": "iPhone 15"}
    {"label": "VERSION", "pattern": [{"lower": "python"}, {"shape": "d.d"}], "id": "py"}

A *phrase* pattern (a string) is cut into tokens by nertag's tokenizer
(:mod:`nertag.text.tokenize`) and matches those tokens' exact texts.  (A phrase whose
last token the tokenizer cuts differently at the end of a text, such as ``Acme Inc.``,
also matches as it is cut inside a sentence.)  A *token* pattern (a list) has one object
per token, every key of which must hold: ``text`` or ``orth`` (the exact text),
``lower`` (the lower-cased text), ``shape`` (:func:`nertag.text.features.shape`: ``Xxxx``,
``d.d``, ``dddd``) and ``regex`` (a full match of the text); ``{"text": {"REGEX": R}}``
and ``{"lower": {"REGEX": R}}`` match R against the text or the lower-cased text.  Keys
may be spelled in upper case (``LOWER``, ``ORTH``, as spaCy writes them).  ``id`` (a
string) is kept with every entity the pattern makes.

**Matching.** Over each sentence, never across sentences, leftmost-longest: scanning
left to right, the longest match starting at a token is taken (on a tie, the pattern on
the earlier line) and the scan goes on after it.  Phrase patterns are looked up as
hashed token n-grams, vectorised, as the name lists are (:mod:`nertag.text.gazetteer`):
10,000 of them cost about what 10 do; token patterns are tested on each distinct word.

**Merging** (:data:`MODES`) with the model's entities: ``override`` (patterns win: a
model entity that overlaps a match is dropped), ``fill`` (the model wins: a match that
overlaps a model entity is dropped), ``patterns`` (the matches alone; the model's
entities are not used).
"""

from __future__ import annotations

import hashlib
import os
from itertools import repeat
from typing import Iterable, Sequence

import numpy as np

from nertag.errors import NertagError
from nertag.text.features import shape
from nertag.text.gazetteer import _MULTIPLIERS, _found, _leftmost_longest, _sentence_ids
from nertag.text.patterns_file import Entry, Spec, entries_from, parse_entries, read_bytes

__all__ = ["MODES", "DEFAULT_MODE", "Patterns", "read_patterns", "parse_patterns",
           "patterns_from", "merge_keep", "read_bytes"]

#: How pattern matches and model entities are merged (see the module's docstring).
MODES = ("override", "fill", "patterns")
DEFAULT_MODE = "override"


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise NertagError(f"unknown pattern mode {mode!r}; use one of {', '.join(MODES)}",
                          exit_code=2, inputs=("pattern_mode",))
    return mode


class Patterns:
    """Compiled patterns: ``labels[i]`` and ``ids[i]`` are those of the i-th pattern (in
    file order); :meth:`match` finds them; ``mode`` says how a tagging run merges them.
    Pickles as its file's bytes (and is compiled again)."""

    def __init__(self, entries: Sequence[Entry], source: str, data: bytes,
                 mode: str = DEFAULT_MODE):
        self.source, self.file_bytes, self.mode = source, data, check_mode(mode)
        self.labels = [e.label for e in entries]
        self.ids = [e.id for e in entries]
        self._token_patterns = [(i, e.tokens) for i, e in enumerate(entries) if e.tokens]
        self._build_phrases([(i, p) for i, e in enumerate(entries) for p in e.phrases])

    def __len__(self) -> int:
        return len(self.labels)

    def __reduce__(self):
        return parse_patterns, (self.file_bytes, self.source, self.mode)

    @property
    def digest(self) -> str:
        """SHA-256 of the file's bytes and the mode: equal digests, equal matches."""
        return hashlib.sha256(self.file_bytes + b"\0" + self.mode.encode()).hexdigest()

    def with_mode(self, mode: str) -> "Patterns":
        """The same patterns merged in another ``mode``."""
        out = object.__new__(Patterns)
        out.__dict__.update(self.__dict__)
        out.mode = check_mode(mode)
        return out

    def entity_labels(self) -> list[str]:
        """The labels the patterns give, sorted."""
        return sorted(set(self.labels))

    # ------------------------------------------------------------------ phrases
    def _build_phrases(self, phrases: list[tuple[int, tuple[str, ...]]]) -> None:
        """Hash tables of the phrases' token-id n-grams (as :class:`Gazetteer` has): the
        phrases as rows of token ids ``(P, max_len)``, padded with 0 (no token's id)."""
        words = [w for _, p in phrases for w in p]
        self.vocab = dict(zip(dict.fromkeys(words), range(1, len(words) + 1)))
        lens = np.fromiter((len(p) for _, p in phrases), np.int64, len(phrases))
        self.max_len = int(lens.max(initial=0))
        pad = np.zeros((len(phrases), max(self.max_len, 1)), np.int64)
        pad[np.repeat(np.arange(len(phrases)), lens), np.arange(len(words)) -
            np.repeat(np.cumsum(lens) - lens, lens)] = np.fromiter(
            map(self.vocab.__getitem__, words), np.int64, len(words))
        # the same tokens twice: one phrase, the earliest pattern's (phrases are in order)
        _, first = np.unique(pad, axis=0, return_index=True)
        first.sort()
        pad, lens = pad[first], lens[first]
        pattern = np.array([i for i, _ in phrases], np.int64)[first] if len(phrases) else lens
        for mult in _MULTIPLIERS:
            self._powers = np.array([mult], np.uint64) ** np.arange(max(self.max_len, 1),
                                                                    dtype=np.uint64)
            self._tables: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
            if all(self._table(n, pad[lens == n, :n], pattern[lens == n])
                   for n in np.unique(lens).tolist()):
                break
        else:  # pragma: no cover - five 64-bit hash functions all colliding
            raise ValueError("patterns: n-gram hash collisions with every multiplier")
        self._prefixes = [np.zeros(0, np.uint64)]
        self._at = np.zeros((max(self.max_len, 1), len(self.vocab) + 1), bool)
        for k in range(1, self.max_len + 1):
            rows = pad[lens >= k, :k]
            self._prefixes.append(np.unique(self._hash(rows)))
            self._at[k - 1, rows[:, k - 1]] = True

    def _hash(self, rows: np.ndarray) -> np.ndarray:
        """``(m, n)`` token ids -> ``(m,)`` polynomial hashes (mod 2^64)."""
        n = rows.shape[1]
        return (rows.astype(np.uint64) * self._powers[:n]).sum(axis=1, dtype=np.uint64)

    def _table(self, n: int, rows: np.ndarray, pattern: np.ndarray) -> bool:
        """The table of the length-n phrases (distinct ``rows`` (m, n), the ``pattern``
        each is); False on a hash collision (then another multiplier is tried)."""
        h = self._hash(rows)
        order = np.argsort(h, kind="stable")
        h = h[order]
        if len(h) > 1 and np.any(h[1:] == h[:-1]):
            return False
        self._tables[n] = (h, rows[order], pattern[order])
        return True

    def _phrase_longest(self, ids: np.ndarray, sid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per token: the length of the longest phrase starting there (0: none), and which
        pattern it is (-1: none)."""
        n_tok = len(ids)
        best = np.zeros(n_tok, np.int64)
        which = np.full(n_tok, -1, np.int64)
        pos = np.flatnonzero(self._at[0][ids])
        h = ids[pos].astype(np.uint64)
        for n in range(1, self.max_len + 1):
            if n > 1:
                last = pos + (n - 1)
                keep = last < n_tok
                pos, h, last = pos[keep], h[keep], last[keep]
                keep = (sid[last] == sid[pos]) & self._at[n - 1][ids[last]]
                pos, h, last = pos[keep], h[keep], last[keep]
                h = h + ids[last].astype(np.uint64) * self._powers[n - 1]
                _, keep = _found(self._prefixes[n], h)
                pos, h = pos[keep], h[keep]
                if not len(pos):
                    break
            table = self._tables.get(n)
            if table is None:
                continue
            j, hit = _found(table[0], h)
            hit &= np.all(table[1][j] == ids[pos[:, None] + np.arange(n)], axis=1)
            best[pos[hit]] = n  # n grows: the longest phrase at a start wins
            which[pos[hit]] = table[2][j[hit]]
        return best, which

    # ------------------------------------------------------------------ matching
    def match(self, words: Sequence[str], lengths=None) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
        """The matches in sentences given as one flat list of ``words`` (N) and their
        ``lengths`` (S,) (None: one sentence): ``(begin, end, pattern)``, three (M,)
        int64 arrays, token spans ``[begin, end)`` in order, none overlapping, and the
        number of the pattern that matched."""
        n_tok = len(words)
        none = np.zeros(0, np.int64)
        if n_tok == 0 or not self.labels:
            return none, none, none
        sid = _sentence_ids(n_tok, lengths)
        get = self.vocab.get
        ids = np.fromiter(map(get, words, repeat(0)), np.int64, n_tok)
        best, which = self._phrase_longest(ids, sid) if self.max_len else (
            np.zeros(n_tok, np.int64), np.full(n_tok, -1, np.int64))
        if self._token_patterns:
            best, which = self._with_token_patterns(words, sid, best, which)
        starts, lens = _leftmost_longest(best)
        return starts, starts + lens, which[starts]

    def _with_token_patterns(self, words, sid, best, which):
        """``best``/``which`` of the phrases, with the token patterns' matches added (a
        longer match wins a start; on a tie, the earlier pattern)."""
        distinct = list(dict.fromkeys(words))
        index = dict(zip(distinct, range(len(distinct))))
        word_of = np.fromiter(map(index.__getitem__, words), np.int64, len(words))
        forms: dict[str, np.ndarray] = {}
        tested: dict[Spec, np.ndarray] = {}
        n_tok = len(words)
        for i, tokens in self._token_patterns:
            n = len(tokens)
            if n > n_tok:
                continue
            ok = sid[:n_tok - n + 1] == sid[n - 1:]
            for k, spec in ((k, spec) for k, specs in enumerate(tokens) for spec in specs):
                if spec not in tested:
                    tested[spec] = _holds(spec, distinct, index, forms)
                ok &= tested[spec][word_of[k:n_tok - n + 1 + k]]
            at = np.flatnonzero(ok)
            wins = (n > best[at]) | ((n == best[at]) & (i < which[at]))
            best[at[wins]], which[at[wins]] = n, i
        return best, which


def _holds(spec: Spec, distinct: list[str], index: dict[str, int],
           forms: dict[str, np.ndarray]) -> np.ndarray:
    """For which of the ``distinct`` words (numbered by ``index``) ``spec`` holds: (W,)
    bool.  ``text``: the word itself; ``lower``: its lower-cased form; ``shape``: its
    :func:`~nertag.text.features.shape`; ``regex``: a full match of the word (or of its
    lower-cased form).  ``forms`` keeps the words' lower-cased forms and shapes (object
    arrays) from one spec to the next."""
    if spec.kind == "text":
        hit = np.zeros(len(distinct), bool)
        if spec.value in index:
            hit[index[spec.value]] = True
        return hit
    if spec.kind in ("lower", "shape") or spec.on_lower:
        kind = "shape" if spec.kind == "shape" else "lower"
        if kind not in forms:
            f = shape if kind == "shape" else str.lower
            forms[kind] = np.array([f(w) for w in distinct], dtype=object)
        if spec.kind != "regex":
            return forms[kind] == spec.value
    texts = forms["lower"] if spec.on_lower else distinct
    match = spec.value.fullmatch
    return np.fromiter((match(w) is not None for w in texts), bool, len(distinct))


def merge_keep(mode: str, model_spans: tuple[np.ndarray, np.ndarray],
               pattern_spans: tuple[np.ndarray, np.ndarray], n_tok: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Which model entities and which pattern matches a merge in ``mode`` keeps: two bool
    arrays (E,) and (M,) for the token spans ``(begin, end)`` of each (in one sentence or
    in a flat batch of ``n_tok`` tokens; neither set overlaps itself)."""
    (mb, me), (pb, pe) = model_spans, pattern_spans
    if mode == "patterns":
        return np.zeros(len(mb), bool), np.ones(len(pb), bool)
    if mode == "override":
        return ~_overlaps(mb, me, pb, pe, n_tok), np.ones(len(pb), bool)
    return np.ones(len(mb), bool), ~_overlaps(pb, pe, mb, me, n_tok)


def _overlaps(b, e, cover_b, cover_e, n_tok: int) -> np.ndarray:
    """For each span ``[b, e)``: does it share a token with one of the cover spans?"""
    covered = np.zeros(n_tok + 1, np.int64)
    np.add.at(covered, cover_b, 1)
    np.add.at(covered, cover_e, -1)
    inside = np.r_[0, np.cumsum(np.cumsum(covered)[:n_tok] > 0)]
    return inside[e] - inside[b] > 0




# ---------------------------------------------------------------------- reading
def read_patterns(path: str | os.PathLike, mode: str = DEFAULT_MODE) -> Patterns:
    """The patterns of a JSONL file (:mod:`nertag.text.patterns_file`); every bad line is
    a :class:`NertagError` naming the file and line and what is wrong."""
    return parse_patterns(read_bytes(path), str(path), mode)


def parse_patterns(data: bytes, source: str, mode: str = DEFAULT_MODE) -> Patterns:
    """The patterns in a file's bytes (``source``: its name, for messages)."""
    return Patterns(parse_entries(data, source), source, data, mode)


def patterns_from(items: Iterable[dict], mode: str = DEFAULT_MODE,
                  source: str = "patterns") -> Patterns:
    """Patterns given as dicts, as a file's lines decode (errors name ``source[i]``)."""
    entries, data = entries_from(items, source)
    return Patterns(entries, source, data, mode)
