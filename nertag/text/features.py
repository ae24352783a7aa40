"""Features of a word and windows of words.

Every word is described by F discrete features (its normalised form, its caps
pattern, optionally prefixes, suffixes and a word shape). Each feature has its
own vocabulary, whose first three entries are the specials ``<s>`` (padding
before a sentence), ``</s>`` (padding after it) and ``<unk>``.

A corpus becomes ``ids: (N, F)`` (one row per token) and then, for window w,
``X: (N, n, F)`` with n = 2w+1: the ids of the n words around each token,
built with NumPy indexing — no Python loop per token.

With the character CNN (``features.char_dim`` > 0) each row goes on with the word's
L character ids (:class:`CharFeature`): ``ids: (N, F + L)``, ``X: (N, n, F + L)``.

**Word features and token features.** Everything above is a function of the word
alone: a word *type* has one row of ids (``word_ids``, ``type_ids``: F + L columns,
:attr:`Featurizer.word_columns`), which the tagging path computes once per type.
Name-list matches (``features.gazetteer``, :class:`GazetteerFeature`) are not: whether
``York`` is inside a ``LOC-city`` match depends on the words around it.  They are C
*token* features, one per list category, put between the word features and the
characters: a token's row is ``[F word ids | C match ids | L character ids]``
(:attr:`Featurizer.n_columns`; :meth:`Featurizer.feature_ids` needs the sentence
lengths, since matches never cross a sentence).  The network treats them like any
other embedded feature (``E_gaz_<category>``, :attr:`nertag.nn.arch.Arch.token_features`).
With document context (``features.doc_context``) T more token columns follow them, one
per entity type, whose codes come from a first model (:mod:`nertag.text.doc_context`,
:mod:`nertag.text.token_features`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from nertag.nn.ragged import window_ids
from nertag.text.gazetteer import Gazetteer
from nertag.text.token_features import (GAZ_VOCAB, SPECIALS, DocContextFeature, GazetteerFeature,
                                       code_ids)

START, END, UNK = 0, 1, 2
CAPS = ["lower", "upper", "title", "mixed", "none"]  # the caps patterns, in id order

_DIGITS = re.compile(r"\d")
_SHAPE_RUN = re.compile(r"(.)\1{3,}")
_SHAPE_ASCII = str.maketrans({c: "d" if c.isdigit() else "X" if c.isupper() else "x"
                              for c in map(chr, range(128)) if c.isalnum()})  # (ASCII words)


def normalize(word: str, lowercase: bool = True, digits_to_zero: bool = True) -> str:
    """The lookup form of a word: lowercased, every digit replaced by 0."""
    if lowercase:
        word = word.lower()
    if digits_to_zero:
        word = _DIGITS.sub("0", word)
    return word


def caps(word: str) -> str:
    """Caps pattern: all lower / all caps / first capital / capital inside / no letters."""
    letters = [c for c in word if c.isalpha()]
    if not letters:
        return "none"
    if all(c.isupper() for c in letters):
        return "upper" if len(letters) > 1 or not word[0].isupper() else "title"
    if not any(c.isupper() for c in letters):
        return "lower"
    if word[0].isupper() and not any(c.isupper() for c in word[1:]):
        return "title"
    return "mixed"


def shape(word: str) -> str:
    """Word shape: X for capitals, x for lower case, d for digits, runs cut at 4 (``Xxxx``)."""
    out = word.translate(_SHAPE_ASCII) if word.isascii() else "".join(
        "d" if c.isdigit() else ("X" if c.isupper() else "x") if c.isalpha() else c for c in word)
    return _SHAPE_RUN.sub(lambda m: m.group(1) * 4, out)[:20] if len(out) > 4 else out


class Vocab:
    """A list of strings with the three specials first; ``ids`` maps unknowns to ``<unk>``."""

    def __init__(self, items: Iterable[str]):
        self.items = list(SPECIALS) + [w for w in items if w not in SPECIALS]
        self.index = {w: i for i, w in enumerate(self.items)}
        #: the word vocabulary's leading items that training saw (the pretrained words
        #: follow, most frequent first); None when not known (a vocabulary as saved)
        self.n_seen: int | None = None

    def __len__(self) -> int:
        return len(self.items)

    def get(self, key: str) -> int:
        return self.index.get(key, UNK)


@dataclass
class CharFeature:
    """A word as L character ids for the character CNN (:mod:`nertag.nn.charcnn`).

    The characters are the word's Unicode code points as read (no case folding, no
    normalisation: any language, any script); the vocabulary holds those seen in the
    training words, most frequent first, after the specials.  A row is ``pad`` = k//2
    ids ``<s>`` (0), the word's characters, then ``</s>`` (1) up to L = max_len + 2·pad;
    a word longer than max_len keeps its first ⌈max_len/2⌉ and last ⌊max_len/2⌋
    characters.  The padding words around a sentence are rows of ``<s>`` / ``</s>``
    only (as the window builder pads every column).
    """

    vocab: Vocab
    max_len: int
    pad: int

    @property
    def L(self) -> int:
        return self.max_len + 2 * self.pad

    def ids(self, words: Sequence[str]) -> np.ndarray:
        """The character ids of some words: (len(words), L) int32."""
        get, M, h = self.vocab.index.get, self.max_len, self.pad
        head, tail = [START] * h, [END] * (M + h)
        flat: list[int] = []
        for w in words:
            if len(w) > M:
                w = w[:M - M // 2] + w[len(w) - M // 2:]
            flat += head
            flat += [get(ch, UNK) for ch in w]
            flat += tail[:M + h - len(w)]
        return np.array(flat, dtype=np.int32).reshape(len(words), self.L)


def char_feature(fcfg, items: Sequence[str]) -> CharFeature | None:
    """The character feature of a config with vocabulary ``items`` (None if it is off)."""
    if not fcfg.char_dim:
        return None
    v = Vocab([])
    v.items = list(items)
    v.index = {w: i for i, w in enumerate(v.items)}
    return CharFeature(v, fcfg.char_max_len, fcfg.char_width // 2)


def _token_features(fcfg, gazetteer: Gazetteer | None, doc_types
                    ) -> tuple[GazetteerFeature | None, DocContextFeature | None]:
    """The token features a config switches on: name lists (already read) and document
    context (one category per entity type in ``doc_types``)."""
    gaz = GazetteerFeature(gazetteer, fcfg.gazetteer_dim) if gazetteer is not None else None
    doc = DocContextFeature(list(doc_types), fcfg.doc_context_dim) if fcfg.doc_context else None
    return gaz, doc


@dataclass
class Feature:
    """One discrete feature: a name, a key function word -> str, its vocabulary and size."""

    name: str
    key: Callable[[str], str]
    vocab: Vocab
    dim: int


class NormalKey:
    """A feature key that is a slice of the word's :func:`normalize` form: the form itself
    (the word feature) or its first / last k characters (affixes, always lower case).
    :meth:`Featurizer.type_ids` normalises a word once for all the keys that share a form."""

    def __init__(self, lowercase: bool, digits_to_zero: bool, part: slice = slice(None)):
        self.form, self.part = (lowercase, digits_to_zero), part

    def __call__(self, word: str) -> str:
        return normalize(word, *self.form)[self.part]


def feature_keys(fcfg) -> list[tuple[str, Callable[[str], str], int]]:
    """(name, key function, dim) for each feature the config switches on, in x's order."""
    low, dig = fcfg.lowercase, fcfg.digits_to_zero
    out = [("word", NormalKey(low, dig), fcfg.word_dim)]
    if fcfg.caps_dim:
        out.append(("caps", caps, fcfg.caps_dim))
    for k in sorted(set(fcfg.prefix_lengths)):
        out.append((f"prefix{k}", NormalKey(True, dig, slice(None, k)), fcfg.affix_dim))
    for k in sorted(set(fcfg.suffix_lengths)):
        out.append((f"suffix{k}", NormalKey(True, dig, slice(-k, None)), fcfg.affix_dim))
    if fcfg.shape_dim:
        out.append(("shape", shape, fcfg.shape_dim))
    return out


