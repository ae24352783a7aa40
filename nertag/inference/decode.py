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

    def best_paths(self, S: np.ndarray, lengths, decoder: str, params: dict, *,
                   fast: bool = False) -> np.ndarray:
        """The tag ids (B,) of :meth:`decode`, without the confidences: the CRF's Viterbi
        then needs no per-token normaliser (a first stage uses only its paths)."""
        if self.head == "crf" and decoder == "viterbi":
            return fast_viterbi(S, lengths, *self._crf_scores(params))
        return self.decode(S, lengths, decoder, params, fast=fast)[0]

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
        St = transposed(S)                                 # (K, B)
        m = St.max(axis=0)
        lse = m + np.log(np.exp(St - m).sum(axis=0))      # log Σ exp s, per token
        if self.head == "crf" and decoder == "viterbi":
            ids = fast_viterbi(S, lengths, *self._crf_scores(params), St=St)
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


def transposed(S: np.ndarray, block: int = 4096) -> np.ndarray:
    """``S.T`` (K, B) as a C-contiguous copy, in blocks of ``block`` rows: for S (1e5, 17)
    float32 about 4× faster than ``np.ascontiguousarray(S.T)`` (the blocks stay in cache)."""
    out = np.empty(S.shape[::-1], dtype=S.dtype)
    for a in range(0, len(S), block):
        out[:, a:a + block] = S[a:a + block].T
    return out


def _predecessor_plan(A: np.ndarray) -> tuple:
    """:func:`_make_plan` for this ``A``, remembered: a tagger decodes with the same
    transition scores call after call (0.4 ms of a 1.6 ms one-sentence request)."""
    key = (A.shape, A.dtype.str, A.tobytes())
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= 16:          # a training run sees new scores every batch
            _PLANS.clear()
        plan = _PLANS[key] = _make_plan(A)
        perm, groups, A_perm = plan
        for a in [perm, A_perm] + [a for g in groups for a in g if isinstance(a, np.ndarray)]:
            a.flags.writeable = False  # shared by every later call (and thread)
    return plan


_PLANS: dict[tuple, tuple] = {}


def _make_plan(A: np.ndarray) -> tuple:
    """For :func:`fast_viterbi`: the tags grouped by their number r of allowed
    predecessors (finite ``A[i, j]``; for BIOES, O/B-x/S-x follow any of the 9 tags O,
    E-*, S-*, and I-x/E-x only B-x or I-x).  Returns ``(perm, groups, A_perm)``:
    ``perm`` (K,) the tags group after group (the order δ's rows are kept in, so a
    group is a slice of rows), ``A_perm = A[perm]``, and per group ``(g0, g1, r, src,
    Ap, shared)``: rows ``g0:g1`` of that order, ``src`` the rows of their predecessors
    ((r,) when all the group's tags have the same ones, ``shared``; else (r, k)),
    ``Ap`` (r, k, 1) the transition scores."""
    K = A.shape[1]
    preds = [np.flatnonzero(np.isfinite(A[:, j])) for j in range(K)]
    by_count: dict[int, list[int]] = {}
    for j, p in enumerate(preds):
        by_count.setdefault(len(p), []).append(j)
    perm = np.array([j for r in sorted(by_count) for j in by_count[r]], dtype=np.intp)
    row = np.empty(K, dtype=np.intp)
    row[perm] = np.arange(K)
    groups, g0 = [], 0
    for r in sorted(by_count):
        dst = np.array(by_count[r], dtype=np.intp)
        g1 = g0 + len(dst)
        if r == 0:  # nothing may precede these tags
            groups.append((g0, g1, 0, None, None, False))
        else:
            P = np.stack([preds[j] for j in dst], axis=1)                # (r, k) tag numbers
            Ap = np.ascontiguousarray(A[P, dst[None, :]])[:, :, None]
            shared = bool((P == P[:, :1]).all())
            groups.append((g0, g1, r, row[P[:, 0]] if shared else row[P], Ap, shared))
        g0 = g1
    return perm, groups, np.ascontiguousarray(A[perm])


