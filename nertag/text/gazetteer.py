"""Name lists (gazetteers): their file, and longest-match of their entries over token n-grams.

**File.** gzip-compressed UTF-8 text, one entry a line, ``CATEGORY<TAB>token token …``
(see :mod:`nertag.text.gazetteer_file`). ``tools/build_gazetteers.py`` compiles it once
from public packages, so tagging needs none.

**Matching.** An n-gram of tokens ``w_1 … w_n`` matches an entry ``e_1 … e_n`` when for
every k

    casefold(w_k) == casefold(e_k)   and   (cap(e_k) ⇒ cap(w_k)),

where ``cap(x)`` says that x starts with a capital letter (one that ``str.lower``
changes). So the entry ``Paris`` matches ``Paris`` and ``PARIS`` (a headline), never
``paris``; the ``de`` of ``Rio de Janeiro`` also matches ``De``; the surname ``Mcdonald``
matches ``McDonald``. Digits and punctuation must be the same. Matches never cross a
sentence boundary.

Each category is matched on its own (a token may be in a ``LOC-city`` match and in a
``PER-last`` match), leftmost-longest: scanning left to right, at each token the longest
entry that starts there is taken and the scan goes on after it.

**Codes.** Per token and category one of ``O B I E S`` (ids 0–4, :data:`CODES`): ``S`` a
one-token match, ``B … I … E`` a longer one. ``codes(words, lengths)`` gives ``(N, C)``
int8, C = ``len(categories)``; a featurizer embeds column c like the caps feature.
:func:`drop_matches` blanks whole matches at random during training.

The n-grams are found with NumPy: every token gets the id of its casefolded form in the
lists' vocabulary (0 when no entry has it), and an n-gram the polynomial hash
``h = Σ_k id_{i+k} · P^k (mod 2^64)``. Only positions whose (n−1)-gram is the prefix of
some entry are extended to n; a hash found in a category's sorted table is checked
against the entry's ids and capital requirements, so a collision never makes a match.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from nertag.text.gazetteer_file import (FORMAT_LINE, Lists, capitalised, decode_bytes,
                                        lists_bytes, parse_text, read_bytes, read_lists,
                                        write_lists)

__all__ = ["CODES", "O", "B", "I", "E", "S", "Gazetteer", "read_lists", "write_lists",
           "drop_matches", "match_spans", "capitalised", "FORMAT_LINE"]

CODES = ("O", "B", "I", "E", "S")
#: Distinct words whose lookup (id, capital) is kept between calls of ``codes``.
WORD_KEYS = 200_000
O, B, I, E, S = range(5)
# odd 64-bit multipliers for the n-gram hash; the next one is tried if two entries of a
# table collide (never seen: the check is there so that matching stays exact)
_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD)


class _Table:
    """One category's entries of one length n, sorted by hash: ``hashes (m,)``,
    ``ids (m, n)`` and the capitals each needs as a bit mask ``need (m,)``."""

    def __init__(self, hashes: np.ndarray, ids: np.ndarray, need: np.ndarray):
        self.hashes, self.ids, self.need = hashes, ids, need


def _found(sorted_hashes: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index into sorted_hashes, whether h is there) for every h."""
    if not len(sorted_hashes):
        return np.zeros(len(h), np.int64), np.zeros(len(h), bool)
    j = np.searchsorted(sorted_hashes, h)
    j[j == len(sorted_hashes)] = 0
    return j, sorted_hashes[j] == h


