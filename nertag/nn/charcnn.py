"""A character CNN: each word's characters become one vector (Collobert et al. 2011,
Chiu & Nichols 2016), a ``forward -> (out, cache)`` / ``backward(dout, cache) -> grads``
pair with the gradients derived by hand (the graph engine checks them).

Shape letters (a word is a row of character ids, padded):
  W  words                         L  characters per word, padding included
  A  characters in the vocabulary  c  character embedding size
  k  filter width (characters)     P = L − k + 1 filter positions
  m  filters: the size of the word's character vector

Parameters (a dict, the gradients have the same keys and shapes):
  ``C_char`` (A, c) character embeddings, ``K_char`` (m, k·c) filters, ``b_char`` (m,).

Forward, for word w with character ids chars[w] (L,):
  e[w, t] = C[chars[w, t]]                                  (L, c)    character vectors
  u[w, j] = [e[w, j]; e[w, j+1]; …; e[w, j+k−1]]            (P, k·c)  window j (im2col)
  z[w, j] = K u[w, j] + b                                   (P, m)
  v[w, i] = f(max_j z[w, j, i]) = max_j f(z[w, j, i])       (m,)  (b is added after the max)

f is tanh or the identity; both increase, so f may be applied after the max (once per
filter instead of once per position) and the same position wins.

Backward, from ∂J/∂v = dv (W, m):
  g[w, i] = dv[w, i] f′(max_j z[w, j, i])
  the max ROUTES the gradient: ∂J/∂z[w, j, i] = g[w, i] if j = j*[w, i] else 0, where
  j*[w, i] is the winning position (on a tie, the first one: ``argmax``);
  ∂J/∂b[i]  = Σ_w g[w, i]
  ∂J/∂K[i]  = Σ_{w, j} ∂J/∂z[w, j, i] u[w, j]         = Σ_w g[w, i] u[w, j*[w, i]]
  ∂J/∂e[w, t] = Σ_s Σ_i ∂J/∂z[w, t−s, i] K[i, s]      (a sum of shifted products)
  ∂J/∂C[α]  = Σ_{w, t: chars[w, t] = α} ∂J/∂e[w, t]
where K[i, s] = K[i, s·c:(s+1)·c] is filter i's tap on the s-th character of a window.
Only the winning windows carry gradient, so both sums run over them alone: with
α = chars[w, j*[w, i] + s], the character at tap s of filter i's winning window,
  N_s[i, α] = Σ_{w: chars[w, j*[w, i] + s] = α} g[w, i]          (m, A), one bincount
  ∂J/∂K[i, s] = Σ_α N_s[i, α] C[α]   i.e.  ∂J/∂K_s = N_s C
  ∂J/∂C[α]  = Σ_s Σ_i N_s[i, α] K[i, s]   i.e.  ∂J/∂C = Σ_s N_sᵀ K_s
(the same sums, grouped by character: O(W·m·k) work instead of O(W·P·m·k·c)).
"""

from __future__ import annotations

import numpy as np

from nertag.nn.sparse import SparseRows, segment_sum

#: The parameter names, in the order :class:`~nertag.nn.arch.Arch` lists them.
PARAMS = ("C_char", "K_char", "b_char")
ACTIVATIONS = ("tanh", "linear")


def slots(L: int, k: int) -> np.ndarray:
    """The character slots of each filter window: (P, k), row j = j, j+1, …, j+k−1."""
    return np.arange(L - k + 1)[:, None] + np.arange(k)


def forward(chars: np.ndarray, params: dict, activation: str = "tanh", *,
            per_word: bool = False, grad: bool = True):
    """Character vectors v: (W, m) of words given as character ids chars: (W, L).

    ``per_word`` multiplies each word's windows by K on their own (a stack of products):
    a word's vector is then the same bits whatever other words come along (the tagging
    tables need that); otherwise one product for all windows, position by position
    (faster, for training).  ``grad=False`` skips what only the backward needs (the
    winning positions).

    The bias is added after the max: max_j (K u_j + b) = max_j (K u_j) + b (a constant
    added to every position changes neither the max nor the winner).
    """
    C, K, b = params["C_char"], params["K_char"], params["b_char"]
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown character activation {activation!r}")
    Wn, L = chars.shape
    m, kc = K.shape
    k = kc // C.shape[1]
    P = L - k + 1
    window = slots(L, k)                                       # u: the windows (im2col)
    if per_word:                                               # in one take of C's rows
        u = np.take(C, chars[:, window], axis=0).reshape(Wn, P, kc)      # (W, P, k·c)
        z = np.matmul(u, K.T).transpose(1, 0, 2)                         # (P, W, m)
    else:
        u = np.take(C, chars[:, window].transpose(1, 0, 2), axis=0)      # (P, W, k, c)
        z = (u.reshape(P * Wn, kc) @ K.T).reshape(P, Wn, m)              # (P, W, m)
    v = z.max(axis=0)                                          # max_j K u_j: (W, m)
    arg = None
    if grad:  # j*, the first j at the max: (P − j)·[z_j = max] is largest there
        first = (P - np.arange(P, dtype=np.int32)).reshape(P, 1, 1)
        arg = P - np.multiply(z == v, first, dtype=np.int32).max(axis=0)
    v += b
    if activation == "tanh":
        np.tanh(v, out=v)
    return v, (chars, arg, v, activation, C, K)


