"""Tests for nertag.nn.window and nertag.nn.layers: shapes, initialisation, the forward pass
written out by hand, every hand-derived gradient against central differences (own
loop, float64), segment sums, and the two loss heads."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.nn import gradcheck as gc
from nertag.nn import layers as L
from nertag.nn import window as M
from nertag.errors import NertagError
from nertag.nn.activations import activation
from nertag.nn.sparse import SparseRows, segment_sum
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


# ------------------------------------------------------------------ shapes / init
def test_arch_shapes():
    arch = Arch([("word", 100, 50), ("caps", 8, 5)], window=2, hidden=300, n_labels=9)
    assert arch.n == 5 and arch.D == 55 and arch.input_dim == 275
    assert arch.shapes() == {"E_word": (100, 50), "E_caps": (8, 5), "W": (300, 275),
                             "b": (300,), "U": (9, 300), "c": (9,)}
    crf = Arch([("word", 100, 50)], window=0, hidden=7, n_labels=3, head="crf")
    assert crf.shapes() == {"E_word": (100, 50), "W": (7, 50), "b": (7,), "U": (3, 7),
                            "c": (3,), "A": (3, 3), "start": (3,), "end": (3,)}
    assert list(arch.shapes())[:2] == ["E_word", "E_caps"]  # order of x


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
        c_emb, c_aff, c_act, c_out, m = cache
        return real(ds, (c_emb, c_aff, c_act, c_out, (None, m[1])), arch)
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


# ------------------------------------------------------------------ segment_sum
@pytest.mark.parametrize("seed", range(5))
def test_segment_sum_equals_add_at(seed):
    rng = np.random.default_rng(seed)
    M_, V, d = int(rng.integers(1, 60)), int(rng.integers(1, 12)), int(rng.integers(1, 5))
    ids = rng.integers(0, V, M_)
    ids[: M_ // 2] = ids[0]                                    # many repeats
    values = rng.normal(size=(M_, d))
    sr = segment_sum(ids, values, V)
    expected = np.zeros((V, d))
    np.add.at(expected, ids, values)
    np.testing.assert_allclose(sr.dense(), expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(sr.ids, np.unique(ids))       # distinct, sorted
    assert sr.rows.shape == (len(np.unique(ids)), d) and sr.shape == (V, d)
    assert np.isclose(sr.sqnorm(), float((expected ** 2).sum()))


@pytest.mark.parametrize("V, drawn", [(3, 3), (40, 40),       # small tables: dense bincount
                                      (5000, 5000),           # most ids once: copy + repeats
                                      (5000, 30)])            # most ids repeat: reduce runs
def test_segment_sum_of_a_column_block_equals_add_at(V, drawn):
    """Every branch of segment_sum, on a strided column block of a larger matrix,
    the way embed_backward calls it."""
    rng = np.random.default_rng(V + drawn)
    ids = rng.choice(V, drawn, replace=False)[rng.integers(0, drawn, 640)]
    ids[:50] = ids[0]                                          # one very frequent id
    full = rng.normal(size=(640, 30))
    sr = segment_sum(ids, full[:, 10:20], V)
    expected = np.zeros((V, 10))
    np.add.at(expected, ids, full[:, 10:20])
    np.testing.assert_array_equal(sr.ids, np.unique(ids))
    np.testing.assert_allclose(sr.rows, expected[sr.ids], rtol=1e-12, atol=1e-13)


def test_segment_sum_empty_and_dtype():
    sr = segment_sum(np.zeros(0, dtype=np.int64), np.zeros((0, 3), np.float32), 5)
    assert sr.ids.shape == (0,) and sr.rows.shape == (0, 3) and sr.rows.dtype == np.float32
    assert sr.dense().shape == (5, 3) and not sr.dense().any() and sr.sqnorm() == 0.0
    sr = segment_sum(np.array([2, 2, 2]), np.ones((3, 2), np.float32), 4)
    assert sr.rows.dtype == np.float32
    np.testing.assert_array_equal(sr.dense(), [[0, 0], [0, 0], [3, 3], [0, 0]])


# ------------------------------------------------------------------ heads
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_ce_gradient_is_p_minus_onehot_over_B(dtype):
    rng = np.random.default_rng(0)
    s = (rng.normal(size=(7, 5)) * 4).astype(dtype)
    y = np.array([0, 4, 2, 2, 1, 3, 0])
    loss, ds = L.softmax_ce(s, y)
    onehot = np.eye(5, dtype=dtype)[y]
    # exactly the same arithmetic as the definition: softmax − onehot, / B
    np.testing.assert_array_equal(ds, (L.softmax(s) - onehot) / dtype(7))
    assert ds.dtype == dtype
    # and equal to an independent softmax to rounding
    s64 = s.astype(np.float64)
    p = np.exp(s64 - s64.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    tol = 1e-15 if dtype == np.float64 else 1e-7
    np.testing.assert_allclose(ds, (p - onehot) / 7, rtol=0, atol=tol)
    assert np.isclose(loss, -np.log(p[np.arange(7), y]).mean(), rtol=10 * tol)
    np.testing.assert_allclose(ds.sum(axis=1), 0, atol=10 * tol)


def test_softmax_ce_large_scores_finite():
    s = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, ds = L.softmax_ce(s, np.array([1, 2]))
    assert np.isclose(loss, (2000 + 1 + np.log1p(np.exp(-1))) / 2)
    assert np.isfinite(ds).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_bce_stable_for_large_scores(dtype):
    s = np.array([[1000, -1000, 0], [-1000, 1000, 1000]], dtype=dtype)
    y = np.array([0, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, ds = L.sigmoid_bce(s, y)
    # row 0: softplus(1000)−1000 + softplus(−1000) + log 2 = log 2
    # row 1: 0 + 1000 + (1000 − 1000) = 1000
    assert np.isfinite(loss) and np.isclose(loss, (np.log(2) + 1000) / 2, rtol=1e-6)
    np.testing.assert_array_equal(ds, np.array([[0, 0, 0.5], [0, 1, 0]], dtype=dtype) / 2)
    assert ds.dtype == dtype


def test_sigmoid_bce_value_and_gradient():
    rng = np.random.default_rng(1)
    s = rng.normal(size=(6, 4)) * 3
    y = rng.integers(0, 4, 6)
    loss, ds = L.sigmoid_bce(s, y)
    sig = 1 / (1 + np.exp(-s))
    t = np.eye(4)[y]
    expected = -(t * np.log(sig) + (1 - t) * np.log(1 - sig)).sum(1).mean()
    assert np.isclose(loss, expected, rtol=1e-13)
    np.testing.assert_allclose(ds, (sig - t) / 6, rtol=1e-13, atol=1e-16)


def test_activation_derivatives():
    z = np.array([-2.0, -0.5, 0.3, 1.7])
    for kind, f, df in [
        ("tanh", np.tanh, lambda z: 1 - np.tanh(z) ** 2),
        ("sigmoid", lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
        ("relu", lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
        ("hardtanh", lambda z: np.clip(z, -1, 1), lambda z: (np.abs(z) < 1) * 1.0),
    ]:
        h, cache = L.act_forward(z, kind)
        np.testing.assert_allclose(h, f(z), rtol=1e-14)
        np.testing.assert_allclose(L.act_backward(np.ones_like(z), cache), df(z), rtol=1e-13)
    with pytest.raises(NertagError, match="unknown activation 'swish'; use one of tanh, "
                                          "sigmoid, relu, hardtanh"):
        L.act_forward(z, "swish")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        h, _ = L.act_forward(np.array([-1000.0, 1000.0]), "sigmoid")
    np.testing.assert_array_equal(h, [0.0, 1.0])


def test_dropout_mask_inverted_scaling():
    rng = np.random.default_rng(0)
    m = L.dropout_mask((400, 50), 0.25, rng, np.float32)
    assert m.dtype == np.float32
    assert set(np.unique(m)) == {np.float32(0), np.float32(1 / 0.75)}
    assert abs((m == 0).mean() - 0.25) < 0.02
    assert L.dropout_mask((3, 3), 0.0, rng, np.float32) is None


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_mask_is_unbiased_and_reproducible(p):
    """16-bit draws: keep rate 1 − p to within 1/65,536, E[mask] = 1, same seed, same mask."""
    m = L.dropout_mask((1000, 301), p, np.random.default_rng(1), np.float64)  # odd size
    keep = 1 - round(p * 65536) / 65536
    assert abs(keep - (1 - p)) <= 1 / 65536
    assert set(np.unique(m)) == {0.0, 1 / keep}
    assert abs((m > 0).mean() - keep) < 4 * np.sqrt(keep * (1 - keep) / m.size)
    assert abs(m.mean() - 1) < 4 * np.sqrt((1 - keep) / keep / m.size)
    again = L.dropout_mask((1000, 301), p, np.random.default_rng(1), np.float64)
    np.testing.assert_array_equal(m, again)
