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

from dataclasses import dataclass

import numpy as np


# ---------------------------------------------------------------- sparse rows
@dataclass
class SparseRows:
    """A gradient of an embedding table that is non-zero only in some rows.

    ``ids: (R,)`` distinct row numbers, ``rows: (R, d)`` their gradient;
    ``shape`` is the table's shape, so :meth:`dense` has the parameter's shape.
    """

    ids: np.ndarray
    rows: np.ndarray
    shape: tuple[int, int]

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=self.rows.dtype)
        out[self.ids] = self.rows
        return out

    def sqnorm(self) -> float:
        return float(np.vdot(self.rows, self.rows))


SMALL_TABLE = 8192  # tables of at most this many numbers (V·d) are summed densely


def _dense_sum(ids: np.ndarray, values: np.ndarray, n_rows: int) -> SparseRows:
    """:func:`segment_sum` for a small table (caps, shapes, short affixes): one
    ``np.bincount`` adds every value into its (id, column) cell, in float64."""
    d = values.shape[1]
    cells = (ids[:, None] * d + np.arange(d)).ravel()  # (M·d,) flat (id, column) index
    dense = np.bincount(cells, weights=values.ravel(), minlength=n_rows * d)
    used = np.flatnonzero(np.bincount(ids, minlength=n_rows))
    return SparseRows(used, dense.reshape(n_rows, d)[used].astype(values.dtype), (n_rows, d))


def segment_sum(ids: np.ndarray, values: np.ndarray, n_rows: int) -> SparseRows:
    """Sum the rows of ``values: (M, d)`` that share an id in ``ids: (M,)``.

    A word used twice in a batch gets both contributions.  A small table is
    summed densely (:func:`_dense_sum`); otherwise sorting once puts
    equal ids next to each other (no ``np.add.at``).  ``np.add.reduceat`` then
    sums each run, but it pays per run and column, so when most ids occur once
    (words, long affixes) the first row of each run is copied and only the
    repeats are reduced and added.  ``values`` may be a strided view (a
    column block of ∂J/∂x): only the rows needed are gathered.
    """
    if len(ids) == 0:
        return SparseRows(np.zeros(0, np.int64), values[:0], (n_rows, values.shape[1]))
    if n_rows * values.shape[1] <= SMALL_TABLE and values.dtype.itemsize <= 8:
        return _dense_sum(ids, values, n_rows)  # (bincount sums in float64, not longdouble)
    order = np.argsort(ids)  # equal ids in any order: deterministic, and only rounding differs
    sids = ids[order]
    first = np.empty(len(sids), dtype=bool)  # first[i]: sids[i] starts a new run
    first[0] = True
    np.not_equal(sids[1:], sids[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    singles = np.count_nonzero(first[:-1] & first[1:]) + bool(first[-1])  # runs of length 1
    if 2 * singles < len(starts):  # most ids repeat (a skewed batch of a big table)
        rows = np.add.reduceat(values[order], starts, axis=0)
    else:
        rows = values[order[starts]]
        rep = np.flatnonzero(~first)
        if len(rep):
            run = np.cumsum(first)[rep] - 1  # the run of each repeat (non-decreasing)
            new = np.empty(len(run), dtype=bool)
            new[0] = True
            np.not_equal(run[1:], run[:-1], out=new[1:])
            rows[run[new]] += np.add.reduceat(values[order[rep]], np.flatnonzero(new), axis=0)
    return SparseRows(sids[starts].astype(np.int64), rows, (n_rows, values.shape[1]))


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
    """h = f(z) elementwise, f ∈ {tanh, sigmoid, relu, hardtanh}.  z: (B, H) -> h: (B, H)"""
    if kind == "tanh":
        h = np.tanh(z)
    elif kind == "sigmoid":
        h = 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1/(1+e^−z), without overflow
    elif kind == "relu":
        h = np.maximum(z, 0)
    elif kind == "hardtanh":
        h = np.clip(z, -1, 1)
    else:
        raise ValueError(f"unknown activation {kind!r}")
    return h, (z, h, kind)


def act_derivative(z: np.ndarray, h: np.ndarray, kind: str) -> np.ndarray:
    """f′(z): tanh′ = 1 − h², σ′ = h(1 − h), relu′ = [z > 0], hardtanh′ = [−1 < z < 1]."""
    if kind == "tanh":
        return 1 - h * h
    if kind == "sigmoid":
        return h * (1 - h)
    if kind == "relu":
        return (z > 0).astype(z.dtype)
    return ((z > -1) & (z < 1)).astype(z.dtype)


def act_backward(dh: np.ndarray, cache) -> np.ndarray:
    """δ = ∂J/∂h ∘ f′(z)  (the lecture's δ = uᵀ ∘ f′(z) when ∂J/∂h = uᵀ).  -> (B, H)"""
    z, h, kind = cache
    return dh * act_derivative(z, h, kind)


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
def softmax(s: np.ndarray) -> np.ndarray:
    """Row-wise softmax of scores s: (B, K)."""
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(s: np.ndarray) -> np.ndarray:
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
    sig = 0.5 * (1 + np.tanh(0.5 * s))
    return loss, (sig - onehot) / s.dtype.type(B)
