"""Tests for nertag.training.step: one training step is loss_and_grads and one optimiser
step (either backend), each phase ticked; a loss or a gradient that is not finite raises
Diverged before anything is updated."""

from __future__ import annotations

import types

import numpy as np
import pytest

from nertag.nn import gradcheck as gc
from nertag.nn.optim import Optimizer
from nertag.nn.sparse import SparseRows
from nertag.nn.window import loss_and_grads
from nertag.training import step


def problem(head: str = "softmax"):
    """A small float64 problem and a model (arch + a copy of the params) to train."""
    p = gc.default_problem(seed=1, head=head)
    model = types.SimpleNamespace(arch=p.arch,
                                  params={k: v.copy() for k, v in p.params.items()})
    return p, model


def test_nonfinite_grad_names_the_first_bad_parameter():
    ok = SparseRows(np.array([0]), np.ones((1, 2)), (5, 2))
    bad = SparseRows(np.array([1, 3]), np.array([[0.0, 1.0], [np.nan, 2.0]]), (5, 2))
    assert step.nonfinite_grad({"E_word": ok, "W": np.ones((2, 2)), "b": np.zeros(2)}) is None
    assert step.nonfinite_grad({"E_word": bad, "W": np.array([np.inf])}) == "E_word"
    assert step.nonfinite_grad({"E_word": ok, "W": np.array([1.0, -np.inf]),
                                "U": np.array([np.nan])}) == "W"
    assert step.nonfinite_grad({}) is None


@pytest.mark.parametrize("backend", ["hand", "graph"])
@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_a_step_is_loss_and_grads_then_one_update(backend, head):
    p, model = problem(head)
    loss_ref, grads = loss_and_grads(p.params, p.X, p.y, p.arch, lengths=p.lengths)
    expected = {k: v.copy() for k, v in p.params.items()}
    Optimizer("sgd", 0.1).step(expected, grads)
    phases, norms = [], {}
    loss = step.train_step(model, Optimizer("sgd", 0.1), p.X.copy(), p.y, p.lengths,
                           np.random.default_rng(0), backend=backend, norms=norms,
                           tick=phases.append)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    for k in expected:
        np.testing.assert_allclose(model.params[k], expected[k], rtol=1e-12, atol=1e-14)
    assert phases == ["data"] + (["forward"] if backend == "hand" else []) + [
        "backward", "other", "embedding_update", "dense_update"]
    assert set(norms) == set(p.arch.shapes()) and all(v > 0 for v in norms.values())


@pytest.mark.parametrize("loss, bad, message", [
    (float("nan"), None, "the loss is nan"),
    (1.5, "U", "the gradient of U is not finite (loss 1.5)"),
    (float("inf"), "E_word", "the gradient of E_word is not finite (loss inf)"),
])
def test_divergence_is_raised_before_any_update(monkeypatch, loss, bad, message):
    p, model = problem()
    before = {k: v.copy() for k, v in model.params.items()}
    _, grads = loss_and_grads(p.params, p.X, p.y, p.arch)
    if bad == "U":
        grads["U"][0, 0] = np.nan
    elif bad == "E_word":
        grads["E_word"].rows[0, 0] = np.inf
    monkeypatch.setitem(step.LOSS_AND_GRADS, "hand", lambda *a, **k: (loss, grads))
    opt = Optimizer("adam", 0.1)
    with pytest.raises(step.Diverged) as e:
        step.train_step(model, opt, p.X.copy(), p.y, None, np.random.default_rng(0))
    assert e.value.what == message and isinstance(e.value, FloatingPointError)
    assert opt.state == {}
    for k in before:
        np.testing.assert_array_equal(model.params[k], before[k])
