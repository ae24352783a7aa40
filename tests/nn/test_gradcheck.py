"""Tests for nertag.nn.gradcheck, including proof that the check can fail."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nertag.nn import gradcheck as gc
from nertag.nn import layers
from nertag.nn import window as model
from nertag.nn.activations import activation
from nertag.nn.sparse import SparseRows
from nertag.nn.arch import Arch

TOL = gc.MODEL_TOL


def failing(checks, tol=TOL):
    return {c.name for c in checks if not c.passed(tol)}


# ------------------------------------------------------------------ basics
def test_rel_error():
    np.testing.assert_allclose(gc.rel_error(np.array([1.0, 0.0, -1.0]), np.array([1.0, 0.0, 1.0])),
                               [0.0, 0.0, 1.0])
    sparse = SparseRows(np.array([1]), np.array([[2.0]]), (2, 1))
    assert gc.rel_error(sparse, np.array([[0.0], [2.0]])).max() == 0


def test_numeric_grad_central_differences_and_restores():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    num = gc.numeric_grad(lambda: float(np.sum(x ** 3)), x, 1e-4, [0, 3])
    np.testing.assert_allclose(num, 3 * before.ravel()[[0, 3]] ** 2, rtol=1e-7)
    np.testing.assert_array_equal(x, before)


# ------------------------------------------------------------------ the default check
@pytest.mark.parametrize("head", ["softmax", "binary", "crf"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "hardtanh"])
def test_default_problem_passes(head, activation):
    p = gc.default_problem(head=head, activation=activation)
    checks = gc.check_model(p.params, p.X, p.y, p.arch, lengths=p.lengths)
    assert [c.name for c in checks] == list(p.arch.shapes())
    assert all(c.entries_checked == int(np.prod(c.shape)) for c in checks)
    assert failing(checks) == set(), gc.to_json(checks, TOL)
    assert all(c.graph_vs_numeric is not None for c in checks)
    assert max(c.hand_vs_graph for c in checks) < 1e-10


def test_default_problem_with_dropout_masks_passes():
    p = gc.default_problem(seed=4, head="softmax", activation="relu", dropout=0.4)
    assert (p.masks[0] == 0).any() and (p.masks[1] == 0).any()
    assert failing(gc.check_model(p.params, p.X, p.y, p.arch, masks=p.masks)) == set()


def test_default_check_is_fast():
    p = gc.default_problem(head="crf")
    start = time.perf_counter()
    gc.check_model(p.params, p.X, p.y, p.arch, lengths=p.lengths)
    assert time.perf_counter() - start < 5.0


def test_samples_are_seeded_and_counted():
    p = gc.default_problem()
    a = gc.check_model(p.params, p.X, p.y, p.arch, samples=4, rng=np.random.default_rng(1))
    b = gc.check_model(p.params, p.X, p.y, p.arch, samples=4, rng=np.random.default_rng(1))
    assert a == b
    assert {c.name: c.entries_checked for c in a} == {
        n: min(4, int(np.prod(s))) for n, s in p.arch.shapes().items()}


def test_check_model_does_not_touch_the_callers_params():
    p = gc.default_problem()
    params32 = {k: v.astype(np.float32) for k, v in p.params.items()}
    copy = {k: v.copy() for k, v in params32.items()}
    gc.check_model(params32, p.X, p.y, p.arch, samples=3)
    assert all(np.array_equal(copy[k], params32[k]) for k in copy)


# ------------------------------------------------------------------ proof the check can fail
def square_problem():
    """W square (H = n·D = 9) so that a missing transpose still has the right shape."""
    rng = np.random.default_rng(7)
    arch = Arch([("word", 9, 2), ("caps", 4, 1)], window=1, hidden=9, n_labels=5)
    params = model.init_params(arch, rng, np.float64, init_scale=0.5)
    params["b"], params["c"] = rng.normal(size=9), rng.normal(size=5)
    X = np.stack([rng.integers(0, 9, (10, 3)), rng.integers(0, 4, (10, 3))], axis=2)
    return params, X, rng.integers(0, 5, 10), arch


def check_broken(params, X, y, arch):
    checks = gc.check_model(params, X, y, arch)
    bad = [c for c in checks if not c.passed(TOL)]
    assert all(c.graph_vs_numeric <= TOL for c in checks)           # the graph is not broken
    assert all(c.hand_vs_numeric > 1e-3 and c.hand_vs_graph > 1e-3 for c in bad)  # by far
    return {c.name for c in bad}


def test_correct_square_problem_passes():
    assert check_broken(*square_problem()) == set()


def test_missing_transpose_in_dW_fails_only_W(monkeypatch):
    right = layers.affine_backward

    def wrong(dz, cache):
        dx, dW, db = right(dz, cache)
        x, W = cache
        if W.shape[0] == W.shape[1]:        # the first layer (U is 5×9, not square)
            dW = x.T @ dz                   # should be δᵀx: (O, I), this is (I, O)
        return dx, dW, db
    monkeypatch.setattr(layers, "affine_backward", wrong)
    assert check_broken(*square_problem()) == {"W"}


def test_missing_transpose_in_dx_fails_only_embeddings(monkeypatch):
    right = layers.affine_backward

    def wrong(dz, cache):
        dx, dW, db = right(dz, cache)
        x, W = cache
        if W.shape[0] == W.shape[1]:
            dx = dz @ W.T                   # should be δW
        return dx, dW, db
    monkeypatch.setattr(layers, "affine_backward", wrong)
    assert check_broken(*square_problem()) == {"E_word", "E_caps"}


def test_dropped_fan_out_sum_fails_only_embeddings(monkeypatch):
    def overwrite(dx, cache):               # repeated ids: the last one wins, no sum
        ids, shapes = cache                 # ids: (F, B·n)
        dx = dx.reshape(ids.shape[1], -1)
        grads, off = [], 0
        for f, (V, d) in enumerate(shapes):
            dense = np.zeros((V, d))
            dense[ids[f]] = dx[:, off:off + d]
            used = np.unique(ids[f])
            grads.append(SparseRows(used, dense[used], (V, d)))
            off += d
        return grads
    monkeypatch.setattr(layers, "embed_backward", overwrite)
    p = gc.default_problem()
    assert check_broken(p.params, p.X, p.y, p.arch) == {"E_word", "E_caps"}


def test_wrong_activation_derivative_fails_below_the_activation(monkeypatch):
    f, _ = activation("tanh")  # a bug in the hand path only (the graph has its own lookup)
    monkeypatch.setattr(layers, "activation", lambda kind: (f, lambda z, h: 1 - z * z)
                        if kind == "tanh" else activation(kind))      # should be 1 − h²
    p = gc.default_problem(activation="tanh")
    assert check_broken(p.params, p.X, p.y, p.arch) == {"W", "b", "E_word", "E_caps", "C_char",
                                                        "K_char", "b_char"}


def test_broken_graph_is_caught_too():
    """Inject a graph whose gradient for c is doubled: only c fails, hand stays clean."""
    from nertag.nn.graph_window import graph_loss_and_grads

    def broken(*args, **kw):
        loss, grads = graph_loss_and_grads(*args, **kw)
        grads["c"] = 2 * grads["c"]
        return loss, grads
    p = gc.default_problem()
    checks = gc.check_model(p.params, p.X, p.y, p.arch, graph=broken)
    assert failing(checks) == {"c"}
    assert all(c.hand_vs_numeric <= TOL for c in checks)


def test_a_kink_crossed_at_h_is_taken_again_with_a_smaller_h():
    """Two windows of a word 3e-5 apart (filter [1, 1, −5] over characters with vectors
    0, 3e-5 and 1): moving C[3] by h = 1e-4 makes the other window win, so that central
    difference straddles the max's kink; h/10 does not, and the entry passes."""
    from nertag.nn.arch import CharArch

    arch = Arch([("word", 4, 1)], window=0, hidden=2, n_labels=2,
                chars=CharArch(A=5, c=1, m=1, k=3, L=7))
    rng = np.random.default_rng(0)
    params = model.init_params(arch, rng, np.float64, init_scale=0.5)
    params["C_char"] = np.array([[0.0], [0.0], [0.0], [3e-5], [1.0]])
    params["K_char"] = np.array([[1.0, 1.0, -5.0]])
    X = np.array([[[3, 0, 3, 4, 1, 1, 1, 1]]])          # z = [−5, 1.00003, 1, 0, 0]
    y = np.array([1])
    _, grads = model.loss_and_grads(params, X, y, arch)

    def f():
        return model.loss_and_grads(params, X, y, arch)[0]
    crossed = gc.numeric_grad(f, params["C_char"], 1e-4, [3])
    assert gc.rel_error(grads["C_char"].dense()[3], crossed).max() > 0.1
    checks = {c.name: c for c in gc.check_model(params, X, y, arch)}
    assert checks["C_char"].hand_vs_numeric < 1e-7 and failing(checks.values()) == set()
