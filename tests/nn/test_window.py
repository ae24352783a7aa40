"""Tests for nertag.nn.window (the hand-derived window model): initialisation, the forward
pass written out by hand, and every hand-derived gradient against central differences
(own loop, float64)."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.nn import gradcheck as gc
from nertag.nn import layers as L
from nertag.nn import window as M
from nertag.nn.activations import activation
from nertag.nn.sparse import SparseRows
from nertag.nn.arch import Arch

HEADS = ["softmax", "binary", "crf"]
ACTIVATIONS = ["tanh", "sigmoid", "relu", "hardtanh"]
EPS = 1e-5          # central-difference step
TOL = 1e-6          # largest relative error that passes
FLOOR = 1e-4        # |a|+|b| floor: entries below ~1e-4 must agree to 1e-10 absolutely
                    # (rounding noise of the differences is ~eps_mach·J/h ≈ 3e-11)


def make_problem(head: str, activation: str, seed: int = 3, dropout: float = 0.3):
    """A float64 model with 3 features, window 1, and a batch of 3 sentences (lengths 4, 1, 5)
    with repeated words (same id several times in one batch and in one window)."""
    rng = np.random.default_rng(seed)
    arch = Arch([("word", 8, 3), ("caps", 5, 2), ("suffix2", 6, 2)], window=1, hidden=6,
                n_labels=4, activation=activation, head=head)
    params = M.init_params(arch, rng, np.float64, init_scale=0.6)
    params["W"] *= 2.5               # reach the non-linear / saturated parts of f
    for k in ("b", "c", "A", "start", "end"):
        if k in params:
            params[k] = rng.normal(0, 0.5, params[k].shape)
    lengths = [4, 1, 5]
    words = np.array([3, 4, 3, 3, 7, 5, 3, 6, 6, 4])      # 3 four times, 6 twice in a row
    caps = np.array([3, 4, 3, 3, 5, 6, 3, 4, 4, 7]) % 5
    suff = words % 6
    rows = []
    o = 0
    for T in lengths:
        for t in range(T):
            win = []
            for k in (t - 1, t, t + 1):
                if k < 0:
                    win.append([0, 0, 0])
                elif k >= T:
                    win.append([1, 1, 1])
                else:
                    win.append([words[o + k], caps[o + k], suff[o + k]])
            rows.append(win)
        o += T
    X = np.array(rows)
    y = rng.integers(0, arch.n_labels, len(X))
    B = len(X)
    masks = (None, None)
    if dropout:
        masks = tuple((rng.random(s) >= dropout) / (1 - dropout)
                      for s in ((B, arch.input_dim), (B, arch.hidden)))
    return params, X, y, arch, masks, (lengths if head == "crf" else None)


def dense(g) -> np.ndarray:
    return g.dense() if isinstance(g, SparseRows) else np.asarray(g)


# ------------------------------------------------------------------ init
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_params_deterministic_and_bounded(dtype):
    arch = Arch([("word", 50, 4), ("caps", 8, 2)], window=2, hidden=10, n_labels=5, head="crf")
    a = M.init_params(arch, np.random.default_rng(42), dtype, init_scale=0.2)
    b = M.init_params(arch, np.random.default_rng(42), dtype, init_scale=0.2)
    c = M.init_params(arch, np.random.default_rng(43), dtype, init_scale=0.2)
    assert set(a) == set(arch.shapes())
    for k, shape in arch.shapes().items():
        assert a[k].shape == shape and a[k].dtype == dtype
        np.testing.assert_array_equal(a[k], b[k])
    for k in ("E_word", "E_caps", "W", "U"):
        assert not np.array_equal(a[k], c[k])
    assert np.abs(a["E_word"]).max() <= 0.2 and np.abs(a["E_word"]).max() > 0.15
    lim_W = np.sqrt(6 / (10 + 30))
    assert np.abs(a["W"]).max() <= lim_W and np.abs(a["W"]).max() > 0.9 * lim_W
    assert np.abs(a["U"]).max() <= np.sqrt(6 / 15)
    for k in ("b", "c", "A", "start", "end"):
        assert not a[k].any()


# ------------------------------------------------------------------ forward
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_equals_formula_written_out(activation):
    params, X, y, arch, masks, _ = make_problem("softmax", activation)
    s, _ = M.forward(params, X, arch, masks)
    assert s.shape == (len(X), arch.n_labels)
    f = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
         "relu": lambda z: np.maximum(z, 0), "hardtanh": lambda z: np.clip(z, -1, 1)}[activation]
    for i in range(len(X)):
        x = np.concatenate([np.concatenate([params["E_word"][X[i, p, 0]],
                                            params["E_caps"][X[i, p, 1]],
                                            params["E_suffix2"][X[i, p, 2]]])
                            for p in range(arch.n)])
        x = x * masks[0][i]
        h = f(params["W"] @ x + params["b"]) * masks[1][i]
        np.testing.assert_allclose(s[i], params["U"] @ h + params["c"], rtol=1e-12, atol=1e-13)


def test_scores_batches_equal_one_forward_and_empty():
    params, X, y, arch, _, _ = make_problem("softmax", "tanh", dropout=0)
    s, _ = M.forward(params, X, arch)
    np.testing.assert_allclose(M.scores(params, X, arch, batch=3), s, rtol=0, atol=1e-15)
    assert M.scores(params, X[:0], arch).shape == (0, arch.n_labels)


def test_forward_float32_stays_float32():
    params, X, y, arch, _, _ = make_problem("softmax", "tanh", dropout=0)
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    s, _ = M.forward(p32, X, arch)
    assert s.dtype == np.float32
    loss, grads = M.loss_and_grads(p32, X, y, arch)
    assert all(dense(g).dtype == np.float32 for g in grads.values())


# ------------------------------------------------------------------ gradients
def check_preconditions(params, X, arch, masks):
    """The check is only meaningful away from kinks and with some units in each regime."""
    x, _ = L.embed_forward(X, M.tables(params, arch))
    z = (x * masks[0]) @ params["W"].T + params["b"]
    if arch.activation == "relu":
        assert np.abs(z).min() > 100 * EPS
        assert (z > 0).any() and (z < 0).any()
    if arch.activation == "hardtanh":
        assert np.abs(np.abs(z) - 1).min() > 100 * EPS
        assert (np.abs(z) < 1).any() and (np.abs(z) > 1).any()


def central_difference_errors(params, X, y, arch, masks, lengths) -> dict[str, float]:
    """Largest relative error of each hand-derived gradient against an own central-difference
    loop over every entry of every parameter."""
    loss, grads = M.loss_and_grads(params, X, y, arch, masks=masks, lengths=lengths)
    assert set(grads) == set(arch.shapes())
    out = {}
    for name, shape in arch.shapes().items():
        hand = dense(grads[name])
        assert hand.shape == shape
        p = params[name]
        num = np.zeros(shape)
        for ix in np.ndindex(*shape):
            old = p[ix]
            p[ix] = old + EPS
            fp = M.loss_and_grads(params, X, y, arch, masks=masks, lengths=lengths)[0]
            p[ix] = old - EPS
            fm = M.loss_and_grads(params, X, y, arch, masks=masks, lengths=lengths)[0]
            p[ix] = old
            num[ix] = (fp - fm) / (2 * EPS)
        err = np.abs(hand - num) / np.maximum(np.abs(hand) + np.abs(num), FLOOR)
        out[name] = float(err.max())
        assert np.abs(hand).max() > 1e-4, name  # not trivially zero
    return out


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_gradient_matches_central_differences(head, activation):
    params, X, y, arch, masks, lengths = make_problem(head, activation)
    assert (masks[0] == 0).any() and (masks[1] == 0).any()
    check_preconditions(params, X, arch, masks)
    errors = central_difference_errors(params, X, y, arch, masks, lengths)
    assert max(errors.values()) < TOL, errors
    # embedding rows of ids not in X have exactly zero gradient
    _, grads = M.loss_and_grads(params, X, y, arch, masks=masks, lengths=lengths)
    unused = np.setdiff1d(np.arange(8), X[:, :, 0])
    assert len(unused) and not dense(grads["E_word"])[unused].any()


def test_the_check_catches_a_wrong_derivative(monkeypatch):
    """With σ′ used for tanh, everything below the activation fails, U and c still pass."""
    f, _ = activation("tanh")
    monkeypatch.setattr(L, "activation", lambda kind: (f, lambda z, h: h * (1 - h))
                        if kind == "tanh" else activation(kind))
    params, X, y, arch, masks, lengths = make_problem("softmax", "tanh")
    errors = central_difference_errors(params, X, y, arch, masks, lengths)
    assert {k for k, e in errors.items() if e > 1e-2} == {"E_word", "E_caps", "E_suffix2",
                                                          "W", "b"}
    assert errors["U"] < TOL and errors["c"] < TOL


def test_the_check_catches_a_dropped_dropout_mask(monkeypatch):
    """Backward that forgets the input mask: only the embedding gradients are wrong."""
    params, X, y, arch, masks, lengths = make_problem("softmax", "relu")
    real = M.backward

    def forgetful(ds, cache, arch):
        c_emb, c_aff, c_act, c_out, m, c_chr = cache
        return real(ds, (c_emb, c_aff, c_act, c_out, (None, m[1]), c_chr), arch)
    monkeypatch.setattr(M, "backward", forgetful)
    errors = central_difference_errors(params, X, y, arch, masks, lengths)
    assert {k for k, e in errors.items() if e > 1e-2} == {"E_word", "E_caps", "E_suffix2"}


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradcheck_helper_agrees(head, activation):
    """The same check through nertag.nn.gradcheck: hand vs graph on every entry, hand vs
    numeric on 12 random entries of each parameter (the full loop is the test above)."""
    params, X, y, arch, masks, lengths = make_problem(head, activation, seed=5)
    checks = gc.check_model(params, X, y, arch, masks=masks, lengths=lengths, eps=EPS,
                            samples=12, rng=np.random.default_rng(0))
    assert [c.name for c in checks] == list(arch.shapes())
    for c in checks:
        assert c.hand_vs_graph < 1e-9, c
        assert c.hand_vs_numeric < 1e-5, c  # gradcheck uses a 1e-12 floor, so allow 1e-5


def test_repeated_word_gradient_is_the_sum_of_its_uses():
    """Word 3 appears at 12 window positions: its gradient row is the sum of those slices of dx."""
    params, X, y, arch, masks, _ = make_problem("softmax", "tanh", dropout=0)
    s, cache = M.forward(params, X, arch)
    _, ds = L.softmax_ce(s, y)
    grads = M.backward(ds, cache, arch)
    # dx by hand: δ W, split into (B, n, D)
    z = cache[1][0] @ params["W"].T + params["b"]
    delta = (ds @ params["U"]) * (1 - np.tanh(z) ** 2)
    dx = (delta @ params["W"]).reshape(len(X), arch.n, arch.D)
    expected = dx[X[:, :, 0] == 3][:, :3].sum(axis=0)
    assert (X[:, :, 0] == 3).sum() >= 8
    np.testing.assert_allclose(grads["E_word"].dense()[3], expected, rtol=1e-12, atol=1e-15)
