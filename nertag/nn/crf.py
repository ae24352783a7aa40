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


def _recursions(P, lengths, A, start, end):
    """α and β of every sentence, time-major: (T, N_s, K) each, valid at t < length only.

    The two recursions are independent, so step t of α and step u = T−1−t of β run as
    one stacked (2, N_s, K) computation (half the NumPy calls), each row exactly as on
    its own: R[t] = [α_t; v_u] with v_u = S_u + β_u is what step t + 1 reads, and
    N[t] = [α_t − S_t; β_u] what it computed.  Past a sentence's end α runs on with
    zero scores (finite, never read); β is reset to ``end`` at each sentence's last token.
    """
    n, T, K = P.shape
    Pt = P.transpose(1, 0, 2)                                  # (T, N_s, K)
    Q = np.stack([Pt, Pt[::-1]], axis=1)                       # Q[t] = [S_t; S_u]
    R = np.empty((T, 2, n, K), dtype=P.dtype)
    N = np.empty_like(R)
    N[0, 1] = end                                              # β_{T−1} = end
    R[0, 0] = start + Pt[0]                                    # α₀ = start + S₀
    R[0, 1] = Q[0, 1] + end
    expA, shift = _exp_shifted(A)
    mats = np.stack([expA, expA.T])                            # (2, K, K): α uses A, β Aᵀ
    last = lengths - 1
    resets = {T - 1 - u: np.flatnonzero(last == u)
              for u in np.unique(last[last < T - 1]).tolist()}
    e = np.empty((2, n, K), dtype=P.dtype)
    with np.errstate(divide="ignore"):
        for t in range(1, T):
            x = R[t - 1]
            m = x.max(axis=2, keepdims=True)
            np.subtract(x, m, out=e)
            np.exp(e, out=e)
            y = np.matmul(e, mats, out=N[t])
            np.log(y, out=y)
            y += m + shift                                     # logsumexp_i(x_i + A[i, j])
            np.add(y, Q[t], out=R[t])                          # α_t = … + S_t;  v_u = S_u + β_u
            if t in resets:                                    # β_{T_s−1} = end
                rows = resets[t]
                y[1, rows] = end
                R[t, 1, rows] = Q[t, 1, rows] + end
    return R[:, 0], N[::-1, 1]


def crf_loss(S: np.ndarray, y: np.ndarray, lengths, A: np.ndarray, start: np.ndarray,
             end: np.ndarray):
    """J = mean over sentences of (log Z − score(x, y)) and its gradients.

    S: (B, K), y: (B,), lengths: (N_s,)  ->  (J, ∂J/∂S (B, K), {"A", "start", "end"})
    The marginals are computed on the B token rows only (no padding): row r of
    ``alpha[mask]`` is token r, since the sentences are laid end to end.
    """
    P, mask, flat, lengths = _pad(S, lengths)
    n, T, K = P.shape
    alpha, beta = _recursions(P, lengths, A, start, end)            # (T, N_s, K)
    last = lengths - 1
    alpha_last = alpha[last, np.arange(n)]                           # (N_s, K)
    logZ = _lse(alpha_last + end, axis=1)                            # (N_s,)
    # gold path score
    yp = np.where(mask, y[flat], 0)                                  # (N_s, T)
    emit = np.where(mask, np.take_along_axis(P, yp[:, :, None], 2)[:, :, 0], 0).sum(1)
    trans = np.where(mask[:, 1:], A[yp[:, :-1], yp[:, 1:]], 0).sum(1)
    gold = start[yp[:, 0]] + emit + trans + end[yp[np.arange(n), last]]
    loss = np.mean(logZ - gold)
    # marginals p(y_t = j) (= ∂logZ/∂S, so they become dS in place)
    firsts = flat[:, 0]
    lasts = firsts + last
    logZ_r = logZ[np.repeat(np.arange(n), lengths)]                  # (B,) log Z of row r
    a = alpha.transpose(1, 0, 2)[mask]                               # (B, K)
    b = beta.transpose(1, 0, 2)[mask]
    dS = a + b
    dS -= logZ_r[:, None]
    np.exp(dS, out=dS)                                               # p(y_t = j)
    dstart = dS[firsts].sum(0)
    np.add.at(dstart, y[firsts], -1)
    dend = dS[lasts].sum(0)
    np.add.at(dend, y[lasts], -1)
    scale = S.dtype.type(1.0 / n)
    dS[np.arange(len(y)), y] -= 1
    dS *= scale
    # pairwise p(y_{t-1} = i, y_t = j) at the rows r with a successor r + 1 in the sentence
    r = np.flatnonzero(np.isin(np.arange(len(y)), lasts, invert=True))
    pair = a[r][:, :, None] + A[None]
    pair += (S[r + 1] + b[r + 1])[:, None, :]
    pair -= logZ_r[r][:, None, None]
    np.exp(pair, out=pair)
    dA = pair.sum(axis=0)
    np.add.at(dA, (y[r], y[r + 1]), -1)
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
