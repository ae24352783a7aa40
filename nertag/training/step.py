"""One training step on one minibatch (any optimiser): the hot path of training.

``train_step`` is shared by training (:func:`nertag.training.fit.fit`) and
``nertag benchmark``, so the benchmark times exactly what training runs.  An
optional ``tick(phase)`` callback is called at the end of each phase:

  ``data``              word dropout and dropout masks
  ``forward``           x, z = Wx + b, h = f(z), s = Uh + c and the head's loss
  ``backward``          δ and every gradient (the whole step for the graph backend)
  ``other``             the finite-gradient check and the gradient-norm sample
  ``embedding_update``  sparse updates of the embedding rows used
  ``dense_update``      W, b, U, c (and the CRF's A, start, end)
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from nertag.nn.graph_window import graph_loss_and_grads
from nertag.nn.window import loss_and_grads
from nertag.text.features import UNK
from nertag.nn.layers import dropout_mask
from nertag.nn.sparse import SparseRows
from nertag.nn.optim import Optimizer, grad_norms


#: J and every gradient, by the hand-derived backward or by the graph engine.
LOSS_AND_GRADS = {"hand": loss_and_grads, "graph": graph_loss_and_grads}


class Diverged(FloatingPointError):
    """The loss or a gradient is not finite; ``what`` says which."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def optimizer_for(cfg) -> Optimizer:
    """The optimiser ``cfg`` trains with: ``train.optimizer`` at ``train.lr`` with its L2
    and clipping, the word table frozen (``embeddings.freeze``, with pretrained vectors) or
    at ``embeddings.lr_scale`` × the rate (what training and the benchmark both step)."""
    tc = cfg.train
    frozen = ("E_word",) if cfg.embeddings.path and cfg.embeddings.freeze else ()
    return Optimizer(tc.optimizer, tc.lr, tc.l2, tc.clip_norm, frozen,
                     {"E_word": cfg.embeddings.lr_scale})


def _no_tick(phase: str) -> None:
    pass


def nonfinite_grad(grads: dict) -> str | None:
    """The first parameter whose gradient holds a NaN or an infinity (None if all finite)."""
    for k, g in grads.items():
        arr = g.rows if isinstance(g, SparseRows) else g
        if not np.isfinite(arr).all():
            return k
    return None


def train_step(model, opt: Optimizer, Xb: np.ndarray, yb: np.ndarray, lengths, rng, *,
               word_dropout: float = 0.0, dropout: tuple[float, float] = (0.0, 0.0),
               backend: str = "hand", norms: dict | None = None,
               tick: Callable[[str], None] = _no_tick) -> float:
    """Update ``model.params`` in place from one minibatch and return its mean loss J.

    Xb: (B, n, F) window ids (modified: word dropout writes <unk> into it),
    yb: (B,) gold label ids, lengths: (S,) sentence lengths (CRF head) or None.
    ``norms``: if given, ‖∇θJ‖ per parameter is added into it (a diagnostic sample).
    Raises :class:`Diverged` (before any update) when J or a gradient is not finite.
    """
    arch, params = model.arch, model.params
    B, dt = len(yb), params["W"].dtype
    if word_dropout > 0:  # teach the <unk> vector: words seen once look unknown
        words = Xb[:, :, 0]
        drop = (rng.random(words.shape, dtype=np.float32) < word_dropout) & (words > UNK)
        words[drop] = UNK
    masks = (dropout_mask((B, arch.input_dim), dropout[0], rng, dt),
             dropout_mask((B, arch.hidden), dropout[1], rng, dt))
    tick("data")
    loss, grads = LOSS_AND_GRADS[backend](params, Xb, yb, arch, masks=masks, lengths=lengths,
                                          tick=tick)
    loss = float(loss)
    gnorms = grad_norms(grads)  # one pass per gradient: a NaN or ±inf makes its norm one too
    if not math.isfinite(loss) or not all(map(math.isfinite, gnorms.values())):
        bad = nonfinite_grad(grads)
        raise Diverged(f"the gradient of {bad} is not finite (loss {loss})" if bad else
                       f"the loss is {loss}")
    if norms is not None:
        for k, v in gnorms.items():
            norms[k] = norms.get(k, 0.0) + v
    tick("other")
    opt.step(params, grads, tick=tick)
    return loss
