"""Fast decoding for tagging: label arrays, vectorised entity chunking, and Viterbi
variants that give exactly :func:`nertag.nn.crf.viterbi`'s paths (tested against it)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nertag.nn import crf


_PREFIX = {"O": 0, "B": 1, "I": 2, "E": 3, "S": 4}


class _Labels:
    """Per label id of a model: its prefix (O B I E S) and entity type, as arrays for
    vectorised chunking, and the BIO tag strings the output uses."""

    def __init__(self, labels: Sequence[str]):
        self.labels = list(labels)
        prefix, types = [], []
        for lab in self.labels:
            p, sep, t = lab.partition("-")
            prefix.append(_PREFIX.get(p, -1) if sep or lab == "O" else -1)
            types.append(t)
        # every label is O or PREFIX-TYPE with a known prefix (else: sentence by sentence)
        self.ok = all(p >= 0 and (p == 0) == (lab == "O") for p, lab in zip(prefix, self.labels))
        self.prefix = np.array(prefix, dtype=np.int8)
        names = sorted(set(types))
        self.type_names = names
        self.type_id = np.array([names.index(t) for t in types], dtype=np.int32)
        self.as_array = np.array(self.labels, dtype=object)
        # BIO output tags: 0 = O, 1 + 2k = B-type_k, 2 + 2k = I-type_k
        self.bio_tags = np.array(["O"] + [f"{p}-{t}" for t in names for p in "BI"], dtype=object)


_LABELS_CACHE: dict[tuple, _Labels] = {}


def _labels(labels: Sequence[str]) -> _Labels:
    key = tuple(labels)
    if key not in _LABELS_CACHE:
        _LABELS_CACHE[key] = _Labels(labels)
    return _LABELS_CACHE[key]


def entity_spans(ids: np.ndarray, starts: np.ndarray, lab: _Labels):
    """Entities of tag ids (BIO or BIOES) laid end to end; sentence ``k`` starts at
    ``starts[k]``.  Returns ``(begin, end, type_id, bio)``: token index arrays of the
    chunks and every token's BIO tag id (see ``_Labels.bio_tags``).

    The chunks are exactly those :func:`nertag.text.scoring.get_entities` (conlleval's
    rules) finds sentence by sentence: a non-O token starts a chunk if it is B or S,
    or an I/E after O/E/S (or at a sentence start), or its type differs from the
    previous token's; otherwise it continues the previous token's chunk.
    """
    pre, typ = lab.prefix[ids], lab.type_id[ids]
    first = np.zeros(len(ids), dtype=bool)
    first[starts] = True
    prev_pre = np.empty_like(pre)
    prev_typ = np.empty_like(typ)
    if len(ids):
        prev_pre[0], prev_typ[0] = 0, -1
        prev_pre[1:], prev_typ[1:] = pre[:-1], typ[:-1]
    prev_pre[first] = 0        # a sentence starts after "O", whose type matches no entity
    prev_typ[first] = -1
    start = ((pre == 1) | (pre == 4)
             | (((prev_pre == 0) | (prev_pre == 3) | (prev_pre == 4)) & ((pre == 2) | (pre == 3)))
             | (typ != prev_typ))
    inside = pre != 0
    cont = inside & ~start
    begin = np.flatnonzero(inside & start)
    stops = np.append(np.flatnonzero(~cont), len(ids))
    end = stops[np.searchsorted(stops, begin, side="right")]
    bio = np.where(inside, np.where(cont, 2, 1) + 2 * typ, 0)
    return begin, end, typ[begin], bio


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


def fast_viterbi(S: np.ndarray, lengths, A: np.ndarray, start: np.ndarray, end: np.ndarray,
                 chunk: int = 4096) -> np.ndarray:
    """:func:`crf.viterbi` (any transitions, −∞ allowed), the same paths and ties,
    faster: the scores are transposed to (K, sentences) so each step is a few vector
    operations over the running sentences (sorted longest first, so they are a
    prefix and nothing is padded) instead of reductions over short axes.

    At step t the tags with r allowed predecessors are done together: the candidates
    δ[P] + A[P, j] form an (r, k, m) array whose maximum over its first axis is the new
    δ (before the emission); the back-pointer is the first candidate equal to it (as
    ``argmax`` picks), found as r − max((cand == best) · (r, r−1, ..., 1)).
    """
    S = np.asarray(S)
    lengths = np.asarray(lengths, dtype=np.int64)
    K = S.shape[1]
    out = np.empty(len(S), dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
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
                first = r - np.maximum.reduce((cand == best) * W, axis=0)
                np.minimum(first, r - 1, out=first)               # (NaN rows: none equal)
                back[t, dst, :m] = flat[base + first]
                new[dst] = best + emit[dst]
            delta[:, :m] = new
        _backtrace(delta + end_c, back, live, off, out)
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
                        keep_better(best, arg, d[i], i)
                for j in dst:
                    np.add(best, emit[j], out=new[j, :m])
                    back[t, j, :m] = arg
            delta[:, :m] = new[:, :m]
        _backtrace(delta + end_pen, back, live, off, out)
    return out
