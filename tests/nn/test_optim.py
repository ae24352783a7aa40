"""Tests for nertag.nn.optim: exact single- and multi-step values, sparse row updates,
L2, clipping, frozen parameters and the checkpoint round trip of the state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nertag.nn import optim
from nertag.nn.sparse import SparseRows
from nertag.nn.optim import Optimizer


def rng_arrays(seed=0, shape=(4, 3)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), rng.normal(size=shape)


# ------------------------------------------------------------------ dense rules
def test_sgd_one_step_exact():
    theta, g = rng_arrays()
    p = theta.copy()
    optim.sgd(p, g, {}, lr=0.3)
    np.testing.assert_array_equal(p, theta - 0.3 * g)


def test_adagrad_two_steps_exact():
    theta, g1 = rng_arrays(1)
    _, g2 = rng_arrays(2)
    p, st = theta.copy(), {}
    optim.adagrad(p, g1, st, lr=0.5)
    G1 = g1 * g1
    exp1 = theta - 0.5 * g1 / (np.sqrt(G1) + 1e-8)
    np.testing.assert_allclose(p, exp1, rtol=1e-15, atol=1e-15)
    # first step is θ − α·sign(g) up to ε
    np.testing.assert_allclose(p, theta - 0.5 * np.sign(g1), atol=1e-8 / np.abs(g1).min())
    optim.adagrad(p, g2, st, lr=0.5)
    G2 = G1 + g2 * g2
    np.testing.assert_allclose(st["sq_grad_sum"], G2, rtol=1e-15)
    np.testing.assert_allclose(p, exp1 - 0.5 * g2 / (np.sqrt(G2) + 1e-8), rtol=1e-14, atol=1e-15)


# optim.adam implements the documented θ ← θ − α m̂/(√v̂ + ε). Set this to True to check the
# "efficient" ε̂ form θ ← θ − α·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε) instead.
ADAM_EPS_ON_SQRT_V = False


def adam_reference(theta, grads, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Dense Adam written out step by step."""
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    p = theta.copy()
    for t, g in enumerate(grads, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if ADAM_EPS_ON_SQRT_V:
            p = p - lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
        else:
            p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return p


def test_adam_first_step_exact_and_close_to_sign():
    theta, g = rng_arrays(3)
    p, st = theta.copy(), {}
    optim.adam(p, g, st, lr=0.01)
    np.testing.assert_allclose(p, adam_reference(theta, [g], 0.01), rtol=1e-15, atol=1e-17)
    # m̂ = g, v̂ = g²: the first step is α·g/(|g| + ε') ≈ α·sign(g)
    assert np.abs(g).min() > 1e-2
    np.testing.assert_allclose(p, theta - 0.01 * np.sign(g), rtol=0, atol=0.01 * 1e-6 / np.abs(g).min())
    assert st["t"] == 1
    np.testing.assert_allclose(st["m"], 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(st["v"], 0.001 * g * g, rtol=1e-14)


def test_adam_three_steps_exact():
    theta, _ = rng_arrays(4)
    grads = [rng_arrays(s)[1] for s in (5, 6, 7)]
    p, st = theta.copy(), {}
    for g in grads:
        optim.adam(p, g, st, lr=0.05)
    np.testing.assert_allclose(p, adam_reference(theta, grads, 0.05), rtol=1e-13, atol=1e-15)
    assert st["t"] == 3


def test_adam_matches_its_documented_formula_for_tiny_gradients():
    theta = np.zeros(3)
    g = np.array([1e-7, -3e-7, 1e-6])
    p = theta.copy()
    optim.adam(p, g, {}, lr=1.0)
    m_hat, v_hat = g, g * g                      # bias-corrected moments at t = 1
    np.testing.assert_allclose(p, theta - m_hat / (np.sqrt(v_hat) + 1e-8), rtol=1e-6)


# ------------------------------------------------------------------ sparse rows
def sparse_and_dense(seed=0, V=10, d=3, ids=(1, 4, 7)):
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(len(ids), d))
    sp = SparseRows(np.array(ids), rows, (V, d))
    return sp, sp.dense()


@pytest.mark.parametrize("rule", ["sgd", "adagrad"])
def test_sparse_update_equals_dense_exactly(rule):
    theta = np.random.default_rng(9).normal(size=(10, 3))
    ps, pd, ss, sd = theta.copy(), theta.copy(), {}, {}
    for step in range(3):   # the same rows each step: identical arithmetic on those rows
        sp, dn = sparse_and_dense(step)
        optim.UPDATES[rule](ps, sp, ss, lr=0.2)
        optim.UPDATES[rule](pd, dn, sd, lr=0.2)
    named = [1, 4, 7]
    np.testing.assert_array_equal(ps[named], pd[named])
    other = np.setdiff1d(np.arange(10), named)
    np.testing.assert_array_equal(ps[other], theta[other])       # untouched
    if rule == "adagrad":
        np.testing.assert_array_equal(ss["sq_grad_sum"][named], sd["sq_grad_sum"][named])
        assert not ss["sq_grad_sum"][other].any()


def test_sparse_sgd_and_adagrad_touch_only_named_rows_with_varying_rows():
    theta = np.random.default_rng(10).normal(size=(6, 2))
    for rule in ("sgd", "adagrad"):
        p, st = theta.copy(), {}
        optim.UPDATES[rule](p, SparseRows(np.array([0, 5]), np.ones((2, 2)), (6, 2)), st, lr=0.1)
        before = p.copy()
        optim.UPDATES[rule](p, SparseRows(np.array([2]), np.ones((1, 2)), (6, 2)), st, lr=0.1)
        np.testing.assert_array_equal(p[[0, 1, 3, 4, 5]], before[[0, 1, 3, 4, 5]])
        assert (p[2] != before[2]).all()


def test_lazy_adam_named_rows_equal_dense_adam():
    theta = np.random.default_rng(11).normal(size=(10, 3))
    ps, pd, ss, sd = theta.copy(), theta.copy(), {}, {}
    for step in range(4):
        sp, dn = sparse_and_dense(step)
        optim.adam(ps, sp, ss, lr=0.03)
        optim.adam(pd, dn, sd, lr=0.03)
    named = [1, 4, 7]
    other = np.setdiff1d(np.arange(10), named)
    np.testing.assert_allclose(ps[named], pd[named], rtol=1e-15, atol=1e-16)
    np.testing.assert_array_equal(ps[other], theta[other])
    np.testing.assert_allclose(ss["m"][named], sd["m"][named], rtol=1e-15)
    np.testing.assert_allclose(ss["v"][named], sd["v"][named], rtol=1e-15)
    assert ss["t"] == sd["t"] == 4


def test_lazy_adam_leaves_rows_without_gradient_and_their_moments_alone():
    theta = np.zeros((5, 2))
    p, st = theta.copy(), {}
    optim.adam(p, SparseRows(np.array([0, 3]), np.ones((2, 2)), (5, 2)), st, lr=0.1)
    row0, m0, v0 = p[0].copy(), st["m"][0].copy(), st["v"][0].copy()
    optim.adam(p, SparseRows(np.array([3]), np.ones((1, 2)), (5, 2)), st, lr=0.1)
    # dense Adam would move row 0 again by momentum; lazy Adam does not
    np.testing.assert_array_equal(p[0], row0)
    np.testing.assert_array_equal(st["m"][0], m0)
    np.testing.assert_array_equal(st["v"][0], v0)
    # row 3 had the same gradient twice: its update equals dense Adam on that row
    np.testing.assert_allclose(p[3], adam_reference(np.zeros(2), [np.ones(2)] * 2, 0.1),
                               rtol=1e-15)


# ------------------------------------------------------------------ Optimizer
def params_and_grads(seed=0):
    rng = np.random.default_rng(seed)
    params = {"E_word": rng.normal(size=(6, 2)), "W": rng.normal(size=(3, 4)),
              "b": rng.normal(size=3), "U": rng.normal(size=(2, 3)), "c": rng.normal(size=2)}
    grads = {"E_word": SparseRows(np.array([1, 4]), rng.normal(size=(2, 2)), (6, 2)),
             "W": rng.normal(size=(3, 4)), "b": rng.normal(size=3),
             "U": rng.normal(size=(2, 3)), "c": rng.normal(size=2)}
    return params, grads


def test_l2_is_added_to_W_U_and_the_character_filters_only():
    params, grads = params_and_grads()
    rng = np.random.default_rng(5)
    params.update(K_char=rng.normal(size=(2, 6)), C_char=rng.normal(size=(5, 2)),
                  b_char=rng.normal(size=2))
    grads.update(K_char=rng.normal(size=(2, 6)), b_char=rng.normal(size=2),
                 C_char=SparseRows(np.array([0, 3]), rng.normal(size=(2, 2)), (5, 2)))
    before = {k: v.copy() for k, v in params.items()}
    Optimizer("sgd", lr=0.5, l2=0.1).step(params, dict(grads))
    for k in ("b_char", "C_char"):
        g = grads[k].dense() if isinstance(grads[k], SparseRows) else grads[k]
        np.testing.assert_array_equal(params[k], before[k] - 0.5 * g)
    for k in ("W", "U", "K_char"):
        np.testing.assert_allclose(params[k], before[k] - 0.5 * (grads[k] + 0.1 * before[k]),
                                   rtol=1e-15, atol=1e-15)
    for k in ("b", "c"):
        np.testing.assert_array_equal(params[k], before[k] - 0.5 * grads[k])
    np.testing.assert_array_equal(params["E_word"],
                                  before["E_word"] - 0.5 * grads["E_word"].dense())


@pytest.mark.parametrize("rule", ["sgd", "adagrad", "adam"])
def test_lr_scales_multiply_the_named_parameters_rate_only(rule):
    """lr_scales={"E_word": 10}: E_word moves as with lr 10·α, every other parameter as
    with α (embeddings.lr_scale)."""
    params, grads = params_and_grads(3)
    scaled = {k: v.copy() for k, v in params.items()}
    plain = {k: v.copy() for k, v in params.items()}
    fast = {k: v.copy() for k, v in params.items()}
    Optimizer(rule, lr=0.05, lr_scales={"E_word": 10.0}).step(scaled, dict(grads))
    Optimizer(rule, lr=0.05).step(plain, dict(grads))
    Optimizer(rule, lr=0.5).step(fast, dict(grads))
    np.testing.assert_array_equal(scaled["E_word"], fast["E_word"])
    assert not np.array_equal(scaled["E_word"], plain["E_word"])
    for k in params:
        if k != "E_word":
            np.testing.assert_array_equal(scaled[k], plain[k])


def test_clipping_scales_global_norm_to_clip_norm():
    params, grads = params_and_grads(1)
    before = {k: v.copy() for k, v in params.items()}
    norm = optim.global_norm(grads)
    expected_norm = math.sqrt(sum(
        float(np.sum((g.dense() if isinstance(g, SparseRows) else g) ** 2)) for g in grads.values()))
    assert np.isclose(norm, expected_norm, rtol=1e-14)
    clip = norm / 4
    Optimizer("sgd", lr=1.0, clip_norm=clip).step(params, dict(grads))
    deltas = {k: before[k] - params[k] for k in params}
    total = math.sqrt(sum(float(np.sum(d * d)) for d in deltas.values()))
    assert np.isclose(total, clip, rtol=1e-10)
    for k, g in grads.items():        # every gradient scaled by the same factor
        gd = g.dense() if isinstance(g, SparseRows) else g
        np.testing.assert_allclose(deltas[k], gd * (clip / norm), rtol=1e-10, atol=1e-15)


def test_no_clipping_below_the_threshold():
    params, grads = params_and_grads(2)
    before = {k: v.copy() for k, v in params.items()}
    Optimizer("sgd", lr=1.0, clip_norm=optim.global_norm(grads) * 1.01).step(params, dict(grads))
    np.testing.assert_array_equal(params["W"], before["W"] - grads["W"])


def test_frozen_parameters_are_unchanged():
    params, grads = params_and_grads(3)
    before = {k: v.copy() for k, v in params.items()}
    opt = Optimizer("adam", lr=0.1, frozen=("E_word",))
    opt.step(params, dict(grads))
    np.testing.assert_array_equal(params["E_word"], before["E_word"])
    assert "E_word" not in opt.state
    assert not np.array_equal(params["W"], before["W"])


@pytest.mark.parametrize("kind", ["sgd", "adagrad", "adam"])
def test_state_arrays_round_trip(kind, tmp_path):
    params, _ = params_and_grads(4)
    a = Optimizer(kind, lr=0.05)
    for s in (5, 6):
        a.step(params, params_and_grads(s)[1])
    arrays = a.state_arrays()
    np.savez(tmp_path / "opt.npz", **arrays)
    with np.load(tmp_path / "opt.npz") as z:
        loaded = {k: z[k] for k in z.files}
    b = Optimizer(kind, lr=0.05)
    b.load_state_arrays(loaded)
    assert set(b.state) == {n for n, st in a.state.items() if st}   # sgd keeps no state
    for name, st in b.state.items():
        st = a.state[name]
        assert set(b.state[name]) == set(st)
        for k, v in st.items():
            if k == "t":
                assert b.state[name][k] == v and isinstance(b.state[name][k], int)
            else:
                np.testing.assert_array_equal(b.state[name][k], v)
                assert b.state[name][k] is not v
    # continuing from the loaded state gives bit-identical parameters
    pa = {k: v.copy() for k, v in params.items()}
    pb = {k: v.copy() for k, v in params.items()}
    g = params_and_grads(7)[1]
    a.step(pa, dict(g))
    b.step(pb, dict(g))
    for k in pa:
        np.testing.assert_array_equal(pa[k], pb[k])


def test_grad_norms():
    _, grads = params_and_grads(8)
    norms = optim.grad_norms(grads)
    assert np.isclose(norms["W"], np.linalg.norm(grads["W"]))
    assert np.isclose(norms["E_word"], np.linalg.norm(grads["E_word"].rows))
    assert np.isclose(optim.global_norm(grads), math.sqrt(sum(v * v for v in norms.values())))


def test_adagrad_state_of_an_older_checkpoint_loads_under_its_new_name():
    """Checkpoints written before the rename keep Adagrad's Σg² as "W.G"."""
    from nertag.nn.optim import Optimizer

    opt = Optimizer("adagrad", 0.1)
    opt.load_state_arrays({"W.G": np.full((2, 2), 4.0)})
    assert list(opt.state["W"]) == ["sq_grad_sum"]
    param = np.zeros((2, 2))
    opt.step({"W": param}, {"W": np.ones((2, 2))})
    np.testing.assert_allclose(param, -0.1 / (np.sqrt(5.0) + 1e-8))
