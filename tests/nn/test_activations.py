"""Tests for nertag.nn.activations: the one table of f and f′, exact values, in place."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.errors import NertagError
from nertag.nn.activations import ACTIVATIONS, activation, sigmoid


def test_the_table():
    assert list(ACTIVATIONS) == ["tanh", "sigmoid", "relu", "hardtanh"]
    assert activation("sigmoid")[0] is sigmoid
    with pytest.raises(NertagError, match="unknown activation 'swish'; use one of tanh, "
                                          "sigmoid, relu, hardtanh"):
        activation("swish")


def test_exact_values():
    z = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])
    assert activation("relu")[0](z).tolist() == [0, 0, 0, 0.5, 1, 3]
    assert activation("hardtanh")[0](z).tolist() == [-1, -1, 0, 0.5, 1, 1]
    assert activation("tanh")[0](z).tolist() == np.tanh(z).tolist()
    assert sigmoid(np.array([0.0, 2.0])).tolist() == [0.5, 0.5 * (1 + np.tanh(1.0))]
    np.testing.assert_allclose(sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-15)


def test_exact_derivatives_from_input_and_output():
    z = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])
    d = {name: df(z, f(z)) for name, (f, df) in ACTIVATIONS.items()}
    assert d["relu"].tolist() == [0, 0, 0, 1, 1, 1]             # f′(0) = 0
    assert d["hardtanh"].tolist() == [0, 0, 1, 1, 0, 0]         # f′(±1) = 0
    assert d["tanh"].tolist() == (1 - np.tanh(z) ** 2).tolist()
    assert d["sigmoid"].tolist() == (sigmoid(z) * (1 - sigmoid(z))).tolist()
    assert d["sigmoid"][2] == 0.25


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        h = sigmoid(np.array([-1000.0, 1000.0, -80.0], np.float32))
    assert h.dtype == np.float32 and h.tolist()[:2] == [0.0, 1.0] and 0 <= h[2] < 1e-30


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_gives_the_same_bits_and_dtype(name, dtype):
    f, df = activation(name)
    z = np.random.default_rng(0).normal(0, 2, (4, 5)).astype(dtype)
    h = f(z)
    assert h.dtype == dtype and df(z, h).dtype == dtype
    buf = z.copy()
    out = f(buf, out=buf)
    assert out is buf and np.array_equal(out, h)
