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

* feature ids of words are cached across calls (each distinct word is run through
  the feature functions once per process, not once per batch);
* scores come from a :class:`~nertag.fast.FastScorer` (first layer as table
  lookups once enough tokens have been scored to pay for the tables, checked
  against a fingerprint of the parameters before each use);
* constrained decoding runs Viterbi only on the sentences whose greedy path makes
  an invalid transition: a valid greedy path is the constrained optimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import crf
from . import layers as L
from . import model as M
from . import tags as tagmod
from .config import Config
from .features import UNK, Featurizer

#: Tokens scored (with unchanged parameters) after which the lookup tables are built.
FAST_TABLE_TOKENS = 100_000
#: Distinct words whose feature ids are remembered (the cache is emptied when full).
WORD_CACHE_SIZE = 200_000


class WordCache:
    """Feature ids of words, remembered across calls: ``encode`` == ``Featurizer.encode``."""

    def __init__(self, featurizer: Featurizer, max_words: int = WORD_CACHE_SIZE):
        self.featurizer = featurizer
        self.max_words = max_words
        self.clear()

    def clear(self) -> None:
        self.index: dict[str, int] = {}
        self.rows = np.empty((1024, len(self.featurizer.features)), dtype=np.int32)

    def encode(self, words: Sequence[str]) -> np.ndarray:
        index = self.index
        new = set(words).difference(index)
        if new:
            if len(index) + len(new) > self.max_words:
                self.clear()
                index = self.index
                new = set(words)
            new = list(new)
            n0 = len(index)
            need = n0 + len(new)
            if need > len(self.rows):
                grown = np.empty((max(need, 2 * len(self.rows)), self.rows.shape[1]), np.int32)
                grown[:n0] = self.rows[:n0]
                self.rows = grown
            for j, f in enumerate(self.featurizer.features):
                get, key = f.vocab.index.get, f.key
                self.rows[n0:need, j] = [get(key(w), UNK) for w in new]
            index.update(zip(new, range(n0, need)))
        ks = np.fromiter(map(index.__getitem__, words), dtype=np.intp, count=len(words))
        return self.rows[ks]


