"""Decoders: tag ids and confidences from a model's scores.

  greedy       argmax of each token's scores, independently;
  constrained  the best path under the token log-probabilities that never makes an
               invalid BIO/BIOES transition (Viterbi with 0/−∞ transitions);
  viterbi      the CRF's best path with its learned transitions (crf head; for the
               other heads it is the same as constrained).

Constrained decoding is the same Viterbi as the CRF's, with the transition, start and
end scores 0 (allowed) or −∞ (not).  :func:`fast_viterbi` gives exactly
:func:`nertag.nn.crf.viterbi`'s paths and ties (tested against it), faster on batches.
"""

from __future__ import annotations

import numpy as np

from nertag.nn import crf
from nertag.nn.activations import sigmoid
from nertag.nn.layers import log_softmax
from nertag.nn.ragged import sentence_starts, token_rows
from nertag.text import tags as tagmod

DECODERS = ("greedy", "constrained", "viterbi")


class Decoder:
    """The decoders of one model: its labels, tag scheme, head and float type."""

    def __init__(self, labels, scheme: str, head: str, dtype):
        self.key = (tuple(labels), scheme, head, dtype)
        self.head = head
        # which transitions, first and last tags are valid, as booleans and as 0/−∞
        self.allowed, self.ok_first, self.ok_last = tagmod.transition_mask(labels, scheme)
        neg = dtype.type(-np.inf)
        self.penalty = tuple(np.where(ok, 0, neg).astype(dtype)
                             for ok in (self.allowed, self.ok_first, self.ok_last))

    def decode(self, S: np.ndarray, lengths, decoder: str, params: dict, *,
               fast: bool = False):
        """Tag ids (B,) and each chosen tag's probability (B,) from scores S: (B, K)."""
        if decoder not in DECODERS:
            raise ValueError(f"unknown decoder {decoder!r}; use one of {', '.join(DECODERS)}")
        head = self.head
        if fast and head in ("softmax", "crf") and len(S):
            return self._decode_transposed(S, lengths, decoder, params)
        if head == "binary":
            sig = sigmoid(S)
            probs = sig / sig.sum(axis=1, keepdims=True)
            logp = np.log(np.maximum(probs, 1e-30))
        else:
            logp = log_softmax(S)
            probs = np.exp(logp)
        if decoder == "greedy":
            ids = S.argmax(axis=1)
        elif head == "crf" and decoder == "viterbi":
            ids = fast_viterbi(S, lengths, *self._crf_scores(params))
        elif fast:
            ids = self.constrained(logp, lengths)
        else:
            ids = fast_viterbi(logp, lengths, *self.penalty)
        return ids, probs[np.arange(len(ids)), ids]

    def _crf_scores(self, params: dict):
        """The CRF's transition, start and end scores with the invalid ones at −∞."""
        A, to_first, to_last = self.penalty
        return params["A"] + A, params["start"] + to_first, params["end"] + to_last

    def _decode_transposed(self, S: np.ndarray, lengths, decoder: str, params: dict):
        """:meth:`decode` for the softmax and CRF heads, on the scores transposed to (K, B).

        Reductions over the K tags of each row are slow in NumPy (short inner
        axis); over rows of the transpose they are plain vector operations.
        The chosen tag's probability is 1/Σ exp(s − max) when it is the argmax.
        """
        St = np.ascontiguousarray(S.T)                     # (K, B)
        m = St.max(axis=0)
        lse = m + np.log(np.exp(St - m).sum(axis=0))      # log Σ exp s, per token
        if self.head == "crf" and decoder == "viterbi":
            ids = fast_viterbi(S, lengths, *self._crf_scores(params))
        else:
            ids = np.zeros(St.shape[1], dtype=np.intp)
            top = St[0].copy()
            for k in range(1, len(St)):                    # argmax over the K rows
                keep_better(top, ids, St[k], k)
            if decoder != "greedy":
                ids = self.constrained(None, lengths, ids=ids, S=S, lse=lse)
        conf = np.exp(S[np.arange(len(ids)), ids] - lse)
        return ids, conf

    def constrained(self, logp: np.ndarray | None, lengths, *, ids=None, S=None,
                    lse=None) -> np.ndarray:
        """Constrained Viterbi (:func:`fast_viterbi` with the 0/−∞ :attr:`penalty`), run
        only on sentences whose greedy path is invalid.

        With 0/−∞ transitions a path's score is the sum of its tokens' log-
        probabilities, so a greedy path that is valid is the constrained optimum.
        Scores come as ``logp`` (B, K), or as ``S`` and its per-token log Σ exp ``lse``.
        """
        allowed, ok_first, ok_last = self.allowed, self.ok_first, self.ok_last
        lengths = np.asarray(lengths, dtype=np.int64)
        if ids is None:
            ids = logp.argmax(axis=1)
        if not len(ids):
            return ids
        lengths_nz = lengths[lengths > 0]
        starts = sentence_starts(lengths_nz)
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
        rows = token_rows(starts[bad], bl)
        sub = logp[rows] if logp is not None else S[rows] - lse[rows, None]
        ids[rows] = fast_viterbi(sub, bl, *self.penalty)
        return ids