class Featurizer:
    """Turns words into feature ids ``(N, F)`` and windows ``(N, n, F)`` (``F + C + L``
    columns with name lists and characters: see the module's docstring)."""

    def __init__(self, features: list[Feature], window: int, chars: CharFeature | None = None,
                 gazetteer: GazetteerFeature | None = None,
                 doc_context: DocContextFeature | None = None):
        self.features = features
        self.window = window
        self.chars = chars
        self.gazetteer = gazetteer
        self.doc_context = doc_context

    @property
    def n(self) -> int:
        return 2 * self.window + 1

    @property
    def n_word_features(self) -> int:
        """F: the features of a word alone (the first F columns)."""
        return len(self.features)

    @property
    def n_token_features(self) -> int:
        """C: the name-list categories, then the document-context types (0 without)."""
        return self.n_gazetteer + (len(self.doc_context.types) if self.doc_context else 0)

    @property
    def n_gazetteer(self) -> int:
        """The name-list categories (the first token columns)."""
        return len(self.gazetteer.categories) if self.gazetteer else 0

    @property
    def word_columns(self) -> int:
        """Ids per word type: F, plus L with characters (what :meth:`type_ids` fills)."""
        return len(self.features) + (self.chars.L if self.chars else 0)

    @property
    def n_columns(self) -> int:
        """Ids per token: F, plus C with name lists, plus L with characters."""
        return self.word_columns + self.n_token_features

    def arch_features(self) -> list[tuple[str, int, int]]:
        """(name, V, d) of every embedded feature in the order of a token's columns: the
        word features, then the name-list categories and document-context types."""
        out = [(f.name, len(f.vocab), f.dim) for f in self.features]
        for tf in (self.gazetteer, self.doc_context):
            if tf is not None:
                out += [(name, len(GAZ_VOCAB), tf.dim) for name in tf.names]
        return out

    @classmethod
    def build(cls, fcfg, sentences: Sequence[Sequence[str]],
              extra_words: Sequence[str] = (), gazetteer: Gazetteer | None = None,
              doc_types: Sequence[str] = ()) -> "Featurizer":
        """Vocabularies from training sentences (and pretrained words, if any); the name
        lists ``gazetteer`` (already read: ``features.gazetteer``) if given; with
        ``features.doc_context``, one document-context category per entity type in
        ``doc_types``."""
        words = Counter(w for s in sentences for w in s)
        feats = []
        for name, key, dim in feature_keys(fcfg):
            counts: Counter = Counter()
            for w, c in words.items():
                counts[key(w)] += c
            if name == "caps":
                items = list(CAPS)
            elif name == "shape":
                items = [k for k, c in counts.most_common()]
            else:
                least = fcfg.min_count if name == "word" else fcfg.affix_min_count
                items = [k for k, c in counts.most_common() if c >= least]
                n_seen = len(Vocab(items)) if name == "word" else None
                if name == "word" and extra_words:
                    seen = set(items)
                    items += [w for w in extra_words if w not in seen]
            feats.append(Feature(name, key, Vocab(items), dim))
            if name == "word":
                feats[-1].vocab.n_seen = n_seen
        chars: Counter = Counter()
        if fcfg.char_dim:
            for w, c in words.items():
                for ch in w:
                    chars[ch] += c
        return cls(feats, fcfg.window,
                   char_feature(fcfg, Vocab(ch for ch, _ in chars.most_common()).items),
                   *_token_features(fcfg, gazetteer, doc_types))

    @classmethod
    def from_vocabs(cls, fcfg, vocabs: dict[str, list[str]],
                    chars: list[str] | None = None, gazetteer: Gazetteer | None = None,
                    doc_types: list[str] | None = None) -> "Featurizer":
        """Rebuild a saved featurizer (``vocabs`` and ``chars`` as saved, specials
        included; the name lists read from the model); KeyError if the config has a
        feature whose vocabulary (or name-list file) is missing."""
        feats = []
        for name, key, dim in feature_keys(fcfg):
            v = Vocab([])
            v.items = list(vocabs[name])
            v.index = {w: i for i, w in enumerate(v.items)}
            feats.append(Feature(name, key, v, dim))
        if fcfg.char_dim and chars is None:
            raise KeyError("chars")
        if fcfg.gazetteer and gazetteer is None:
            raise KeyError("gazetteer")
        if fcfg.doc_context and doc_types is None:
            raise KeyError("doc_context")
        return cls(feats, fcfg.window, char_feature(fcfg, chars or []),
                   *_token_features(fcfg, gazetteer if fcfg.gazetteer else None, doc_types))

    def vocabs(self) -> dict[str, list[str]]:
        """The word features' vocabularies (the name lists' are :data:`GAZ_VOCAB`)."""
        return {f.name: f.vocab.items for f in self.features}

    def type_ids(self, words: Sequence[str], out: np.ndarray) -> None:
        """The ids of some distinct words into ``out``: (len(words), word_columns) — the
        word features and characters, no name lists (they are not per word)."""
        forms: dict[tuple, list[str]] = {}  # each normalised form once per word
        for j, f in enumerate(self.features):
            get, key = f.vocab.index.get, f.key
            if isinstance(key, NormalKey):
                if key.form not in forms:
                    forms[key.form] = [normalize(w, *key.form) for w in words]
                part = key.part
                out[:, j] = [get(n[part], UNK) for n in forms[key.form]]
            else:
                out[:, j] = [get(key(w), UNK) for w in words]
        if self.chars is not None:
            out[:, len(self.features):] = self.chars.ids(words)

    def word_ids(self, words: Sequence[str]) -> np.ndarray:
        """The word-type columns of a flat list of words: ``(N, F)`` int32 (``(N, F + L)``).

        Each distinct word is looked up once; the result is spread to the
        tokens by NumPy indexing.
        """
        index: dict[str, int] = {}
        inverse = np.fromiter((index.setdefault(w, len(index)) for w in words),
                              dtype=np.int64, count=len(words))
        types = list(index)
        table = np.empty((len(types), self.word_columns), dtype=np.int32)
        self.type_ids(types, table)
        return table[inverse]

    def token_codes(self, words: Sequence[str], lengths=None,
                    doc_codes: np.ndarray | None = None, gaz: np.ndarray | None = None
                    ) -> np.ndarray:
        """The raw token codes of sentences given flat: (N, C) int8, the name-list codes
        ((N, 0) without lists; ``lengths`` (S,) None means one sentence; ``gaz``: those
        codes if already computed) then, with document context, ``doc_codes`` (N, T) as
        given (the featurizer cannot compute them: they come from a first model)."""
        if gaz is None:
            gaz = self.gazetteer.codes(words, lengths) if self.gazetteer is not None \
                else np.zeros((len(words), 0), np.int8)
        if self.doc_context is None:
            return gaz
        if doc_codes is None or doc_codes.shape != (len(words), len(self.doc_context.types)):
            raise ValueError(f"this featurizer needs document-context codes (N, "
                             f"{len(self.doc_context.types)}) for its {len(words)} tokens")
        return np.concatenate([gaz, doc_codes.astype(np.int8, copy=False)], axis=1)

    def token_ids(self, word_rows: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Token rows ``(N, n_columns)`` from word-type rows ``(N, word_columns)`` and the
        tokens' codes ``(N, C)``: [word features | codes as ids | characters]."""
        if not self.n_token_features:
            return word_rows
        F = len(self.features)
        out = np.empty((len(word_rows), self.n_columns), dtype=np.int32)
        out[:, :F] = word_rows[:, :F]
        out[:, F:F + codes.shape[1]] = code_ids(codes)
        out[:, F + codes.shape[1]:] = word_rows[:, F:]
        return out

    def feature_ids(self, words: Sequence[str], lengths=None,
                    doc_codes: np.ndarray | None = None) -> np.ndarray:
        """Token ids of sentences given as one flat list of words: ``(N, n_columns)`` int32;
        ``lengths`` (S,) matters only with name lists (None: one sentence); ``doc_codes``
        (N, T) with document context."""
        rows = self.word_ids(words)
        if not self.n_token_features:
            return rows
        return self.token_ids(rows, self.token_codes(words, lengths, doc_codes))

    def put_codes(self, X: np.ndarray, codes: np.ndarray, lengths) -> None:
        """Write token codes (N, C) into the first C token columns of windows X (N, n, ·)
        built from the same sentences (``lengths``), in place (training: new match dropout)."""
        F, C = len(self.features), codes.shape[1]
        if C:
            X[:, :, F:F + C] = self.windows(code_ids(codes), lengths)

    def windows(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Windows ``X: (N, n, F)`` from token ids ``(N, F)`` and sentence lengths ``(S,)``.

        Each sentence is laid out with w ``<s>`` before and w ``</s>`` after it
        in one padded array; token t of the padded array has window
        ``P[t-w : t+w+1]``, gathered for all tokens at once.
        """
        return window_ids(ids.astype(np.int32, copy=False), lengths, self.window, START, END)

    def featurize(self, sentences: Sequence[Sequence[str]],
                  doc_codes: np.ndarray | None = None) -> np.ndarray:
        """Windows for a list of sentences (lists of words): ``(N, n, F)``."""
        lengths = np.fromiter((len(s) for s in sentences), np.int64, len(sentences))
        flat = [w for s in sentences for w in s]
        return self.windows(self.feature_ids(flat, lengths, doc_codes), lengths)
