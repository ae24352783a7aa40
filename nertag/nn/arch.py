"""What a window model is made of: its features, window, sizes, activation and head.

:class:`Arch` fixes every parameter's shape (:meth:`Arch.shapes`); the hand-derived
model (:mod:`nertag.nn.window`) and the graph one (:mod:`nertag.nn.graph_window`)
both read it, and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CharArch:
    """Each word's character CNN (:mod:`nertag.nn.charcnn`): A characters embedded in c
    numbers, m filters of k characters over L character slots (a word's first characters
    with k//2 slots of padding before them and the rest after)."""

    A: int
    c: int
    m: int
    k: int
    L: int
    activation: str = "tanh"  # or "linear"

    @property
    def P(self) -> int:
        """Filter positions per word."""
        return self.L - self.k + 1


@dataclass
class Arch:
    """What determines the parameter shapes and the computation."""

    features: list[tuple[str, int, int]]  # (name, V_f, d_f) in the order of x
    window: int
    hidden: int
    n_labels: int
    activation: str = "tanh"
    head: str = "softmax"
    chars: CharArch | None = None  # a character vector joins each word's features
    token_features: int = 0  # the last C of ``features`` depend on the token, not the word

    @property
    def n_features(self) -> int:
        """F: the discrete features, the first F columns of a window's ids X: (B, n, F + L)
        (the last L, with ``chars``, are the word's character ids)."""
        return len(self.features)

    @property
    def n_word_features(self) -> int:
        """F − C: the features that are functions of the word alone.  The last C =
        ``token_features`` (name-list match codes) depend on the neighbouring words too,
        so X's columns are [word features | token features | characters].  The maths is
        the same for both kinds (embedding lookups); only the tagging tables differ."""
        return len(self.features) - self.token_features

    @property
    def n(self) -> int:
        return 2 * self.window + 1

    @property
    def D(self) -> int:
        """One word's vector e: Σ_f d_f, plus m with the character CNN."""
        return sum(d for _, _, d in self.features) + (self.chars.m if self.chars else 0)

    @property
    def input_dim(self) -> int:
        return self.n * self.D

    def shapes(self) -> dict[str, tuple[int, ...]]:
        H, K = self.hidden, self.n_labels
        out = {f"E_{name}": (V, d) for name, V, d in self.features}
        if self.chars is not None:
            ch = self.chars
            out.update(C_char=(ch.A, ch.c), K_char=(ch.m, ch.k * ch.c), b_char=(ch.m,))
        out.update(W=(H, self.input_dim), b=(H,), U=(K, H), c=(K,))
        if self.head == "crf":
            out.update(A=(K, K), start=(K,), end=(K,))
        return out

    def flops_per_token(self) -> int:
        """Multiply-adds ×2 of the two matrix products, forward + backward (≈ 3× forward);
        with characters, plus one word's convolution (its backward sums only the winners)."""
        fwd = 2 * self.input_dim * self.hidden + 2 * self.hidden * self.n_labels
        conv = 0 if self.chars is None else \
            2 * self.chars.P * self.chars.k * self.chars.c * self.chars.m
        return 3 * fwd + conv