def keep_better(best: np.ndarray, arg: np.ndarray, cand: np.ndarray, i: int) -> None:
    """One step of a running argmax, in place: where ``cand > best`` (strictly, so the
    first best wins ties, as ``argmax``), ``best = cand`` and ``arg = i``.

    Callers try candidates in increasing ``i``, so ``arg = max(arg, i * [cand > best])``:
    branch-free arithmetic instead of a masked assignment (``arg[cand > best] = i``),
    which costs ~5 ns per element when the mask is unpredictable.
    """
    np.maximum(arg, (cand > best) * arg.dtype.type(i), out=arg)
    np.maximum(best, cand, out=best)


def _backtrace(final: np.ndarray, back: np.ndarray, live: np.ndarray, off: np.ndarray,
               out: np.ndarray) -> None:
    """Follow the back-pointers from the best final tag (first best on ties, as argmax).

    final: (K, n) path scores at each sentence's end; back: (T, K, n); live[t]: how many
    sentences (sorted longest first) are still running at step t; off: their offsets.
    """
    K, n = final.shape
    tag = np.zeros(n, dtype=np.int64)
    top = final[0].copy()
    for k in range(1, K):
        keep_better(top, tag, final[k], k)
    cols = np.arange(n)
    for t in range(len(back) - 1, -1, -1):
        m = int(live[t])
        out[off[:m] + t] = tag[:m]
        if t:
            tag[:m] = back[t, tag[:m], cols[:m]]


def _predecessor_plan(A: np.ndarray) -> list[tuple]:
    """:func:`_make_plan` for this ``A``, remembered: a tagger decodes with the same
    transition scores call after call (0.4 ms of a 1.6 ms one-sentence request)."""
    key = (A.shape, A.dtype.str, A.tobytes())
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= 16:          # a training run sees new scores every batch
            _PLANS.clear()
        plan = _PLANS[key] = _make_plan(A)
        for a in (a for group in plan for a in group if isinstance(a, np.ndarray)):
            a.flags.writeable = False  # shared by every later call (and thread)
    return plan


_PLANS: dict[tuple, list[tuple]] = {}