class Gazetteer:
    """Name lists ready to match: ``Gazetteer(lists)`` or ``Gazetteer.load(path)``.

    ``categories`` is the sorted list of category names: column c of :meth:`codes`.
    Several entries with the same casefolded tokens are one entry that needs a capital
    only where all of them have one.
    """

    file_bytes: bytes | None = None  # the file's bytes, when read from one
    source: Path | None = None  # the file it was read from

    def __init__(self, lists: Lists):
        data = lists_bytes(lists)  # (as a file would hold them: a model can carry them)
        self._build(*parse_text(decode_bytes(data, "<lists>"), "<lists>"))
        self.file_bytes = data

    @classmethod
    def load(cls, path: str | os.PathLike, data: bytes | None = None) -> "Gazetteer":
        """The lists in the file ``path`` (``data``: its bytes, if already read)."""
        g = cls.from_bytes(read_bytes(path) if data is None else data, path)
        g.source = Path(path)
        return g

    @classmethod
    def from_bytes(cls, data: bytes, source="<bytes>") -> "Gazetteer":
        """The lists of a file's bytes (gzip, as stored); ``data`` is kept as ``file_bytes``,
        so the file a model was trained with can be written out exactly."""
        g = cls.__new__(cls)
        g._build(*parse_text(decode_bytes(data, source), source))
        g.file_bytes = data
        return g

    def __len__(self) -> int:
        return len(self.categories)

    def index_arrays(self) -> dict[str, np.ndarray]:
        """The lists as numbered tokens, for a model directory to store beside their file:
        :meth:`from_index` rebuilds the same tables from them without parsing the text
        (0.3 s → 0.1 s for the bundled lists).  ``sha256`` names the file's bytes."""
        entry_cat, lens, ids, caps = self._numbered
        return {"sha256": np.frombuffer(hashlib.sha256(self.file_bytes).digest(), np.uint8),
                "categories": _utf8("\n".join(self.categories)), "entry_cat": entry_cat,
                "lens": lens, "ids": ids, "caps": caps,
                "words": _utf8("\n".join(self.vocab))}  # (in the order of their numbers)

    @classmethod
    def from_index(cls, arrays, data: bytes, source=None) -> "Gazetteer | None":
        """The lists of the file bytes ``data`` from :meth:`index_arrays` of them (a
        mapping of arrays, as ``np.load`` gives); None when they are not those bytes'."""
        try:
            if arrays["sha256"].tobytes() != hashlib.sha256(data).digest():
                return None
            words, categories = _lines(arrays["words"]), _lines(arrays["categories"])
            entry_cat, lens, ids = (arrays[k].astype(np.int64)
                                    for k in ("entry_cat", "lens", "ids"))
            # a token's number is its first position + 1: where they agree, the words' numbers
            first = np.flatnonzero(ids == np.arange(1, len(ids) + 1)) + 1
            if len(first) != len(words):
                return None
            g = cls.__new__(cls)
            g.vocab = dict(zip(words, first.tolist()))
            g._index(categories, entry_cat, lens, ids, arrays["caps"].astype(bool))
        except (KeyError, ValueError, TypeError, UnicodeDecodeError):
            return None
        g.file_bytes, g.source = data, None if source is None else Path(source)
        return g

    def _build(self, categories, entry_cat, lens, folded, caps) -> None:
        # a number per distinct casefolded token: its first position + 1 (one dictionary
        # pass; the numbers have gaps, which only make the lookup tables longer)
        self.vocab = {}
        ids = np.fromiter(map(self.vocab.setdefault, folded, itertools.count(1)), np.int64,
                          len(folded))
        self._index(categories, entry_cat, lens, ids, caps)

    def _index(self, categories, entry_cat, lens, ids, caps) -> None:
        """The lookup tables of entries given as token numbers ``ids`` (T,) (``self.vocab``
        numbers the casefolded tokens)."""
        self._keys: dict[str, int] = {}  # word -> 2·id + cap (see _token_ids)
        self.categories = categories
        # what index_arrays stores, kept small (8 bits a category and a length)
        self._numbered = (_small(entry_cat), _small(lens), _small(ids), caps.astype(bool))
        self.max_len = int(lens.max(initial=0))
        starts = np.cumsum(lens) - lens
        for mult in _MULTIPLIERS:
            self.powers = np.array([mult], np.uint64) ** np.arange(max(self.max_len, 1),
                                                                   dtype=np.uint64)
            self.tables = [self._tables(ids, caps, starts[entry_cat == c], lens[entry_cat == c])
                           for c in range(len(categories))]
            if all(t is not None for t in self.tables):
                break
        else:  # pragma: no cover - five 64-bit hash functions all colliding
            raise ValueError("name lists: n-gram hash collisions with every multiplier")
        # prefixes[k]: hashes of the first k tokens of every entry with ≥ k tokens
        self.prefixes = [np.zeros(0, np.uint64)]
        h = np.zeros(len(lens), np.uint64)
        for k in range(1, self.max_len + 1):
            sel = lens >= k
            h[sel] += ids[starts[sel] + k - 1].astype(np.uint64) * self.powers[k - 1]
            self.prefixes.append(_sorted_unique(h[sel]))
        # lookups by token id instead of searches: at[k][id] says that id is the k-th
        # token (from 0) of some entry; single[c][id] is the capital one-token entry id of
        # category c needs (0 or 1), -1 if there is none
        V = int(ids.max(initial=0)) + 1
        self.at = np.zeros((max(self.max_len, 1), V), bool)
        for k in range(self.max_len):
            self.at[k, ids[starts[lens > k] + k]] = True
        self.single = np.full((len(categories), V), -1, np.int8)
        for c, tables in enumerate(self.tables):
            if 1 in tables:
                self.single[c, tables[1].ids[:, 0]] = tables[1].need.astype(np.int8)

    def _tables(self, ids, caps, starts, lens) -> dict[int, _Table] | None:
        """A category's tables by entry length; None on a hash collision (another P)."""
        out = {}
        for n in _sorted_unique(lens).tolist():
            pos = starts[lens == n][:, None] + np.arange(n)
            rows = ids[pos]
            need = (caps[pos].astype(np.uint64) << np.arange(n, dtype=np.uint64)).sum(
                axis=1, dtype=np.uint64)
            h = (rows.astype(np.uint64) * self.powers[:n]).sum(axis=1, dtype=np.uint64)
            order = np.argsort(h, kind="stable")
            h, rows, need = h[order], rows[order], need[order]
            first = np.concatenate([[True], h[1:] != h[:-1]])
            if not first.all():  # the same tokens twice: one entry, capitals where all have
                group = np.cumsum(first) - 1
                if np.any(rows != rows[first][group]):
                    return None
                need = np.bitwise_and.reduceat(need, np.flatnonzero(first))
                h, rows = h[first], rows[first]
            out[n] = _Table(h, rows, need)
        return out

    def codes(self, words: Sequence[str], lengths: Sequence[int] | np.ndarray | None = None,
              keys: np.ndarray | None = None) -> np.ndarray:
        """BIOES codes of the matches: ``(N, C)`` int8 for N words and C categories.

        ``words`` is a flat list of sentences' tokens and ``lengths (S,)`` their lengths
        (``None``: one sentence); matches stay inside a sentence.  ``keys`` (N,): the
        words' :meth:`word_keys`, if the caller has them (the tagging path keeps them per
        word type), else they are looked up here.
        """
        n_tok = len(words)
        out = np.zeros((n_tok, len(self.categories)), np.int8)
        if n_tok == 0 or self.max_len == 0:
            return out
        sid = _sentence_ids(n_tok, lengths)
        if keys is None:
            ids, caps = self._token_ids(words)
        else:
            ids, caps = keys >> 1, (keys & 1).astype(np.uint64)
        starts = self._longest(ids, caps, sid)
        for c, best in enumerate(starts):
            _encode(out[:, c], *_leftmost_longest(best))
        return out

    def _token_ids(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per token: the id of its casefolded form (0: in no entry), and cap() as 0/1.

        Both depend on the word alone: each distinct word's are kept (``2·id + cap``, up to
        ``WORD_KEYS`` words, then the store starts again), so a word seen before costs
        one dictionary lookup."""
        keys = self._keys
        try:
            k = np.fromiter(map(keys.__getitem__, words), np.int64, len(words))
        except KeyError:
            new = [w for w in dict.fromkeys(words) if w not in keys]
            if len(keys) + len(new) > WORD_KEYS:
                keys.clear()
            keys.update(zip(new, self.word_keys(new).tolist()))
            k = np.fromiter(map(keys.__getitem__, words), np.int64, len(words))
        return k >> 1, (k & 1).astype(np.uint64)

    def word_keys(self, words: Sequence[str]) -> np.ndarray:
        """``2·id + cap`` of each word (N,) int64: id that of its casefolded form in the
        lists (0: in no entry), cap whether it is capitalised (:func:`capitalised`)."""
        get = self.vocab.get
        return np.fromiter((2 * get(w.casefold(), 0) + capitalised(w) for w in words),
                           np.int64, len(words))

    def _longest(self, ids: np.ndarray, caps: np.ndarray, sid: np.ndarray) -> list[np.ndarray]:
        """Per category, the length of the longest match starting at each token (0: none)."""
        n_tok = len(ids)
        best = [np.zeros(n_tok, np.int16) for _ in self.categories]
        # n = 1: the one-token entries, looked up by id
        pos = np.flatnonzero(self.at[0][ids])  # candidate starts: an entry's first token
        h = ids[pos].astype(np.uint64)
        have = caps[pos]
        for c in range(len(self.categories)):
            need = self.single[c][ids[pos]]
            hit = (need >= 0) & ((need.astype(np.uint64) & ~have) == 0)
            best[c][pos[hit]] = 1
        for n in range(2, self.max_len + 1):
            last = pos + (n - 1)
            keep = last < n_tok
            pos, h, have, last = pos[keep], h[keep], have[keep], last[keep]
            keep = (sid[last] == sid[pos]) & self.at[n - 1][ids[last]]
            pos, h, have, last = pos[keep], h[keep], have[keep], last[keep]
            h = h + ids[last].astype(np.uint64) * self.powers[n - 1]
            have = have | (caps[last] << np.uint64(n - 1))
            _, keep = _found(self.prefixes[n], h)
            pos, h, have = pos[keep], h[keep], have[keep]
            if not len(pos):
                break
            grams = None
            for c, tables in enumerate(self.tables):
                table = tables.get(n)
                if table is None:
                    continue
                j, hit = _found(table.hashes, h)
                if grams is None:
                    grams = ids[pos[:, None] + np.arange(n)]
                hit &= np.all(table.ids[j] == grams, axis=1)
                hit &= (table.need[j] & ~have) == 0
                best[c][pos[hit]] = n  # n grows: the longest entry at a start wins
        return best


def _small(a: np.ndarray) -> np.ndarray:
    """Non-negative integers in the smallest type that holds them."""
    return a.astype(np.min_scalar_type(int(a.max(initial=0))))


def _utf8(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), np.uint8)


def _lines(a: np.ndarray) -> list[str]:
    """The lines :func:`_utf8` stored (``"\n".join`` of none: no line)."""
    return a.tobytes().decode("utf-8").split("\n") if len(a) else []


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` of a 1-d array, by a sort (NumPy 2's ``np.unique`` goes through a
    hash table, 30× slower on 200k uint64 hashes)."""
    a = np.sort(a)
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a


