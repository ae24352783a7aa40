"""Tests for nertag.nn.graph_window (the window model and its CRF built on the graph
engine): equal to the hand-derived model, and the CRF to brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nertag.nn import crf
from nertag.nn import graph as G
from nertag.nn import graph_window as graph_model
from nertag.nn import window as model
from nertag.nn.gradcheck import default_problem, numeric_grad, rel_error
from nertag.nn.sparse import SparseRows

HEADS = ["softmax", "binary", "crf"]
ACTIVATIONS = ["tanh", "sigmoid", "relu", "hardtanh"]


def dense(g):
    return g.dense() if isinstance(g, SparseRows) else g


# ------------------------------------------------------------------ hand vs graph
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_graph_equals_hand_derived(head, activation):
    p = default_problem(seed=3, head=head, activation=activation, dropout=0.3)
    assert len(np.unique(p.X[:, :, 0])) < p.X[:, :, 0].size   # repeated word ids
    assert all(m is not None for m in p.masks)
    kw = dict(masks=p.masks, lengths=p.lengths)
    loss_h, grads_h = model.loss_and_grads(p.params, p.X, p.y, p.arch, **kw)
    loss_g, grads_g = graph_model.graph_loss_and_grads(p.params, p.X, p.y, p.arch, **kw)
    assert abs(loss_h - loss_g) <= 1e-10 * abs(loss_h)
    assert grads_g.keys() == grads_h.keys() == p.arch.shapes().keys()
    for name, g in grads_g.items():
        assert isinstance(g, SparseRows) == (name.startswith("E_") or name == "C_char"), name
        assert dense(g).shape == p.params[name].shape
        assert rel_error(grads_h[name], g).max() < 1e-10, name


# ------------------------------------------------------------------ CRF
def brute_force_crf(S, y, lengths, A, start, end):
    """Mean over sentences of log Σ_paths exp score − score(gold), by enumeration."""
    def score(Ss, path):
        s = start[path[0]] + end[path[-1]] + sum(Ss[t, k] for t, k in enumerate(path))
        return s + sum(A[i, j] for i, j in zip(path[:-1], path[1:]))
    total, o = 0.0, 0
    for T in lengths:
        Ss, K = S[o:o + T], S.shape[1]
        scores = [score(Ss, path) for path in itertools.product(range(K), repeat=T)]
        total += np.logaddexp.reduce(scores) - score(Ss, y[o:o + T])
        o += T
    return total / len(lengths)


def crf_inputs(seed=0, K=3, lengths=(3, 1, 4)):
    rng = np.random.default_rng(seed)
    B = sum(lengths)
    return (rng.normal(size=(B, K)), rng.integers(0, K, B), list(lengths),
            rng.normal(size=(K, K)), rng.normal(size=K), rng.normal(size=K))


def graph_crf(S, y, lengths, A, start, end):
    nodes = [G.Node(v) for v in (S, A, start, end)]
    loss = graph_model.crf_nll(nodes[0], y, lengths, *nodes[1:])
    return loss, nodes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_graph_crf_equals_brute_force(seed):
    S, y, lengths, A, start, end = crf_inputs(seed)
    loss, nodes = graph_crf(S, y, lengths, A, start, end)
    assert float(loss.value) == pytest.approx(brute_force_crf(S, y, lengths, A, start, end),
                                              rel=1e-12)
    loss.backward()
    for node, value in zip(nodes, (S, A, start, end)):    # vs brute-force differences
        num = numeric_grad(lambda: brute_force_crf(S, y, lengths, A, start, end), value, 1e-5)
        assert rel_error(node.grad.ravel(), num).max() < 1e-6


def test_graph_crf_equals_hand_crf():
    S, y, lengths, A, start, end = crf_inputs(5, K=4, lengths=(5, 1, 2, 7))
    loss, nodes = graph_crf(S, y, lengths, A, start, end)
    loss.backward()
    h_loss, dS, d = crf.crf_loss(S, y, np.array(lengths), A, start, end)
    assert h_loss == pytest.approx(float(loss.value), rel=1e-12)
    for node, g in zip(nodes, (dS, d["A"], d["start"], d["end"])):
        assert rel_error(node.grad, g).max() < 1e-10


def test_crf_lengths_must_cover_the_batch():
    S, y, _, A, start, end = crf_inputs()
    with pytest.raises(ValueError):
        graph_crf(S, y, [3, 3], A, start, end)