def backward(dv: np.ndarray, cache) -> dict:
    """∂J/∂C_char (:class:`SparseRows` of the characters at the winning windows),
    ∂J/∂K_char, ∂J/∂b_char from dv = ∂J/∂v: (W, m); the equations are in the module's
    docstring."""
    chars, arg, v, activation, C, K = cache
    if arg is None:
        raise ValueError("forward(..., grad=False) kept nothing for the backward")
    A, c = C.shape
    m, kc = K.shape
    k = kc // c
    g = dv * (1 - v * v) if activation == "tanh" else dv      # g = dv ∘ f′: (W, m)
    db = g.sum(axis=0)
    rows = np.arange(len(chars))[:, None]
    filt = np.arange(m) * A                                    # (m,) row offsets of N_s
    acc = np.result_type(g.dtype, np.float64)                  # sums in float64 (or wider)
    dK = np.empty_like(K)
    dC = np.zeros((A, c), dtype=acc)
    used = np.zeros(A, dtype=bool)
    gf = g.ravel()
    for s in range(k):
        alpha = chars[rows, arg + s]                           # (W, m) tap s of each winner
        cells = (alpha + filt).ravel()                         # (filter i, character α)
        if acc == np.float64:
            N = np.bincount(cells, weights=gf, minlength=m * A).reshape(m, A)
        else:  # (bincount sums in float64 only)
            N = np.zeros(m * A, dtype=acc)
            np.add.at(N, cells, gf)
            N = N.reshape(m, A)
        Ks = K[:, s * c:(s + 1) * c]                           # (m, c)
        dK[:, s * c:(s + 1) * c] = N @ C                       # ∂J/∂K_s = N_s C
        dC += N.T @ Ks                                         # ∂J/∂C += N_sᵀ K_s
        used |= np.bincount(alpha.ravel(), minlength=A).astype(bool)
    ids = np.flatnonzero(used)
    return {"C_char": SparseRows(ids.astype(np.int64), dC[ids].astype(C.dtype), (A, c)),
            "K_char": dK, "b_char": db}


# ------------------------------------------------------------------ words of windows
def unique_rows(chars: np.ndarray):
    """The distinct rows of chars (N, L) and, for each row, which one it is.

    -> ``(first (U,), inverse (N,))``: ``chars[first]`` are the distinct rows and
    ``chars[first][inverse] == chars``.  Each row is compared as one L·4-byte string."""
    a = np.ascontiguousarray(chars, dtype=np.int32)
    if a.size == 0:
        return np.zeros(0, np.intp), np.zeros(len(a), np.intp)
    keys = a.view(np.dtype((np.void, a.shape[1] * 4))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def forward_tokens(chars: np.ndarray, params: dict, activation: str = "tanh", *,
                   grad: bool = True):
    """Character vectors of many tokens, chars: (N, L) -> (N, m), each distinct word
    (row) computed once: a word at several places of a minibatch's windows is one row."""
    first, inverse = unique_rows(chars)
    v, cache = forward(chars[first], params, activation, grad=grad)
    return v[inverse], (inverse, len(first), cache)


def backward_tokens(dv: np.ndarray, cache) -> dict:
    """From ∂J/∂v of every token (N, m): the gradients of a word used at several places
    are summed (gradients sum at fan-out), then :func:`backward` once per word."""
    inverse, n_words, inner = cache
    g = segment_sum(inverse, dv, n_words).dense() if len(inverse) else dv[:0]
    return backward(g, inner)