def _sentence_ids(n_tok: int, lengths) -> np.ndarray:
    if lengths is None:
        return np.zeros(n_tok, np.int64)
    lengths = np.asarray(lengths, np.int64)
    if lengths.sum() != n_tok or np.any(lengths < 0):
        raise ValueError(f"sentence lengths add up to {int(lengths.sum())}, not to the "
                         f"{n_tok} words given")
    return np.repeat(np.arange(len(lengths)), lengths)


def _leftmost_longest(best: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping matches (starts, lengths) from the longest match at each start."""
    starts = np.flatnonzero(best)
    lens = best[starts].astype(np.int64)
    reach = np.maximum.accumulate(starts + lens)  # the furthest end of the matches so far
    alone = np.r_[True, starts[1:] >= reach[:-1]]  # starts after every earlier match ends
    if alone.all():
        return starts, lens
    # runs of overlapping matches: the first of a run is kept; the rest, left to right
    run = np.cumsum(alone) - 1
    keep = np.ones(len(starts), bool)
    end = -1
    inside = np.flatnonzero(np.bincount(run)[run] > 1)
    for i, s, n in zip(inside.tolist(), starts[inside].tolist(), lens[inside].tolist()):
        keep[i] = s >= end
        if s >= end:
            end = s + n
    return starts[keep], lens[keep]


def _encode(col: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> None:
    """Write S (length 1) or B I… E codes of the matches into ``col`` (one category)."""
    one = lens == 1
    col[starts[one]] = S
    s, n = starts[~one], lens[~one]
    col[s] = B
    col[s + n - 1] = E
    inner = n - 2
    if inner.sum():
        first = np.repeat(s + 1, inner)
        offset = np.arange(inner.sum()) - np.repeat(np.cumsum(inner) - inner, inner)
        col[first + offset] = I


def match_spans(col: np.ndarray) -> np.ndarray:
    """The matches of one category's codes ``(N,)`` as ``(M, 2)`` [start, end) token spans."""
    col = np.asarray(col)
    starts = np.flatnonzero((col == B) | (col == S))
    ends = np.flatnonzero((col == E) | (col == S)) + 1
    if len(starts) != len(ends):
        raise ValueError("malformed BIOES codes: a match starts without ending, or ends "
                         "without starting")
    return np.stack([starts, ends], axis=1)


def drop_matches(codes: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``codes (N, C)`` in which each whole match is set to O with probability p.

    Match dropout for training: the model sees each list match only 1 − p of the time,
    so it cannot lean on the lists alone. One uniform draw per match, category by
    category in column order, then left to right: the same rng state gives the same result.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"match dropout p={p}: must be between 0 and 1")
    out = np.array(codes, np.int8, copy=True)
    if p == 0.0:
        return out
    for c in range(out.shape[1]):
        col = out[:, c]
        start = (col == B) | (col == S)
        n_matches = int(start.sum())
        if not n_matches:
            continue
        match = np.cumsum(start) - 1  # which match a token is in (inside matches)
        drop = rng.random(n_matches) < p
        inside = col != O
        col[inside & drop[np.maximum(match, 0)]] = O
    return out
