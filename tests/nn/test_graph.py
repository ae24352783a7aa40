"""Tests for nertag.nn.graph (the backprop engine): every op against central differences,
fan-out sums, topological order, and the engine's limits."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.nn import graph as G
from nertag.nn.gradcheck import OP_TOL, check_ops, numeric_grad, rel_error
from nertag.nn.sparse import SparseRows

OP_CHECKS = check_ops(np.random.default_rng(0))


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
