"""Sentence-level log-likelihood (a linear-chain CRF over window scores) and Viterbi.

For a sentence with token scores S: (T, K), transitions A: (K, K) (A[i, j] is
the score of tag j following tag i), and start/end scores (K,):

  score(x, y) = start[y₀] + Σ_t S[t, y_t] + Σ_{t≥1} A[y_{t−1}, y_t] + end[y_{T−1}]
  log p(y|x)  = score(x, y) − logadd_{all paths y'} score(x, y')

log Z is computed by the forward algorithm in log space:
  α₀ = start + S₀;   α_t[j] = logsumexp_i(α_{t−1}[i] + A[i, j]) + S_t[j];
  log Z = logsumexp(α_{T−1} + end)
and its gradient, derived by hand, is the vector of marginals:
  ∂logZ/∂S[t, j] = p(y_t = j),   ∂logZ/∂A[i, j] = Σ_t p(y_{t−1} = i, y_t = j),
computed with the backward recursion β (β_{T−1} = end;
β_t[i] = logsumexp_j(A[i, j] + S_{t+1}[j] + β_{t+1}[j])), p(y_t = j) = exp(α_t[j] + β_t[j] − log Z).

All functions work on a batch of whole sentences laid end to end:
S: (B, K) with B = Σ lengths, padded internally to (N_s, T, K).
"""

from __future__ import annotations

import numpy as np

from nertag.nn.ragged import sentence_starts


def _lse(x: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def _pad(S: np.ndarray, lengths: np.ndarray):
    """(B, K) token rows -> (N_s, T, K) padded, plus the flat index of each (sentence, t)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    T = int(lengths.max()) if len(lengths) else 0
    offsets = sentence_starts(lengths)
    t = np.arange(T)
    mask = t[None, :] < lengths[:, None]                # (N_s, T)
    flat = np.where(mask, offsets[:, None] + t[None, :], 0)
    P = np.where(mask[:, :, None], S[flat], 0)
    return P, mask, flat, lengths


def _exp_shifted(A):
    """exp(A − max A): logsumexp_i(a_i + A[i, j]) = m + max A + log Σ_i e^{a_i − m} e^{A[i,j] − max A},
    so each step of the recursions is one small matrix product instead of a (n, K, K) reduction."""
    shift = A.max() if np.isfinite(A.max()) else 0
    return np.exp(A - shift), shift


def _alphas(P, mask, A, start):
    n, T, K = P.shape
    alpha = np.empty_like(P)
    alpha[:, 0] = start + P[:, 0]
    expA, shift = _exp_shifted(A)
    with np.errstate(divide="ignore"):
        for t in range(1, T):
            prev = alpha[:, t - 1]
            m = prev.max(axis=1, keepdims=True)
            new = np.log(np.exp(prev - m) @ expA) + (m + shift) + P[:, t]
            alpha[:, t] = np.where(mask[:, t, None], new, prev)
    return alpha


def _betas(P, lengths, A, end):
    n, T, K = P.shape
    beta = np.empty_like(P)
    beta[:, T - 1] = end
    expAT, shift = _exp_shifted(A)
    expAT = np.ascontiguousarray(expAT.T)
    with np.errstate(divide="ignore"):
        for t in range(T - 2, -1, -1):
            v = P[:, t + 1] + beta[:, t + 1]
            m = v.max(axis=1, keepdims=True)
            new = np.log(np.exp(v - m) @ expAT) + (m + shift)
            beta[:, t] = np.where((t < lengths - 1)[:, None], new, end)
    return beta


def crf_loss(S: np.ndarray, y: np.ndarray, lengths, A: np.ndarray, start: np.ndarray,
             end: np.ndarray):
    """J = mean over sentences of (log Z − score(x, y)) and its gradients.

    S: (B, K), y: (B,), lengths: (N_s,)  ->  (J, ∂J/∂S (B, K), {"A", "start", "end"})
    """
    P, mask, flat, lengths = _pad(S, lengths)
    n, T, K = P.shape
    alpha = _alphas(P, mask, A, start)
    last = lengths - 1
    alpha_last = alpha[np.arange(n), last]                           # (N_s, K)
    logZ = _lse(alpha_last + end, axis=1)                            # (N_s,)
    beta = _betas(P, lengths, A, end)
    # gold path score
    yp = np.where(mask, y[flat], 0)                                  # (N_s, T)
    emit = np.where(mask, np.take_along_axis(P, yp[:, :, None], 2)[:, :, 0], 0).sum(1)
    trans = np.where(mask[:, 1:], A[yp[:, :-1], yp[:, 1:]], 0).sum(1)
    gold = start[yp[:, 0]] + emit + trans + end[yp[np.arange(n), last]]
    loss = np.mean(logZ - gold)
    # marginals p(y_t = j) and pairwise p(y_{t-1} = i, y_t = j)
    marg = np.exp(alpha + beta - logZ[:, None, None]) * mask[:, :, None]
    scale = S.dtype.type(1.0 / n)
    dS = np.zeros_like(S)
    dS[flat[mask]] = marg[mask]
    dS[np.arange(len(y)), y] -= 1
    dS *= scale
    pair = np.exp(alpha[:, :-1, :, None] + A[None, None] + (P[:, 1:] + beta[:, 1:])[:, :, None, :]
                  - logZ[:, None, None, None]) * mask[:, 1:, None, None]
    dA = pair.sum(axis=(0, 1))
    np.add.at(dA, (yp[:, :-1][mask[:, 1:]], yp[:, 1:][mask[:, 1:]]), -1)
    dstart = marg[:, 0].sum(0)
    np.add.at(dstart, yp[:, 0], -1)
    dend = marg[np.arange(n), last].sum(0)
    np.add.at(dend, yp[np.arange(n), last], -1)
    return loss, dS, {"A": dA * scale, "start": dstart * scale, "end": dend * scale}


def viterbi(S: np.ndarray, lengths, A: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> np.ndarray:
    """The best tag path of every sentence: argmax_y score(x, y).  S: (B, K) -> (B,) ids.

    δ₀ = start + S₀;  δ_t[j] = max_i (δ_{t−1}[i] + A[i, j]) + S_t[j], remembering the
    best i (the first on ties, as argmax); the path ends at argmax_j (δ_{T−1}[j] + end[j])
    and follows the back-pointers.  ``-inf`` entries in A/start/end forbid transitions
    (constrained decoding).  One sentence at a time: the reference that
    :func:`nertag.inference.decode.fast_viterbi` (and its tests) follow.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.empty(len(S), dtype=np.int64)
    to_from = np.ascontiguousarray(A.T)                        # (K, K_prev)
    for o, T in zip(sentence_starts(lengths).tolist(), lengths.tolist()):
        if T:
            out[o:o + T] = _best_path(S[o:o + T], to_from, start, end)
    return out


def _best_path(S: np.ndarray, to_from: np.ndarray, start: np.ndarray, end: np.ndarray):
    """:func:`viterbi` of one sentence S: (T, K), with to_from = Aᵀ -> (T,) ids."""
    T, K = S.shape
    tags = np.arange(K)
    back = np.zeros((T, K), dtype=np.intp)
    delta = start + S[0]
    for t in range(1, T):
        cand = delta + to_from                                 # cand[j, i] = δ[i] + A[i, j]
        back[t] = best = cand.argmax(axis=1)
        delta = cand[tags, best] + S[t]
    path = np.empty(T, dtype=np.int64)
    tag = int((delta + end).argmax())
    for t in range(T - 1, -1, -1):
        path[t] = tag
        tag = back[t, tag]
    return path
