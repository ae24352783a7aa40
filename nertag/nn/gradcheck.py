"""Gradient checking: hand-derived backward vs graph engine vs central differences.

f′(x) ≈ (f(x + h) − f(x − h)) / 2h has error O(h²), so in float64 with h = 1e-4
a correct gradient agrees to ~1e-8 relative; a wrong one (a missing transpose,
a dropped fan-out sum, a wrong activation derivative) is off by O(1).
Plain functions only: the CLI draws the tables; :func:`to_json` gives the figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, NamedTuple

import numpy as np

from nertag.nn import graph
from nertag.nn import graph_window
from nertag.nn import window
from nertag.nn.sparse import SparseRows
from nertag.nn.arch import Arch, CharArch
from nertag.nn.ragged import window_ids

# Largest relative error that passes.  Central differences with h = 1e-4 are off by
# ~h²·f‴ ≈ 1e-9 absolute, which is 1e-7 relative for a typical entry but more for a
# gradient entry that happens to be tiny; a wrong backward is off by ~1e-1 or more.
MODEL_TOL = 1e-5
OP_TOL = 1e-6


def rel_error(a, b) -> np.ndarray:
    """|a − b| / max(|a| + |b|, 1e-12), elementwise."""
    a, b = _dense(a), _dense(b)
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)


def _dense(g) -> np.ndarray:
    return g.dense() if isinstance(g, SparseRows) else np.asarray(g, dtype=np.float64)


def numeric_grad(f: Callable[[], float], param: np.ndarray, eps: float = 1e-4,
                 idx=None) -> np.ndarray:
    """Central differences of ``f()`` w.r.t. the entries ``idx`` (flat indices; all if
    None) of ``param``, which is changed in place and restored.  -> (len(idx),)"""
    idx = range(param.size) if idx is None else idx
    out = np.empty(len(idx), dtype=np.result_type(param.dtype, np.float64))
    for j, i in enumerate(idx):
        ix = np.unravel_index(i, param.shape)
        old = param[ix]
        param[ix] = old + eps
        f_plus = f()
        param[ix] = old - eps
        f_minus = f()
        param[ix] = old
        out[j] = (f_plus - f_minus) / (2 * eps)
    return out


def _refine(loss_fn, params, name, idx, num, analytic, X, y, arch, kw, eps) -> np.ndarray:
    """Re-take the numeric gradient of entries that disagree, in extended precision.

    In float64 the central difference itself carries a rounding error of about
    ε·|J|/h ≈ 1e-12, which is a large *relative* error for a gradient entry of
    1e-7. Entries above 1e-8 are re-evaluated with the loss computed in
    ``np.longdouble`` (80-bit on x86); a wrong backward stays off by O(1).
    Entries still off are taken again with h/10 and h/100: a max (the character
    CNN's over positions) whose winner changes between x − h and x + h is a kink
    crossed, not a wrong gradient, and a smaller h stays on one side of it; a wrong
    backward is off whatever h.
    """
    bad = np.flatnonzero(rel_error(analytic, num) > 1e-8)
    if not len(bad) or np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps:
        return num
    pl = {k: v.astype(np.longdouble) for k, v in params.items()}
    kwl = dict(kw, masks=tuple(None if m is None else m.astype(np.longdouble)
                               for m in kw["masks"]))

    def f():
        return loss_fn(pl, X, y, arch, **kwl)[0]

    num = num.copy()
    for h in (eps, eps / 10, eps / 100):  # a kink between x ± h: again with a smaller h
        num[bad] = numeric_grad(f, pl[name], h, np.asarray(idx)[bad]).astype(np.float64)
        bad = bad[rel_error(analytic[bad], num[bad]) > 1e-8]
        if not len(bad):
            break
    return num


def _max(errors) -> float:
    return float(np.max(errors)) if np.size(errors) else 0.0


# ----------------------------------------------------------------- the model
@dataclass
class ParamCheck:
    """Largest relative errors for one parameter (None: that side was not run)."""

    name: str
    shape: tuple[int, ...]
    entries_checked: int
    hand_vs_numeric: float | None
    graph_vs_numeric: float | None
    hand_vs_graph: float | None

    def passed(self, tol: float) -> bool:
        errs = (self.hand_vs_numeric, self.graph_vs_numeric, self.hand_vs_graph)
        return all(e <= tol for e in errs if e is not None)  # NaN fails


def check_model(params: dict, X: np.ndarray, y: np.ndarray, arch: Arch, *, masks=None,
                lengths=None, eps: float = 1e-4, samples: int | None = None, rng=None,
                hand=window.loss_and_grads,
                graph=graph_window.graph_loss_and_grads) -> list[ParamCheck]:
    """Check every parameter's gradient (or ``samples`` random entries of each).

    Runs in float64 on copies of ``params``.  The numeric gradient is taken of the
    loss ``hand`` returns (of ``graph``'s if ``hand`` is None).  ``hand_vs_graph`` covers all entries.
    """
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    masks = (None, None) if masks is None else tuple(
        None if m is None else np.asarray(m, dtype=np.float64) for m in masks)
    rng = np.random.default_rng(0) if rng is None else rng
    kw = dict(masks=masks, lengths=lengths)
    hand_grads = graph_grads = None
    if hand is not None:
        _, hand_grads = hand(params, X, y, arch, **kw)
    if graph is not None:
        _, graph_grads = graph(params, X, y, arch, **kw)
    loss_fn = hand or graph
    if loss_fn is None:
        raise ValueError("check_model needs a hand or a graph function")

    def f() -> float:
        return loss_fn(params, X, y, arch, **kw)[0]

    checks = []
    for name in arch.shapes():
        p = params[name]
        idx = np.arange(p.size) if samples is None else _sample(
            p, name, X, arch, samples, rng)
        num = numeric_grad(f, p, eps, idx)
        hg = None if hand_grads is None else _dense(hand_grads[name])
        gg = None if graph_grads is None else _dense(graph_grads[name])
        if hg is not None:
            num = _refine(hand, params, name, idx, num, hg.ravel()[idx], X, y, arch, kw, eps)
        checks.append(ParamCheck(
            name, tuple(p.shape), len(idx),
            None if hg is None else _max(rel_error(hg.ravel()[idx], num)),
            None if gg is None else _max(rel_error(gg.ravel()[idx], num)),
            None if hg is None or gg is None else _max(rel_error(hg, gg))))
    return checks


def _sample(p: np.ndarray, name: str, X: np.ndarray, arch: Arch, samples: int,
            rng: np.random.Generator) -> np.ndarray:
    """``samples`` random entries; for an embedding table, from the rows the batch uses
    (the others have zero gradient and would check nothing)."""
    pool = np.arange(p.size)
    if name.startswith("E_") or name == "C_char":
        rows = np.unique(X[:, :, arch.n_features:]) if name == "C_char" else \
            np.unique(X[:, :, [n for n, _, _ in arch.features].index(name[2:])])
        pool = (rows[:, None] * p.shape[1] + np.arange(p.shape[1])).ravel()
    return np.sort(rng.choice(pool, size=min(samples, pool.size), replace=False))


class Problem(NamedTuple):
    params: dict
    X: np.ndarray
    y: np.ndarray
    arch: Arch
    masks: tuple
    lengths: list[int] | None


def char_rows(rng: np.random.Generator, ch: CharArch, count: int) -> np.ndarray:
    """``count`` random words as character ids (count, L), laid out as the featurizer lays
    them out: k//2 ids 0 (before the word), 1 to L − 2·(k//2) characters drawn from ids
    3 … A−1 (2, <unk>, if there are none), ids 1 (after the word) up to L."""
    h = ch.k // 2
    out = np.ones((count, ch.L), dtype=np.int32)
    out[:, :h] = 0
    for r, length in enumerate(rng.integers(1, ch.L - 2 * h + 1, count)):
        out[r, h:h + length] = rng.integers(3, ch.A, length) if ch.A > 3 else 2
    return out


def default_problem(seed: int = 0, head: str = "softmax", activation: str = "tanh",
                    dropout: float = 0.0, chars: str | None = "tanh") -> Problem:
    """A small float64 model (word + caps features and a character CNN with ``chars``
    activation (None: none), window 2, hidden 7, K = 5) and a minibatch of 12 tokens from
    sentences with repeated words; ``lengths`` for the CRF head, dropout masks if
    ``dropout`` > 0.  Words of one or two characters have filter windows made of padding
    only, at two positions: ties, which the max routes to the first."""
    rng = np.random.default_rng(seed)
    ch = None if chars is None else CharArch(A=7, c=3, m=4, k=3, L=6, activation=chars)
    arch = Arch([("word", 9, 3), ("caps", 4, 2)], window=2, hidden=7, n_labels=5,
                activation=activation, head=head, chars=ch)
    params = window.init_params(arch, rng, np.float64, init_scale=0.5)
    params["W"] *= 2.0  # reach the non-linear parts of the activation
    for k in ("b", "c", "A", "start", "end", "b_char"):
        if k in params:
            params[k] = rng.normal(0, 0.5, params[k].shape)
    lengths = [5, 1, 6]
    words = rng.integers(1, 9, 12)
    words[7] = words[2] = words[9]                                  # a repeated word
    X_word = window_ids(words, lengths, arch.window, 0, 0)         # id 0 pads both edges
    X = np.stack([X_word, np.where(X_word == 0, 0, X_word % 3 + 1)], axis=2)  # caps id
    if ch is not None:  # each word id spelt one way; the padding word: all ids 0
        spelling = char_rows(np.random.default_rng(seed + 1), ch, 9)
        spelling[0] = 0
        X = np.concatenate([X, spelling[X_word]], axis=2)
    y = rng.integers(0, arch.n_labels, 12)
    masks = (None, None)
    if dropout > 0:
        masks = tuple((rng.random(shape) >= dropout) / (1 - dropout)
                      for shape in ((12, arch.input_dim), (12, arch.hidden)))
    return Problem(params, X, y, arch, masks, lengths if head == "crf" else None)


# ----------------------------------------------------------------- single ops
@dataclass
class OpCheck:
    """One graph op's backward for one of its inputs vs central differences."""

    op: str
    input: str
    shape: tuple[int, ...]
    max_rel_error: float

    def passed(self, tol: float) -> bool:
        return self.max_rel_error <= tol


def _op_cases(rng: np.random.Generator):
    """(op name, function of input nodes, {input name: value}) for every node type."""
    def r(*shape):
        return rng.normal(size=shape)

    def away(x, kinks, gap=0.05):  # keep inputs off the kinks, where f′ jumps
        for k in kinks:
            x = np.where(np.abs(x - k) < gap, k + np.copysign(gap, x - k + 1e-300), x)
        return x
    spread = rng.permutation(12).reshape(3, 4) * 0.3 + rng.uniform(0, 0.1, (3, 4))  # no ties
    ids, y, mask = np.array([1, 3, 1, 0, 3, 3]), np.array([2, 0, 3]), r(3, 4) > 0
    return [
        ("matmul", graph.matmul, dict(a=r(3, 4), b=r(4, 2))),
        ("add_bias", graph.add_bias, dict(x=r(3, 4), b=r(4))),
        ("add", graph.add, dict(a=r(3, 4), b=r(3, 4))),
        ("add (broadcast)", graph.add, dict(a=r(3, 1), b=r(1, 4))),
        ("mul", graph.mul, dict(a=r(3, 4), b=r(3, 4))),
        ("dot", graph.dot, dict(a=r(3, 4), b=r(3, 4))),
        ("dot (vectors)", graph.dot, dict(a=r(5), b=r(5))),
        ("scale", lambda x: graph.scale(x, -1.7), dict(x=r(3, 4))),
        ("mul_const", lambda x: graph.mul_const(x, mask / 0.5), dict(x=r(3, 4))),
        ("activate (tanh)", lambda x: graph.activate(x, "tanh"), dict(x=r(3, 4))),
        ("activate (sigmoid)", lambda x: graph.activate(x, "sigmoid"), dict(x=2 * r(3, 4))),
        ("activate (relu)", lambda x: graph.activate(x, "relu"), dict(x=away(r(3, 4), [0]))),
        ("activate (hardtanh)", lambda x: graph.activate(x, "hardtanh"),
         dict(x=away(2 * r(3, 4), [-1, 1]))),
        ("maximum", lambda x: graph.maximum(x, axis=1), dict(x=spread)),
        ("embedding", lambda t: graph.embedding(t, ids), dict(table=r(5, 3))),
        ("concat", lambda a, b: graph.concat([a, b], axis=1), dict(a=r(3, 2), b=r(3, 4))),
        ("unfold", lambda x: graph.unfold(x, 3), dict(x=r(2, 5, 2))),
        ("reshape", lambda x: graph.reshape(x, (4, 3)), dict(x=r(3, 4))),
        ("transpose", graph.transpose, dict(x=r(3, 4))),
        ("sum", lambda x: graph.sum(x, axis=0), dict(x=r(3, 4))),
        ("sum (all)", graph.sum, dict(x=r(3, 4))),
        ("index", lambda x: graph.index(x, np.array([2, 0, 2])), dict(x=r(3, 4))),
        ("gather", lambda x: graph.gather(x, [0, 1, 1, 2], [3, 0, 0, 1]), dict(x=r(3, 4))),
        ("logsumexp", lambda x: graph.logsumexp(x, axis=1), dict(x=r(3, 4))),
        ("softmax_ce (composite)", lambda s: graph_window.softmax_ce(s, y), dict(s=r(3, 4))),
        ("sigmoid_bce (composite)", lambda s: graph_window.sigmoid_bce(s, y),
         dict(s=r(3, 4))),
    ]


def check_ops(rng: np.random.Generator, eps: float = 1e-5) -> list[OpCheck]:
    """Each op's backward alone: J = Σ upstream ∘ op(inputs) with a random upstream."""
    checks = []
    for op, fn, inputs in _op_cases(rng):
        values = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}
        nodes = {k: graph.Node(v.copy(), name=k) for k, v in values.items()}
        out = fn(*nodes.values())
        upstream = rng.choice([-1.0, 1.0], out.shape) * rng.uniform(0.5, 1.5, out.shape)
        graph.sum(graph.mul_const(out, upstream)).backward()

        def f() -> float:
            return float(np.sum(upstream * fn(*[graph.Node(v) for v in values.values()]).value))
        for k, v in values.items():
            err = _max(rel_error(nodes[k].grad, numeric_grad(f, v, eps).reshape(v.shape)))
            checks.append(OpCheck(op, k, tuple(v.shape), err))
    return checks


# ----------------------------------------------------------------- reporting
def to_json(checks, tol: float) -> dict:
    """{"tol", "passed", "checks": [... each with "passed"]}, JSON-serialisable."""
    rows = [{**asdict(c), "shape": list(c.shape), "passed": c.passed(tol)} for c in checks]
    return {"tol": tol, "passed": all(r["passed"] for r in rows), "checks": rows}