def _forward(St: np.ndarray, off: np.ndarray, live: np.ndarray, groups, start_p) -> list:
    """δ of every step of some sentences, sorted longest first (offsets ``off`` into the
    columns of St (K, B), the scores in the plan's tag order; ``live[t]``: how many are
    longer than t): ``[δ_t (K, live[t])]``, δ_t[j] = max_i (δ_{t−1}[i] + A[i, j]) + S_t[j]
    over j's allowed predecessors i (the others are −∞: the same maximum)."""
    T = len(live) - 1
    steps = live[:T]
    first = np.cumsum(steps) - steps                       # step t's columns start here
    sent = np.arange(int(steps.sum())) - np.repeat(first, steps)
    E = np.take(St, off[sent] + np.repeat(np.arange(T), steps), axis=1)   # (K, tokens)
    neg = St.dtype.type(-np.inf)
    delta = start_p + E[:, :int(live[0])]
    deltas = [delta]
    for t in range(1, T):
        m, a = int(live[t]), int(first[t])
        d = delta[:, :m]
        new = np.empty((len(d), m), dtype=d.dtype)
        for g0, g1, r, src, Ap, shared in groups:
            if not r:
                np.add(neg, E[g0:g1, a:a + m], out=new[g0:g1])
                continue
            cand = d[src][:, None, :] + Ap if shared else d[src] + Ap     # (r, k, m)
            best = new[g0:g1]
            np.maximum.reduce(cand, axis=0, out=best)
            best += E[g0:g1, a:a + m]
        deltas.append(new)
        delta = new
    return deltas


def _first_best(cand: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per column of cand (K, m), whose rows are the tags ``rank`` (K, 1): the smallest tag
    at the column's maximum (``argmax``'s choice in tag order); K − 1 where the maximum
    is NaN (nothing equals it)."""
    K = len(rank)
    best = cand.max(axis=0)
    return np.minimum(np.where(cand == best, rank, K).min(axis=0), K - 1)


def _backtrace(deltas: list, live: np.ndarray, off: np.ndarray, plan: tuple, end_p,
               out: np.ndarray) -> None:
    """The best paths from :func:`_forward`'s δ into ``out``: the best last tag, then
    back step by step, the predecessor of tag y at step t the first best of
    δ_{t−1}[i] + A[i, y] over all i (as :func:`crf.viterbi`'s back-pointers: only
    the path's are computed)."""
    perm, _, A_perm = plan
    rank = perm[:, None]
    n, T = int(live[0]), len(deltas)
    final = np.empty((len(perm), n), dtype=deltas[0].dtype)
    for t in range(T):                                     # δ at each sentence's last token
        final[:, live[t + 1]:live[t]] = deltas[t][:, live[t + 1]:live[t]]
    final += end_p
    tag = _first_best(final, rank)
    for t in range(T - 1, -1, -1):
        m = int(live[t])
        y = tag[:m]
        out[off[:m] + t] = y
        if t:
            tag[:m] = _first_best(deltas[t - 1][:, :m] + A_perm[:, y], rank)


#: Up to this many sentences :func:`crf.viterbi` (a sentence at a time, a few operations
#: per step) is faster than the predecessor groups, whose steps cost the same for one
#: sentence as for thousands (measured, K = 17, lengths 1..40: 8 sentences 0.35 vs
#: 0.8 ms, 16 about 1.0 vs 1.9 ms, 32 1.7 vs 1.3 ms).
FEW_SENTENCES = 16


def fast_viterbi(S: np.ndarray, lengths, A: np.ndarray, start: np.ndarray, end: np.ndarray,
                 chunk: int = 4096, St: np.ndarray | None = None) -> np.ndarray:
    """:func:`crf.viterbi` (any transitions, −∞ allowed), the same paths and ties,
    faster: the scores are transposed to (K, sentences) so each step is a few vector
    operations over the running sentences (sorted longest first, so they are a
    prefix and nothing is padded) instead of reductions over short axes.  Up to
    ``FEW_SENTENCES`` sentences, :func:`crf.viterbi` itself is faster and runs.
    ``St``: ``S.T`` as a contiguous (K, B) array, if the caller has it.

    At step t the tags with r allowed predecessors are done together: the candidates
    δ[P] + A[P, j] form an (r, k, m) array whose maximum over its first axis is the new
    δ (before the emission).  No back-pointers are kept: the backtrace finds each
    path tag's predecessor from the stored δ (:func:`_backtrace`), K candidates per
    sentence and step instead of the forward's r·k per tag.
    """
    S = np.asarray(S)
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.empty(len(S), dtype=np.int64)
    offsets = sentence_starts(lengths)
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    if len(order) <= FEW_SENTENCES:        # a request of a few sentences
        return crf.viterbi(S, lengths, A, start, end)
    plan = _predecessor_plan(A)
    perm, groups, _ = plan
    St = (transposed(S) if St is None else St)[perm]       # (K, B) in the plan's tag order
    start_p, end_p = start[perm][:, None], end[perm][:, None]
    for c in range(0, len(order), chunk):
        idx = order[c:c + chunk]
        L, off = lengths[idx], offsets[idx]
        live = np.searchsorted(-L, -np.arange(int(L[0]) + 1), side="left")  # live[T] = 0
        _backtrace(_forward(St, off, live, groups, start_p), live, off, plan, end_p, out)
    return out
