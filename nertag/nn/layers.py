"""Layers of the window classifier, each a ``forward -> (out, cache)`` /
``backward(dout, cache) -> grads`` pair with gradients derived by hand.

Shape letters used throughout:
  B  tokens in the minibatch          n  window length (2w+1)
  F  discrete features per word       D  Σ_f d_f, one word's vector size
  H  hidden units                     K  tags (labels)
  V_f  vocabulary size of feature f   d_f  embedding size of feature f

Shape convention: every gradient has the shape of its parameter (∂J/∂W is
(H, n·D) like W), so a gradient is the transpose of the Jacobian row the
lecture writes (∂s/∂W = δᵀxᵀ becomes dW = δᵀ x for a batch of row vectors).
"""

from __future__ import annotations

import numpy as np

from nertag.nn.activations import activation, sigmoid
from nertag.nn.sparse import SparseRows, segment_sum


# ---------------------------------------------------------------- embeddings
def embed_forward(X: np.ndarray, tables: list[np.ndarray]):
    """x = [e(t−w) … e(t+w)], each e the concatenation of the word's feature vectors.

    X: (B, n, F) int ids; tables[f]: (V_f, d_f)  ->  x: (B, n·D)
    The cache holds ``ids: (F, B·n)``, one contiguous row of ids per table.
    """
    B, n, F = X.shape
    ids = X.reshape(B * n, F).T.astype(np.intp)  # one gather index per table, made once
    x = np.concatenate([E[ids[f]] for f, E in enumerate(tables)], axis=1)  # (B·n, D)
    return x.reshape(B, -1), (ids, [E.shape for E in tables])


def embed_backward(dx: np.ndarray, cache) -> list[SparseRows]:
    """∂J/∂x is split back into window positions and features and added into the rows used.

    dx: (B, n·D)  ->  one SparseRows per table, shape (V_f, d_f)
    """
    ids, shapes = cache
    dx = dx.reshape(ids.shape[1], -1)  # one row per (token, window position): [d_1 … d_F]
    grads, off = [], 0
    for f, (V, d) in enumerate(shapes):
        grads.append(segment_sum(ids[f], dx[:, off:off + d], V))
        off += d
    return grads


# ---------------------------------------------------------------- affine
def affine_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray):
    """z = Wx + b for every row:  x: (B, I), W: (O, I), b: (O,)  ->  z: (B, O)"""
    z = x @ W.T
    z += b
    return z, (x, W)


def affine_backward(dz: np.ndarray, cache):
    """Given δ = ∂J/∂z (B, O):  ∂J/∂W = δᵀx (O, I),  ∂J/∂b = Σ_B δ (O,),  ∂J/∂x = δW (B, I)."""
    x, W = cache
    return dz @ W, dz.T @ x, dz.sum(axis=0)


# ---------------------------------------------------------------- activations
def act_forward(z: np.ndarray, kind: str):
    """h = f(z) elementwise, f from :data:`~nertag.nn.activations.ACTIVATIONS`.
    z: (B, H) -> h: (B, H)"""
    f, _ = activation(kind)
    h = f(z)
    return h, (z, h, kind)


def act_backward(dh: np.ndarray, cache) -> np.ndarray:
    """δ = ∂J/∂h ∘ f′(z)  (the lecture's δ = uᵀ ∘ f′(z) when ∂J/∂h = uᵀ).  -> (B, H)"""
    z, h, kind = cache
    return dh * activation(kind)[1](z, h)


# ---------------------------------------------------------------- dropout
def dropout_mask(shape, p: float, rng: np.random.Generator, dtype) -> np.ndarray | None:
    """Inverted dropout: keep with probability 1−p, scale kept units by 1/(1−p).

    A unit is kept when a uniform 16-bit random number u satisfies u ≥ ⌊p·2¹⁶⌉,
    four numbers cut from each raw 64-bit draw (3× cheaper than float draws);
    p is exact to 1/65,536, and the scale uses that exact keep rate (E[mask] = 1).
    """
    if p <= 0:
        return None
    cut = min(round(p * 65536), 65535)
    size = int(np.prod(shape))
    bits = rng.bit_generator.random_raw(-(-size // 4)).view(np.uint16)[:size].reshape(shape)
    mask = (bits >= cut).astype(dtype)
    mask *= mask.dtype.type(65536 / (65536 - cut))
    return mask


# ---------------------------------------------------------------- heads
def log_softmax(s: np.ndarray) -> np.ndarray:
    """Row-wise log softmax of scores s: (B, K) -> (B, K)."""
    m = s.max(axis=1, keepdims=True)
    return s - m - np.log(np.exp(s - m).sum(axis=1, keepdims=True))


def softmax_ce(s: np.ndarray, y: np.ndarray):
    """J = mean_B −log softmax(s)[y], fused: ∂J/∂s = (p − onehot(y)) / B.

    s: (B, K) scores, y: (B,) gold tag ids  ->  (J, ds: (B, K))
    """
    B, rows = len(y), np.arange(len(y))
    m = s.max(axis=1, keepdims=True)
    p = np.exp(s - m)
    Z = p.sum(axis=1, keepdims=True)
    loss = (np.log(Z[:, 0]) + m[:, 0] - s[rows, y]).mean()  # −log p_y = log Z + m − s_y
    p /= Z
    p[rows, y] -= 1
    p /= s.dtype.type(B)
    return loss, p  # loss stays a NumPy scalar of s's dtype


def sigmoid_bce(s: np.ndarray, y: np.ndarray):
    """One-vs-rest logistic heads: J = mean_B −Σ_k [y_k log σ(s_k) + (1−y_k) log(1−σ(s_k))].

    With y_k = [y = k]; computed stably as softplus(s) − y_k s; ∂J/∂s = (σ(s) − y_k) / B.
    s: (B, K), y: (B,)  ->  (J, ds: (B, K))
    """
    B = len(y)
    onehot = np.zeros_like(s)
    onehot[np.arange(B), y] = 1
    softplus = np.logaddexp(0, s)
    loss = (softplus - onehot * s).sum(axis=1).mean()
    sig = sigmoid(s)
    return loss, (sig - onehot) / s.dtype.type(B)