@dataclass
class NerModel:
    cfg: Config
    featurizer: Featurizer
    arch: M.Arch
    params: dict[str, np.ndarray]
    labels: list[str]  # in the model's own scheme (cfg.model.tag_scheme)
    fast_inference: bool = False  # cached features, FastScorer, Viterbi only where needed
    _fast: object = field(default=None, init=False, repr=False, compare=False)
    _scored: int = field(default=0, init=False, repr=False, compare=False)
    _words: WordCache | None = field(default=None, init=False, repr=False, compare=False)
    _mask_cache: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def scheme(self) -> str:
        return self.cfg.model.tag_scheme

    def windows(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        if not self.fast_inference:
            return self.featurizer.featurize(sentences)
        lengths = np.fromiter((len(s) for s in sentences), np.int64, len(sentences))
        return self.windows_flat([w for s in sentences for w in s], lengths)

    def windows_flat(self, words: Sequence[str], lengths: np.ndarray) -> np.ndarray:
        """Windows for sentences given as one flat word list and their lengths."""
        if self.fast_inference:
            if self._words is None or self._words.featurizer is not self.featurizer:
                self._words = WordCache(self.featurizer)
            ids = self._words.encode(words)
        else:
            ids = self.featurizer.encode(words)
        return self.featurizer.windows(ids, lengths)

    # ------------------------------------------------------------------ scores
    def fast_scorer(self, upcoming: int = 0, tables: bool | None = None):
        """The cached :class:`~nertag.fast.FastScorer` for the current parameters.

        Tables are built once ``FAST_TABLE_TOKENS`` windows have been scored with
        these parameters (``upcoming`` counts the ones about to be), or when
        ``tables`` is True; a parameter change (even in place) discards them.
        """
        from .fast import FastScorer

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
        if self.fast_inference and head == "softmax" and len(S):
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
        """:meth:`decode` for the softmax head, on the scores transposed to (K, B).

        Reductions over the K tags of each row are slow in NumPy (short inner
        axis); over rows of the transpose they are plain vector operations.
        The chosen tag's probability is 1/Σ exp(s − max) when it is the argmax.
        """
        St = np.ascontiguousarray(S.T)                     # (K, B)
        m = St.max(axis=0)
        lse = m + np.log(np.exp(St - m).sum(axis=0))      # log Σ exp s, per token
        ids = np.zeros(St.shape[1], dtype=np.intp)
        top = St[0].copy()
        for k in range(1, len(St)):                        # argmax over the K rows
            better = St[k] > top
            ids[better] = k
            np.maximum(top, St[k], out=top)
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
        if X is None:
            X = self.windows_flat(words, lengths)
        return self.decode(self.scores(X), lengths, decoder)

    def predict(self, sentences: Sequence[Sequence[str]], decoder: str | None = None,
                X: np.ndarray | None = None):
        """BIO tags and per-token confidences for a list of sentences (lists of words)."""
        lengths = np.fromiter((len(s) for s in sentences), np.int64, len(sentences))
        if X is None:
            X = self.windows_flat([w for s in sentences for w in s], lengths)
        ids, conf = self.decode(self.scores(X), lengths, decoder)
        labels = np.array(self.labels, dtype=object)[ids].tolist()
        out_tags, out_conf, o = [], [], 0
        for n in lengths.tolist():
            seq = labels[o:o + n]
            if self.scheme != "bio":
                seq = tagmod.convert(seq, self.scheme, "bio")
            out_tags.append(seq)
            out_conf.append(conf[o:o + n])
            o += n
        return out_tags, out_conf


def _viterbi_sorted(S, lengths, A, start, end) -> np.ndarray:
    """:func:`crf.viterbi` with sentences grouped by length (less padding per chunk)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(lengths) < 2 or lengths.min() == lengths.max():
        return crf.viterbi(S, lengths, A, start, end)
    order = np.argsort(lengths, kind="stable")
    offsets = np.cumsum(lengths) - lengths
    ls = lengths[order]
    rows = np.repeat(offsets[order] - np.cumsum(ls) + ls, ls) + np.arange(ls.sum())
    out = np.empty(len(S), dtype=np.int64)
    out[rows] = crf.viterbi(S[rows], ls, A, start, end)
    return out


def constrained_viterbi(logp: np.ndarray, lengths, allowed: np.ndarray, ok_first: np.ndarray,
                        ok_last: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """The best path of each sentence under 0/−∞ transitions: same as :func:`crf.viterbi`
    with ``A = where(allowed, 0, −∞)`` (and start/end likewise), ties broken the same way.

    With 0/−∞ transitions, δ_t[j] = logp[t, j] + max over the allowed predecessors i
    of δ_{t−1}[i], and tags with the same set of allowed predecessors share that
    maximum (for BIO: all of O and B-*, and {B-X, I-X} for each I-X), so a step
    costs a few vector operations instead of K×K.  Sentences are sorted longest
    first, so the sentences still running at step t are a prefix: no padding.
    """
    logp = np.asarray(logp)
    lengths = np.asarray(lengths, dtype=np.int64)
    K = logp.shape[1]
    out = np.empty(len(logp), dtype=np.int64)
    groups: dict[tuple, list[int]] = {}   # allowed predecessors -> tags sharing them
    for j in range(K):
        groups.setdefault(tuple(np.flatnonzero(allowed[:, j]).tolist()), []).append(j)
    neg = logp.dtype.type(-np.inf)
    start_pen = np.where(ok_first, 0, neg).astype(logp.dtype)[:, None]
    end_pen = np.where(ok_last, 0, neg).astype(logp.dtype)[:, None]
    offsets = np.cumsum(lengths) - lengths
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    for c in range(0, len(order), chunk):
        idx = order[c:c + chunk]
        L, off = lengths[idx], offsets[idx]
        n, T = len(idx), int(L[0])
        live = np.searchsorted(-L, -np.arange(T), side="left")  # sentences with L > t
        delta = logp[off].T + start_pen                            # (K, n)
        back = np.zeros((T, K, n), dtype=np.int8 if K < 128 else np.int32)
        new = np.empty_like(delta)
        for t in range(1, T):
            m = int(live[t])
            d = delta[:, :m]
            emit = logp[off[:m] + t].T                              # (K, m)
            for src, dst in groups.items():
                if not src:
                    best = np.full(m, neg, dtype=delta.dtype)
                    arg = np.zeros(m, dtype=back.dtype)
                else:
                    best = d[src[0]].copy()
                    arg = np.full(m, src[0], dtype=back.dtype)
                    for i in src[1:]:
                        better = d[i] > best
                        arg[better] = i
                        np.maximum(best, d[i], out=best)
                for j in dst:
                    np.add(best, emit[j], out=new[j, :m])
                    back[t, j, :m] = arg
            delta[:, :m] = new[:, :m]
        final = delta + end_pen
        tag = np.zeros(n, dtype=np.int64)
        top = final[0].copy()
        for k in range(1, K):
            better = final[k] > top
            tag[better] = k
            np.maximum(top, final[k], out=top)
        cols = np.arange(n)
        for t in range(T - 1, -1, -1):
            m = int(live[t])
            out[off[:m] + t] = tag[:m]
            if t:
                tag[:m] = back[t, tag[:m], cols[:m]]
    return out
