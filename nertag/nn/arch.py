"""What a window model is made of: its features, window, sizes, activation and head.

:class:`Arch` fixes every parameter's shape (:meth:`Arch.shapes`); the hand-derived
model (:mod:`nertag.nn.window`) and the graph one (:mod:`nertag.nn.graph_window`)
both read it, and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Arch:
    """What determines the parameter shapes and the computation."""

    features: list[tuple[str, int, int]]  # (name, V_f, d_f) in the order of x
    window: int
    hidden: int
    n_labels: int
    activation: str = "tanh"
    head: str = "softmax"

    @property
    def n(self) -> int:
        return 2 * self.window + 1

    @property
    def D(self) -> int:
        return sum(d for _, _, d in self.features)

    @property
    def input_dim(self) -> int:
        return self.n * self.D

    def shapes(self) -> dict[str, tuple[int, ...]]:
        H, K = self.hidden, self.n_labels
        out = {f"E_{name}": (V, d) for name, V, d in self.features}
        out.update(W=(H, self.input_dim), b=(H,), U=(K, H), c=(K,))
        if self.head == "crf":
            out.update(A=(K, K), start=(K,), end=(K,))
        return out

    def flops_per_token(self) -> int:
        """Multiply-adds ×2 of the two matrix products, forward + backward (≈ 3× forward)."""
        fwd = 2 * self.input_dim * self.hidden + 2 * self.hidden * self.n_labels
        return 3 * fwd
