"""The window classifier: x = [e(t−w) … e(t+w)], z = Wx + b, h = f(z), s = Uh + c.

Parameters and gradients are dicts with the same keys and shapes:
  ``E_<feature>`` (V_f, d_f) embedding tables (gradients as :class:`SparseRows`),
  ``W`` (H, n·D), ``b`` (H,), ``U`` (K, H), ``c`` (K,), and for the CRF head
  ``A`` (K, K) tag transitions, ``start`` (K,) and ``end`` (K,) scores.
With a character CNN (``arch.chars``) each word's e ends with its character vector
v (m,), e = [E_1[id_1] … E_F[id_F]; v], from ``C_char``, ``K_char``, ``b_char``
(:mod:`nertag.nn.charcnn`); the window ids X are then (B, n, F + L), the last L
columns a word's character ids.

The backward pass here is derived by hand (see :mod:`nertag.nn.layers`); the
graph engine (:mod:`nertag.nn.graph_window`) computes the same gradients
independently, and ``nertag gradcheck`` compares both with central differences.
"""

from __future__ import annotations

import numpy as np

from nertag.nn import charcnn, crf
from nertag.nn import layers as L
from nertag.nn.arch import Arch


def init_params(arch: Arch, rng: np.random.Generator, dtype=np.float32,
                init_scale: float = 0.1) -> dict[str, np.ndarray]:
    """Embeddings (characters too) ~ U(−a, a); W, U and the character filters K ~ Glorot
    uniform; biases and transitions 0."""
    params: dict[str, np.ndarray] = {}
    for name, shape in arch.shapes().items():
        if name.startswith("E_") or name == "C_char":
            params[name] = rng.uniform(-init_scale, init_scale, shape)
        elif name in ("W", "U", "K_char"):
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            params[name] = rng.uniform(-limit, limit, shape)
        else:
            params[name] = np.zeros(shape)
    return {k: v.astype(dtype) for k, v in params.items()}


def tables(params: dict, arch: Arch) -> list[np.ndarray]:
    return [params[f"E_{name}"] for name, _, _ in arch.features]


def forward(params: dict, X: np.ndarray, arch: Arch, masks=(None, None)):
    """Scores s for each window.  X: (B, n, F) (or (B, n, F + L))  ->  s: (B, K), cache.

    ``masks`` are the (input, hidden) dropout masks, (B, n·D) and (B, H), or None.
    """
    x, c_emb = L.embed_forward(X[:, :, :arch.n_features], tables(params, arch))
    c_chr = None
    if arch.chars is not None:  # e = [feature vectors; v], v = the word's character vector
        B, n = X.shape[:2]
        v, c_chr = charcnn.forward_tokens(X[:, :, arch.n_features:].reshape(B * n, -1),
                                          params, arch.chars.activation)
        x = np.concatenate([x.reshape(B, n, -1), v.reshape(B, n, -1)], axis=2).reshape(B, -1)
    if masks[0] is not None:
        x *= masks[0]  # x is a fresh array: mask it in place
    z, c_aff = L.affine_forward(x, params["W"], params["b"])   # z = Wx + b
    h, c_act = L.act_forward(z, arch.activation)                 # h = f(z)
    hd = h * masks[1] if masks[1] is not None else h
    s, c_out = L.affine_forward(hd, params["U"], params["c"])  # s = Uh + c
    return s, (c_emb, c_aff, c_act, c_out, masks, c_chr)


def backward(ds: np.ndarray, cache, arch: Arch) -> dict:
    """Hand-derived backward from ∂J/∂s (B, K) to every parameter.

    ∂J/∂U = (∂J/∂s)ᵀ h,  ∂J/∂c = Σ_B ∂J/∂s,  ∂J/∂h = (∂J/∂s) U;
    δ = ∂J/∂h ∘ f′(z), computed once and reused:
    ∂J/∂W = δᵀ x,  ∂J/∂b = Σ_B δ,  ∂J/∂x = δ W  (then split into embedding rows, and
    the character vectors' part into :func:`nertag.nn.charcnn.backward_tokens`).
    """
    c_emb, c_aff, c_act, c_out, masks, c_chr = cache
    dh, dU, dc = L.affine_backward(ds, c_out)
    if masks[1] is not None:
        dh *= masks[1]
    delta = L.act_backward(dh, c_act)
    dx, dW, db = L.affine_backward(delta, c_aff)
    if masks[0] is not None:
        dx *= masks[0]
    grads = {"W": dW, "b": db, "U": dU, "c": dc}
    if c_chr is not None:  # ∂J/∂x per window position: [∂J/∂(feature vectors); ∂J/∂v]
        B, m = len(dx), arch.chars.m
        dx = dx.reshape(B, arch.n, arch.D)
        grads.update(charcnn.backward_tokens(dx[:, :, -m:].reshape(-1, m), c_chr))
        dx = dx[:, :, :-m].reshape(B, -1)
    for (name, _, _), g in zip(arch.features, L.embed_backward(dx, c_emb)):
        grads[f"E_{name}"] = g
    return grads


def head_loss(s: np.ndarray, y: np.ndarray, params: dict, arch: Arch, lengths=None):
    """Loss J and ∂J/∂s for the configured head (+ grads of head-only parameters)."""
    if arch.head == "softmax":
        loss, ds = L.softmax_ce(s, y)
        return loss, ds, {}
    if arch.head == "binary":
        loss, ds = L.sigmoid_bce(s, y)
        return loss, ds, {}
    return crf.crf_loss(s, y, lengths, params["A"], params["start"], params["end"])


def loss_and_grads(params: dict, X: np.ndarray, y: np.ndarray, arch: Arch, *,
                   masks=(None, None), lengths=None, tick=None):
    """J and all gradients, hand-derived.  X: (B, n, F), y: (B,) -> (J, grads).

    ``tick(phase)``, if given, is called after the ``forward`` (with the loss) and the
    ``backward`` phase (the training benchmark times them).
    """
    s, cache = forward(params, X, arch, masks)
    loss, ds, head_grads = head_loss(s, y, params, arch, lengths)
    if tick is not None:
        tick("forward")
    grads = backward(ds, cache, arch)
    grads.update(head_grads)
    if tick is not None:
        tick("backward")
    return loss, grads


def scores(params: dict, X: np.ndarray, arch: Arch, batch: int = 8192) -> np.ndarray:
    """Scores s: (N, K) for many windows, in batches (no dropout)."""
    out = []
    for i in range(0, len(X), batch):
        s, _ = forward(params, X[i:i + batch], arch)
        out.append(s)
    if not out:
        return np.zeros((0, arch.n_labels), dtype=params["W"].dtype)
    return np.concatenate(out)
