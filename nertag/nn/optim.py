"""Optimisers as ``update(param, grad, state)``, keyed by parameter name.

Dense gradients update the whole parameter in place; an embedding gradient is
a :class:`~nertag.nn.sparse.SparseRows` and updates only the rows it names
(Adagrad's and Adam's state rows too — "lazy" Adam for embeddings).
"""

from __future__ import annotations

import math

import numpy as np

from nertag.nn.sparse import SparseRows


def sgd(param: np.ndarray, grad, state: dict, lr: float, **_) -> None:
    """θ ← θ − α ∇θJ"""
    if isinstance(grad, SparseRows):
        param[grad.ids] -= lr * grad.rows
    else:
        param -= lr * grad


def adagrad(param: np.ndarray, grad, state: dict, lr: float, eps: float = 1e-8, **_) -> None:
    """G ← G + g²;  θ ← θ − α g / (√G + ε)   (G: ``state["sq_grad_sum"]``, like θ)"""
    if "sq_grad_sum" not in state:
        state["sq_grad_sum"] = np.zeros_like(param)
    sq_grad_sum = state["sq_grad_sum"]
    if isinstance(grad, SparseRows):
        ids, g = grad.ids, grad.rows
        sq_grad_sum[ids] += g * g
        param[ids] -= lr * g / (np.sqrt(sq_grad_sum[ids]) + eps)
    else:
        sq_grad_sum += grad * grad
        param -= lr * grad / (np.sqrt(sq_grad_sum) + eps)


#: State names of older checkpoints, and what they are called now.
RENAMED_STATE = {"G": "sq_grad_sum"}


def adam(param: np.ndarray, grad, state: dict, lr: float, beta1: float = 0.9,
         beta2: float = 0.999, eps: float = 1e-8, **_) -> None:
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − α m̂ / (√v̂ + ε), with bias correction."""
    if "m" not in state:
        state["m"] = np.zeros_like(param)
        state["v"] = np.zeros_like(param)
        state["t"] = 0
    state["t"] += 1
    t = state["t"]
    c1, c2 = 1 / (1 - beta1 ** t), 1 / (1 - beta2 ** t)  # bias corrections: m̂ = c1·m, v̂ = c2·v
    m, v = state["m"], state["v"]
    if isinstance(grad, SparseRows):  # only the rows used: m, v, θ gathered, updated, scattered
        ids, g = grad.ids, grad.rows
        mi = beta1 * m[ids] + (1 - beta1) * g
        vi = beta2 * v[ids] + (1 - beta2) * (g * g)
        m[ids], v[ids] = mi, vi
        param[ids] -= _adam_step(mi, vi, lr, c1, c2, eps)
    else:
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        param -= _adam_step(m, v, lr, c1, c2, eps)


def _adam_step(m: np.ndarray, v: np.ndarray, lr: float, c1: float, c2: float,
               eps: float) -> np.ndarray:
    """α m̂ / (√v̂ + ε) with m̂ = c1·m, v̂ = c2·v, in one scratch array."""
    step = v * c2
    np.sqrt(step, out=step)
    step += eps
    np.divide(m, step, out=step)
    step *= lr * c1
    return step


UPDATES = {"sgd": sgd, "adagrad": adagrad, "adam": adam}
#: Parameters the L2 penalty applies to: the layers' weights and the character filters.
WEIGHT_MATRICES = ("W", "U", "K_char")


def global_norm(grads: dict) -> float:
    total = 0.0
    for g in grads.values():
        total += g.sqnorm() if isinstance(g, SparseRows) else float(np.vdot(g, g))
    return math.sqrt(total)


def grad_norms(grads: dict) -> dict[str, float]:
    """‖∇θJ‖ per parameter (the diagnostics the lecture warns about)."""
    return {k: math.sqrt(g.sqnorm() if isinstance(g, SparseRows) else float(np.vdot(g, g)))
            for k, g in grads.items()}


class Optimizer:
    """Applies one update rule to every parameter, with optional L2 and clipping.

    ``frozen`` names parameters that are never updated (e.g. fixed pretrained vectors);
    ``lr_scales`` multiplies the learning rate of the parameters it names (α·s).
    """

    def __init__(self, kind: str, lr: float, l2: float = 0.0, clip_norm: float = 0.0,
                 frozen: tuple[str, ...] = (), lr_scales: dict[str, float] | None = None):
        self.kind, self.lr, self.l2, self.clip_norm = kind, lr, l2, clip_norm
        self.update = UPDATES[kind]
        self.state: dict[str, dict] = {}
        self.frozen = set(frozen)
        self.lr_scales = dict(lr_scales or {})

    def step(self, params: dict, grads: dict, tick=lambda phase: None) -> None:
        """One update of every parameter; ``tick(phase)`` after the embeddings, then the rest."""
        if self.l2:  # the weight matrices (not biases, not embedding tables)
            for k in WEIGHT_MATRICES:
                if k in grads:
                    grads[k] = grads[k] + self.l2 * params[k]
        scale = 1.0
        if self.clip_norm:
            norm = global_norm(grads)
            if norm > self.clip_norm:
                scale = self.clip_norm / (norm + 1e-12)
        sparse = [k for k, g in grads.items() if isinstance(g, SparseRows)]
        dense = [k for k, g in grads.items() if not isinstance(g, SparseRows)]
        for names, phase in ((sparse, "embedding_update"), (dense, "dense_update")):
            for name in names:
                if name in self.frozen:
                    continue
                g = grads[name]
                if scale != 1.0:
                    g = SparseRows(g.ids, g.rows * scale, g.shape) \
                        if isinstance(g, SparseRows) else g * scale
                self.update(params[name], g, self.state.setdefault(name, {}),
                            lr=self.lr * self.lr_scales.get(name, 1.0))
            tick(phase)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Flat dict of the optimiser state (for checkpoints)."""
        out = {}
        for name, st in self.state.items():
            for k, v in st.items():
                out[f"{name}.{k}"] = np.asarray(v)
        return out

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the state :meth:`state_arrays` gave (of this or an older version)."""
        self.state = {}
        for key, v in arrays.items():
            name, _, k = key.rpartition(".")
            k = RENAMED_STATE.get(k, k)
            self.state.setdefault(name, {})[k] = int(v) if k == "t" else v.copy()


def average_params(params: dict, opt_state: dict, decay: float) -> None:
    """Exponential moving average of every parameter, θ̄ ← θ̄ + (1 − β)(θ − θ̄).

    Kept in the optimiser state (so checkpoints carry it) and used for dev
    scoring and the saved model: averaging damps the last steps' SGD noise.
    """
    for k, p in params.items():
        st = opt_state.setdefault(k, {})
        if "avg" not in st:
            st["avg"] = p.copy()
        else:
            a = st["avg"]
            a += (1 - decay) * (p - a)


def averaged_params(params: dict, opt_state: dict) -> dict:
    """The running average of every parameter (:func:`average_params`), or the parameter
    itself where none is kept yet; the arrays are shared, not copied."""
    return {k: opt_state.get(k, {}).get("avg", v) for k, v in params.items()}
