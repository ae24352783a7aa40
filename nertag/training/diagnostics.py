"""What training records besides the loss and the dev scores, for the report and
``--show-grad-norms``: how saturated the hidden units are, and the dev confusion.

Saturation (measured once per epoch on a fixed sample of windows, cheap: one
forward pass of at most :data:`SAMPLE` windows). A hidden unit h = f(z) is *flat*
on a window when f′(z) is (nearly) zero there, so almost no gradient flows back
through it (the lecture's vanishing gradients):

==========  ==========================  ==============================
activation  flat when                   f′ there
==========  ==========================  ==============================
tanh        |h| > 0.99                  1 − h² < 0.02
sigmoid     h < 0.01 or h > 0.99        σ(1 − σ) < 0.0099
hardtanh    |z| ≥ 1                     0
relu        z ≤ 0                       0
==========  ==========================  ==============================

``saturated`` is the share of (window, unit) pairs that are flat; ``dead`` the share
of units flat on *every* sampled window (for ReLU: never active, a dead ReLU).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nertag.nn.activations import activation
from nertag.nn.arch import Arch
from nertag.nn.window import forward

#: Windows in the fixed sample saturation is measured on.
SAMPLE = 2000

FLAT: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "tanh": lambda z, h: np.abs(h) > 0.99,
    "sigmoid": lambda z, h: (h < 0.01) | (h > 0.99),
    "hardtanh": lambda z, h: np.abs(z) >= 1,
    "relu": lambda z, h: z <= 0,
}


def flat(kind: str, z: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Boolean (B, H): where unit h = f(z) is in a flat part of f (see the module doc);
    an activation not in :data:`FLAT` counts as flat where f′(z) < 0.02."""
    if kind in FLAT:
        return FLAT[kind](z, h)
    return activation(kind)[1](z, h) < 0.02


def sample_rows(n_rows: int, size: int = SAMPLE, seed: int = 0) -> np.ndarray:
    """A fixed, sorted sample of ``min(size, n_rows)`` row indices (the same every epoch
    and every run: the seed does not depend on the training seed)."""
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size, replace=False))


def saturation(params: dict, X: np.ndarray, arch: Arch) -> dict:
    """Saturation of the hidden layer on windows X (B, n, F), without dropout:
    ``{"activation", "saturated", "dead", "windows"}`` (shares as fractions)."""
    if len(X) == 0:
        return {"activation": arch.activation, "saturated": 0.0, "dead": 0.0, "windows": 0}
    _, cache = forward(params, X, arch)
    z, h, kind = cache[2]
    f = flat(kind, z, h)  # (B, H)
    return {"activation": kind, "saturated": float(f.mean()), "dead": float(f.all(axis=0).mean()),
            "windows": int(len(X))}
