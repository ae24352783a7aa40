"""The hidden layer's nonlinearities h = f(z) and their derivatives f′, in one table.

``ACTIVATIONS[name] = (f, f′)`` with ``f(z, out=None) -> h`` (``out=z`` computes in
place, the same operations and so the same bits) and ``f′(z, h) -> f′(z)`` from the
input and the output, whichever is cheaper.  The hand-derived layers, the graph
engine and the precomputed inference tables all take f and f′ from here.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nertag.errors import NertagError


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(z) = 1/(1 + e^−z), computed as ½(1 + tanh(z/2)): no overflow for large |z|."""
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def _tanh(z, out=None):
    return np.tanh(z, out=out)


def _relu(z, out=None):
    return np.maximum(z, 0, out=out)


def _hardtanh(z, out=None):
    return np.clip(z, -1, 1, out=out)


ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (_tanh, lambda z, h: 1 - h * h),                                # tanh′ = 1 − h²
    "sigmoid": (sigmoid, lambda z, h: h * (1 - h)),                         # σ′ = σ(1 − σ)
    "relu": (_relu, lambda z, h: (z > 0).astype(z.dtype)),                  # [z > 0]
    "hardtanh": (_hardtanh, lambda z, h: ((z > -1) & (z < 1)).astype(z.dtype)),  # [|z| < 1]
}


def activation(name: str) -> tuple[Callable, Callable]:
    """``(f, f′)`` of an activation; an unknown name is an error."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise NertagError(f"unknown activation {name!r}; use one of "
                          f"{', '.join(ACTIVATIONS)}") from None
