"""Tests for nertag.nn.graph (the backprop engine) and nertag.nn.graph_window (model + CRF on it)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nertag.nn import crf
from nertag.nn import graph as G
from nertag.nn import graph_window as graph_model
from nertag.nn import window as model
from nertag.nn.gradcheck import OP_TOL, check_ops, default_problem, numeric_grad, rel_error
from nertag.nn.sparse import SparseRows

OP_CHECKS = check_ops(np.random.default_rng(0))
HEADS = ["softmax", "binary", "crf"]
ACTIVATIONS = ["tanh", "sigmoid", "relu", "hardtanh"]


def dense(g):
    return g.dense() if isinstance(g, SparseRows) else g


# ------------------------------------------------------------------ single ops
@pytest.mark.parametrize("check", OP_CHECKS, ids=lambda c: f"{c.op}-{c.input}")
def test_op_backward_matches_central_differences(check):
    assert check.passed(OP_TOL), check


def test_every_op_is_checked():
    # every op of the engine, and the two losses built from them
    assert {c.op.split(" (")[0] for c in OP_CHECKS} == set(G.OPS) | {"softmax_ce", "sigmoid_bce"}


def test_embedding_gradient_is_sparse_and_sums_repeated_ids():
    table = G.Node(np.arange(12.0).reshape(4, 3), name="E")
    ids = np.array([[1, 3], [1, 1]])
    G.sum(G.embedding(table, ids)).backward()
    assert isinstance(table.grad, SparseRows)
    assert table.grad.ids.tolist() == [1, 3]
    np.testing.assert_array_equal(table.grad.dense()[:, 0], [0, 3, 0, 1])


# ------------------------------------------------------------------ the engine
def test_fan_out_gradients_sum():
    # x feeds two nodes: J = Σ x∘x + 3 Σ x  ->  ∂J/∂x = 2x + 3 (both uses add up)
    x = G.Node(np.array([1.0, -2.0, 0.5]))
    J = G.add(G.sum(G.mul(x, x)), G.scale(G.sum(x), 3.0))
    J.backward()
    np.testing.assert_allclose(x.grad, 2 * x.value + 3)


def test_fan_out_sparse_and_dense_sum():
    # one table used by two lookups and densely: all three contributions add up
    E = G.Node(np.ones((3, 2)))
    J = G.add(G.add(G.sum(G.embedding(E, [0, 2])), G.sum(G.embedding(E, [2]))), G.sum(E))
    J.backward()
    np.testing.assert_array_equal(dense(E.grad)[:, 0], [2, 1, 3])


def test_assigning_instead_of_summing_is_caught(monkeypatch):
    """Proof the fan-out test can fail: an engine that overwrites loses a use."""
    def assign(node, g):
        node.grad = np.array(g, dtype=float).reshape(node.shape)
    monkeypatch.setattr(G, "_accumulate", assign)
    x = G.Node(np.array([1.0, -2.0, 0.5]))
    G.add(G.sum(G.mul(x, x)), G.scale(G.sum(x), 3.0)).backward()
    assert not np.allclose(x.grad, 2 * x.value + 3)


def test_diamond_topological_order_and_gradient():
    #      a
    #    /   \
    #   b     c        b = tanh(a), c = sigmoid(a), d = Σ b∘c
    #    \   /
    #      d
    a = G.Node(np.array([0.3, -1.2, 2.0]), name="a")
    b, c = G.activate(a, "tanh"), G.activate(a, "sigmoid")
    m = G.mul(b, c)
    d = G.sum(m)
    order = G.topological_order(d)
    pos = {id(n): i for i, n in enumerate(order)}
    assert len(order) == len(pos) == 5                         # each node exactly once
    assert pos[id(a)] < min(pos[id(b)], pos[id(c)])
    assert max(pos[id(b)], pos[id(c)]) < pos[id(m)] < pos[id(d)] == 4
    d.backward()
    values = a.value.copy()
    num = numeric_grad(lambda: float(G.sum(G.mul(G.activate(values, "tanh"), G.activate(values, "sigmoid"))).value),
                       values, 1e-5)
    assert rel_error(a.grad, num).max() < 1e-8


def test_deep_chain_has_no_recursion_limit():
    x = G.Node(np.array([0.5]))
    y = x
    for _ in range(5000):
        y = G.scale(y, 1.0)
    G.sum(y).backward()
    assert x.grad[0] == 1.0


def test_backward_needs_a_scalar_and_can_be_repeated():
    x = G.Node(np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        G.activate(x, "tanh").backward()
    J = G.sum(G.mul(x, x))
    J.backward()
    J.backward()                     # gradients are reset, not accumulated across calls
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


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
        assert isinstance(g, SparseRows) == name.startswith("E_"), name
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
