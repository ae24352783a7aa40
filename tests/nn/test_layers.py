"""Tests for nertag.nn.layers: the two loss heads (softmax cross-entropy, one-vs-rest
sigmoid), the activations' forward and backward, and dropout masks."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.errors import NertagError
from nertag.nn import layers as L


# ------------------------------------------------------------------ heads
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_ce_gradient_is_p_minus_onehot_over_B(dtype):
    rng = np.random.default_rng(0)
    s = (rng.normal(size=(7, 5)) * 4).astype(dtype)
    y = np.array([0, 4, 2, 2, 1, 3, 0])
    loss, ds = L.softmax_ce(s, y)
    onehot = np.eye(5, dtype=dtype)[y]
    # exactly the same arithmetic as the definition: softmax − onehot, / B
    e = np.exp(s - s.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(ds, (e / e.sum(axis=1, keepdims=True) - onehot) / dtype(7))
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
