"""A trained model as a whole (config, features, parameters, labels) and its decoders.

Decoders (``model.decoder``):
  greedy       argmax of each token's scores, independently;
  constrained  the best path under the token log-probabilities that never makes an
               invalid BIO/BIOES transition (Viterbi with 0/−∞ transitions);
  viterbi      the CRF's best path with its learned transitions (crf head; for the
               other heads it is the same as constrained).

Inference speed-ups, all exact (same tags; scores equal up to float rounding),
switched on by ``fast_inference`` (the tagging and benchmark paths do; training
never does, since its parameters change under it):

* each distinct word gets a type number and its feature ids once per process
  (:class:`WordCache`), not once per batch;
* sentences given as words are scored with a :class:`~nertag.inference.word_types.TypeScorer`: the
  first layer's contribution of each word type at each window position is computed
  the first time the type is seen, so a token costs n row lookups whatever the
  features; windows given as X go through a :class:`~nertag.inference.tables.FastScorer`
  (per-feature tables once enough tokens have been scored to pay for them).  Both
  check that the parameters are unchanged before each use (:class:`~nertag.inference.tables.ParamSnapshot`);
* constrained decoding runs Viterbi only on the sentences whose greedy path makes
  an invalid transition (a valid greedy path is the constrained optimum), with a
  Viterbi whose steps cost O(K) vector operations instead of O(K²).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from nertag.nn import crf
from nertag.nn import layers as L
from nertag.nn import window as M
from nertag.text import tags as tagmod
from nertag.config import Config
from nertag.text.features import END, START, UNK, Featurizer

#: Tokens scored (with unchanged parameters) after which the lookup tables are built.
FAST_TABLE_TOKENS = 100_000
#: Distinct words whose feature ids are remembered (the cache is emptied when full).
WORD_CACHE_SIZE = 100_000


class WordCache:
    """Word types and their feature ids, remembered across calls.

    Each distinct word gets a *type* number (in order of first appearance; types 0
    and 1 stand for the padding before and after a sentence, whose feature ids are
    all ``<s>`` / all ``</s>``) and ``rows[type]`` holds its feature ids, so each
    word goes through the feature functions once.  ``encode`` == ``Featurizer.encode``.
    When more than ``max_words`` types are known the cache starts again, and
    ``generation`` counts how often that happened.
    """

    def __init__(self, featurizer: Featurizer, max_words: int = WORD_CACHE_SIZE):
        self.featurizer = featurizer
        self.max_words = max_words
        self.generation = -1
        self.clear()

    def clear(self) -> None:
        self.index: dict[str, int] = {}
        F = len(self.featurizer.features)
        self.rows = np.empty((1024, F), dtype=np.int32)
        self.rows[0], self.rows[1] = START, END
        self.size = 2
        self.generation += 1

    def types(self, words: Sequence[str]) -> np.ndarray:
        """Type numbers of a flat list of words: (N,) intp."""
        index = self.index
        try:  # all words known (the common case once the cache is warm)
            return np.fromiter(map(index.__getitem__, words), dtype=np.intp, count=len(words))
        except KeyError:
            pass
        new = [w for w in dict.fromkeys(words) if w not in index]
        if new:
            if self.size + len(new) - 2 > self.max_words:
                self.clear()
                index = self.index
                new = list(dict.fromkeys(words))
            n0 = self.size
            need = n0 + len(new)
            if need > len(self.rows):
                grown = np.empty((max(need, 2 * len(self.rows)), self.rows.shape[1]), np.int32)
                grown[:n0] = self.rows[:n0]
                self.rows = grown
            for j, f in enumerate(self.featurizer.features):
                get, key = f.vocab.index.get, f.key
                self.rows[n0:need, j] = [get(key(w), UNK) for w in new]
            index.update(zip(new, range(n0, need)))
            self.size = need
        return np.fromiter(map(index.__getitem__, words), dtype=np.intp, count=len(words))

    def encode(self, words: Sequence[str]) -> np.ndarray:
        """Feature ids ``(N, F)`` int32, as :meth:`Featurizer.encode`."""
        ks = self.types(words)  # (first: it may replace self.rows)
        return self.rows[ks]


@dataclass
class NerModel:
    cfg: Config
    featurizer: Featurizer
    arch: M.Arch
    params: dict[str, np.ndarray]
    labels: list[str]  # in the model's own scheme (cfg.model.tag_scheme)
    fast_inference: bool = False  # word types, table lookups, cheap Viterbi (inference only)
    _fast: object = field(default=None, init=False, repr=False, compare=False)
    _scored: int = field(default=0, init=False, repr=False, compare=False)
    _words: WordCache | None = field(default=None, init=False, repr=False, compare=False)
    _mask_cache: tuple | None = field(default=None, init=False, repr=False, compare=False)
    _types: object = field(default=None, init=False, repr=False, compare=False)

    @property
    def scheme(self) -> str:
        return self.cfg.model.tag_scheme

    def windows(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        if not self.fast_inference:
            return self.featurizer.featurize(sentences)
        lengths = np.fromiter((len(s) for s in sentences), np.int64, len(sentences))
        return self.windows_flat([w for s in sentences for w in s], lengths)

    def word_cache(self) -> WordCache:
        if self._words is None or self._words.featurizer is not self.featurizer:
            self._words = WordCache(self.featurizer)
        return self._words

    def windows_flat(self, words: Sequence[str], lengths: np.ndarray) -> np.ndarray:
        """Windows for sentences given as one flat word list and their lengths."""
        if self.fast_inference:
            ids = self.word_cache().encode(words)
        else:
            ids = self.featurizer.encode(words)
        return self.featurizer.windows(ids, lengths)

    def type_scorer(self):
        """The cached :class:`~nertag.inference.word_types.TypeScorer` for the current parameters."""
        from nertag.inference.word_types import TypeScorer

        cache = self.word_cache()
        ts = self._types
        if ts is None or not ts.valid_for(self.params, cache):
            ts = self._types = TypeScorer(self.params, self.arch, cache)
        return ts

    def scores_flat(self, words: Sequence[str], lengths) -> np.ndarray:
        """Scores (N, K) of sentences given as one flat word list and their lengths."""
        if self.fast_inference:
            types = self.word_cache().types(words)
            return self.type_scorer().scores(types, lengths)
        return self.scores(self.windows_flat(words, lengths))

    # ------------------------------------------------------------------ scores
    def fast_scorer(self, upcoming: int = 0, tables: bool | None = None):
        """The cached :class:`~nertag.inference.tables.FastScorer` for the current parameters.

        Tables are built once ``FAST_TABLE_TOKENS`` windows have been scored with
        these parameters (``upcoming`` counts the ones about to be), or when
        ``tables`` is True; a parameter change (even in place) discards them.
        """
        from nertag.inference.tables import FastScorer

        fs = self._fast
        if fs is not None and not fs.valid_for(self.params):
            fs, self._scored = None, 0
        self._scored += upcoming
        want = tables if tables is not None else self._scored >= FAST_TABLE_TOKENS
        if fs is None or (want and fs.plan_kind == "light"):
            fs = FastScorer(self.params, self.arch, plan="auto" if want else "light")
        self._fast = fs
        return fs

    def scores(self, X: np.ndarray) -> np.ndarray:
        if self.fast_inference:
            return self.fast_scorer(len(X)).scores(X)
        return M.scores(self.params, X, self.arch)

    # ------------------------------------------------------------------ decoding
    def _masks(self):
        key = (tuple(self.labels), self.scheme, self.params["W"].dtype)
        if self._mask_cache is None or self._mask_cache[0] != key:
            allowed, first, last = tagmod.transition_mask(self.labels, self.scheme)
            dt = self.params["W"].dtype
            neg = dt.type(-np.inf)
            masks = (np.where(allowed, 0, neg).astype(dt), np.where(first, 0, neg).astype(dt),
                     np.where(last, 0, neg).astype(dt))
            self._mask_cache = (key, masks, (allowed, first, last))
        return self._mask_cache[1]

    def decode(self, S: np.ndarray, lengths: np.ndarray, decoder: str | None = None):
        """Tag ids (B,) and each chosen tag's probability (B,) from scores S: (B, K)."""
        decoder = decoder or self.cfg.model.decoder
        head = self.arch.head
        if self.fast_inference and head in ("softmax", "crf") and len(S):
            return self._decode_softmax(S, lengths, decoder)
        if head == "binary":
            sig = 0.5 * (1 + np.tanh(0.5 * S))
            probs = sig / sig.sum(axis=1, keepdims=True)
            logp = np.log(np.maximum(probs, 1e-30))
        else:
            logp = L.log_softmax(S)
            probs = np.exp(logp)
        if decoder == "greedy":
            ids = S.argmax(axis=1)
        elif head == "crf" and decoder == "viterbi":
            A, first, last = self._masks()
            ids = _viterbi_sorted(S, lengths, self.params["A"] + A, self.params["start"] + first,
                                  self.params["end"] + last)
        elif self.fast_inference:
            ids = self._constrained(logp, lengths)
        else:
            A, first, last = self._masks()
            ids = crf.viterbi(logp, lengths, A, first, last)
        return ids, probs[np.arange(len(ids)), ids]

    def _decode_softmax(self, S: np.ndarray, lengths, decoder: str):
        """:meth:`decode` for the softmax and CRF heads, on the scores transposed to (K, B).

        Reductions over the K tags of each row are slow in NumPy (short inner
        axis); over rows of the transpose they are plain vector operations.
        The chosen tag's probability is 1/Σ exp(s − max) when it is the argmax.
        """
        St = np.ascontiguousarray(S.T)                     # (K, B)
        m = St.max(axis=0)
        lse = m + np.log(np.exp(St - m).sum(axis=0))      # log Σ exp s, per token
        if self.arch.head == "crf" and decoder == "viterbi":
            A, first, last = self._masks()
            ids = fast_viterbi(S, lengths, self.params["A"] + A, self.params["start"] + first,
                               self.params["end"] + last)
        else:
            ids = np.zeros(St.shape[1], dtype=np.intp)
            top = St[0].copy()
            for k in range(1, len(St)):                    # argmax over the K rows
                keep_better(top, ids, St[k], k)
            if decoder != "greedy":
                ids = self._constrained(None, lengths, ids=ids, S=S, lse=lse)
        conf = np.exp(S[np.arange(len(ids)), ids] - lse)
        return ids, conf

    def _constrained(self, logp: np.ndarray | None, lengths, *, ids=None, S=None,
                     lse=None) -> np.ndarray:
        """Constrained Viterbi, run only on sentences whose greedy path is invalid.

        With 0/−∞ transitions a path's score is the sum of its tokens' log-
        probabilities, so a greedy path that is valid is the constrained optimum.
        """
        A, first, last = self._masks()
        allowed, ok_first, ok_last = self._mask_cache[2]
        lengths = np.asarray(lengths, dtype=np.int64)
        if ids is None:
            ids = logp.argmax(axis=1)
        if not len(ids):
            return ids
        lengths_nz = lengths[lengths > 0]
        starts = np.cumsum(lengths_nz) - lengths_nz
        bad_tok = np.zeros(len(ids), dtype=bool)
        bad_tok[1:] = ~allowed[ids[:-1], ids[1:]]
        bad_tok[starts] = ~ok_first[ids[starts]]
        ends = starts + lengths_nz - 1
        bad_tok[ends] |= ~ok_last[ids[ends]]
        if not bad_tok.any():
            return ids
        sent_of = np.repeat(np.arange(len(lengths_nz)), lengths_nz)
        bad = np.unique(sent_of[bad_tok])
        bl = lengths_nz[bad]
        rows = np.repeat(starts[bad] - np.cumsum(bl) + bl, bl) + np.arange(bl.sum())
        sub = logp[rows] if logp is not None else S[rows] - lse[rows, None]
        ids[rows] = constrained_viterbi(sub, bl, allowed, ok_first, ok_last)
        return ids

    # ------------------------------------------------------------------ predict
    def predict_ids(self, words: Sequence[str], lengths, decoder: str | None = None,
                    X: np.ndarray | None = None):
        """Flat tag ids (model scheme) and confidences for sentences given flat."""
        lengths = np.asarray(lengths, dtype=np.int64)
        S = self.scores_flat(words, lengths) if X is None else self.scores(X)
        return self.decode(S, lengths, decoder)

    def predict(self, sentences: Sequence[Sequence[str]], decoder: str | None = None,
                X: np.ndarray | None = None):
        """BIO tags and per-token confidences for a list of sentences (lists of words)."""
        lengths = np.fromiter((len(s) for s in sentences), np.int64, len(sentences))
        if X is None:
            S = self.scores_flat([w for s in sentences for w in s], lengths)
        else:
            S = self.scores(X)
        ids, conf = self.decode(S, lengths, decoder)
        lab = _labels(self.labels)
        if self.scheme == "bioes" and lab.ok:  # tags.convert for all sentences at once
            nz = lengths[lengths > 0]
            bio = entity_spans(ids, np.cumsum(nz) - nz, lab)[3]
            labels, convert = lab.bio_tags[bio].tolist(), False
        else:
            labels = lab.as_array[ids].tolist()
            convert = self.scheme != "bio"
        out_tags, out_conf, o = [], [], 0
        for n in lengths.tolist():
            seq = labels[o:o + n]
            if convert:
                seq = tagmod.convert(seq, self.scheme, "bio")
            out_tags.append(seq)
            out_conf.append(conf[o:o + n])
            o += n
        return out_tags, out_conf


from nertag.inference.decode import (_labels, _viterbi_sorted, constrained_viterbi,  # noqa: E402,F401
                     entity_spans, fast_viterbi, keep_better)