def _make_plan(A: np.ndarray) -> list[tuple]:
    """For :func:`fast_viterbi`: the tags grouped by their number r of allowed
    predecessors (finite ``A[i, j]``; for BIOES, O/B-x/S-x follow any of the 9 tags O,
    E-*, S-*, and I-x/E-x only B-x or I-x).  Per group of k tags ``dst``: ``P`` (r, k)
    the predecessors of each (ascending, for argmax's ties), ``Ap`` (r, k, 1) their
    transition scores, ``W`` (r, 1, 1) = r..1 to find the first best, and ``flat``,
    ``base`` to turn a position in ``P``'s columns into a tag."""
    preds = [np.flatnonzero(np.isfinite(A[:, j])) for j in range(A.shape[1])]
    by_count: dict[int, list[int]] = {}
    for j, p in enumerate(preds):
        by_count.setdefault(len(p), []).append(j)
    plan = []
    for r, dst in sorted(by_count.items()):
        dst = np.array(dst)
        if r == 0:  # nothing may precede these tags
            plan.append((dst, r, None, None, None, None, None))
            continue
        P = np.stack([preds[j] for j in dst], axis=1)
        Ap = np.ascontiguousarray(A[P, dst[None, :]])[:, :, None]
        W = np.arange(r, 0, -1, dtype=np.int8 if r < 128 else np.int32)[:, None, None]
        plan.append((dst, r, P, Ap, W, P.T.ravel(), (np.arange(len(dst)) * r)[:, None]))
    return plan


#: Up to this many sentences :func:`crf.viterbi` (a sentence at a time, a few operations
#: per step) is faster than the predecessor groups, whose steps cost the same for one
#: sentence as for thousands (measured, K = 17, lengths 1..40: 8 sentences 0.35 vs
#: 0.8 ms, 16 about 1.0 vs 1.9 ms, 32 1.7 vs 1.3 ms).
FEW_SENTENCES = 16


def fast_viterbi(S: np.ndarray, lengths, A: np.ndarray, start: np.ndarray, end: np.ndarray,
                 chunk: int = 4096) -> np.ndarray:
    """:func:`crf.viterbi` (any transitions, −∞ allowed), the same paths and ties,
    faster: the scores are transposed to (K, sentences) so each step is a few vector
    operations over the running sentences (sorted longest first, so they are a
    prefix and nothing is padded) instead of reductions over short axes.  Up to
    ``FEW_SENTENCES`` sentences, :func:`crf.viterbi` itself is faster and runs.

    At step t the tags with r allowed predecessors are done together: the candidates
    δ[P] + A[P, j] form an (r, k, m) array whose maximum over its first axis is the new
    δ (before the emission); the back-pointer is the first candidate equal to it (as
    ``argmax`` picks), found as r − max((cand == best) · (r, r−1, ..., 1)).
    """
    S = np.asarray(S)
    lengths = np.asarray(lengths, dtype=np.int64)
    K = S.shape[1]
    out = np.empty(len(S), dtype=np.int64)
    offsets = sentence_starts(lengths)
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    if len(order) <= FEW_SENTENCES:        # a request of a few sentences
        return crf.viterbi(S, lengths, A, start, end)
    plan = _predecessor_plan(A)
    neg = S.dtype.type(-np.inf)
    start_c, end_c = start[:, None], end[:, None]
    for c in range(0, len(order), chunk):
        idx = order[c:c + chunk]
        L, off = lengths[idx], offsets[idx]
        n, T = len(idx), int(L[0])
        live = np.searchsorted(-L, -np.arange(T), side="left")   # sentences with L > t
        delta = start_c + S[off].T                                # (K, n)
        back = np.zeros((T, K, n), dtype=np.int8 if K < 128 else np.int32)
        for t in range(1, T):
            m = int(live[t])
            d = delta[:, :m]
            emit = S[off[:m] + t].T                               # (K, m)
            new = np.empty((K, m), dtype=delta.dtype)
            for dst, r, P, Ap, W, flat, base in plan:
                if not r:                                         # back-pointers stay 0
                    new[dst] = neg + emit[dst]
                    continue
                cand = d[P]                                       # (r, k, m)
                cand += Ap
                best = cand.max(axis=0)                           # (k, m)
                first_best = r - np.maximum.reduce((cand == best) * W, axis=0)
                np.minimum(first_best, r - 1, out=first_best)     # (NaN rows: none equal)
                back[t, dst, :m] = flat[base + first_best]
                new[dst] = best + emit[dst]
            delta[:, :m] = new
        _backtrace(delta + end_c, back, live, off, out)
    return out

