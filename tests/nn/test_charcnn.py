"""Tests for nertag.nn.charcnn (the character CNN): every gradient against central
differences in float64, the max's routing against a literal dense backward, the graph
engine's version of the layer, and the per-word path that the tagging tables use."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.nn import charcnn
from nertag.nn import graph as G
from nertag.nn import graph_window
from nertag.nn.arch import CharArch
from nertag.nn.gradcheck import char_rows, numeric_grad, rel_error
from nertag.nn.sparse import SparseRows

CH = CharArch(A=9, c=3, m=5, k=3, L=7)


def make(seed=0, W=6, ch=CH, dtype=np.float64):
    """Parameters, W words of character ids (with a repeated word and a one-character
    word, whose padding-only windows tie) and an upstream gradient."""
    rng = np.random.default_rng(seed)
    params = {"C_char": rng.normal(0, 0.7, (ch.A, ch.c)),
              "K_char": rng.normal(0, 0.7, (ch.m, ch.k * ch.c)),
              "b_char": rng.normal(0, 0.3, ch.m)}
    chars = char_rows(rng, ch, W)
    chars[1] = chars[4]
    chars[2] = [0] * (ch.k // 2) + [5] + [1] * (ch.L - ch.k // 2 - 1)
    up = rng.choice([-1.0, 1.0], (W, ch.m)) * rng.uniform(0.5, 1.5, (W, ch.m))
    return {k: v.astype(dtype) for k, v in params.items()}, chars, up.astype(dtype)


def dense(g):
    return g.dense() if isinstance(g, SparseRows) else np.asarray(g)


@pytest.mark.parametrize("activation", ["tanh", "linear"])
def test_every_gradient_matches_central_differences(activation):
    params, chars, up = make()
    v, cache = charcnn.forward(chars, params, activation)
    grads = charcnn.backward(up, cache)
    assert grads.keys() == params.keys()

    def f():
        return float(np.sum(up * charcnn.forward(chars, params, activation)[0]))
    for name, p in params.items():
        num = numeric_grad(f, p, 1e-5).reshape(p.shape)
        g = dense(grads[name])
        assert g.shape == p.shape
        assert rel_error(g, num).max() < 1e-7, name


def test_tanh_after_the_max_is_the_max_of_tanh():
    params, chars, _ = make(1)
    v, _ = charcnn.forward(chars, params, "tanh")
    C, K, b = params["C_char"], params["K_char"], params["b_char"]
    e = C[chars]
    for w in range(len(chars)):  # the definition, window by window
        z = np.array([K @ e[w, j:j + CH.k].ravel() + b for j in range(CH.P)])  # (P, m)
        np.testing.assert_allclose(v[w], np.tanh(z).max(axis=0), rtol=1e-13)


def unfold(e, k):
    """The k-character windows of every word side by side, written out:
    e: (W, L, c) -> u: (W, P, k·c), u[w, j] = [e[w, j]; …; e[w, j+k−1]]."""
    P = e.shape[1] - k + 1
    return np.stack([e[:, j:j + k].reshape(len(e), -1) for j in range(P)], axis=1)


def literal_backward(up, chars, params, activation):
    """The backward written out densely: ∂J/∂z is zero except at each filter's winning
    position (the first on ties); ∂J/∂u = ∂J/∂z K; ∂J/∂e[w, j+s] += ∂J/∂u[w, j, s];
    ∂J/∂C by np.add.at; ∂J/∂K = Σ ∂J/∂zᵀ u."""
    C, K, b = params["C_char"], params["K_char"], params["b_char"]
    Wn, c = len(chars), C.shape[1]
    u = unfold(C[chars], CH.k)
    z = u @ K.T + b                                              # (W, P, m)
    zmax = z.max(axis=1)
    g = up * (1 - np.tanh(zmax) ** 2) if activation == "tanh" else up
    dz = np.zeros_like(z)
    for w in range(Wn):
        for i in range(CH.m):
            j = int(np.flatnonzero(z[w, :, i] == zmax[w, i])[0])  # the first winner
            dz[w, j, i] = g[w, i]
    du = dz @ K                                                  # (W, P, k·c)
    de = np.zeros((Wn, CH.L, c))
    for s in range(CH.k):
        de[:, s:s + CH.P] += du[:, :, s * c:(s + 1) * c]
    dC = np.zeros_like(C)
    np.add.at(dC, chars, de)
    return {"C_char": dC, "K_char": np.einsum("wpi,wpk->ik", dz, u), "b_char": dz.sum((0, 1))}, dz


@pytest.mark.parametrize("activation", ["tanh", "linear"])
def test_the_max_routes_the_gradient_to_the_first_winner(activation):
    params, chars, up = make(2, W=8)
    v, cache = charcnn.forward(chars, params, activation)
    ref, dz = literal_backward(up, chars, params, activation)
    assert (np.count_nonzero(dz, axis=1) <= 1).all()         # one position per filter
    grads = charcnn.backward(up, cache)
    for name in params:
        np.testing.assert_allclose(dense(grads[name]), ref[name], rtol=1e-12, atol=1e-14)


def test_a_tie_goes_to_the_first_position():
    """Small integers make every product and sum exact, so the three windows of padding
    only ([</s>, </s>, </s>] at positions 2, 3, 4 of a one-character word) tie exactly;
    filter 0 likes </s> most: its whole gradient goes to position 2."""
    rng = np.random.default_rng(0)
    params = {"C_char": rng.integers(-2, 2, (CH.A, CH.c)).astype(float),
              "K_char": rng.integers(-2, 3, (CH.m, CH.k * CH.c)).astype(float),
              "b_char": np.zeros(CH.m)}
    params["C_char"][1] = 2.0                                    # </s>
    params["K_char"][0] = 1.0
    chars = np.array([[0, 5, 1, 1, 1, 1, 1]])
    up = np.ones((1, CH.m))
    v, cache = charcnn.forward(chars, params, "linear")
    assert v[0, 0] == 18.0 and cache[1][0, 0] == 2
    grads = charcnn.backward(up, cache)
    u = unfold(params["C_char"][chars], CH.k)[0]          # (P, k·c)
    np.testing.assert_array_equal(grads["K_char"][0], u[2])
    ref, dz = literal_backward(up, chars, params, "linear")
    assert dz[0, :, 0].tolist() == [0, 0, 1, 0, 0]
    for name in params:
        np.testing.assert_array_equal(dense(grads[name]), ref[name])


def test_characters_outside_the_winning_windows_get_nothing():
    params, _, up = make(3)
    chars = np.array([[0, 3, 4, 5, 6, 7, 1]])
    _, cache = charcnn.forward(chars, params, "tanh")
    arg = cache[1][0]
    won = {int(chars[0, j + s]) for j in arg for s in range(CH.k)}
    g = dense(charcnn.backward(up[:1], cache)["C_char"])
    for alpha in range(CH.A):
        assert (g[alpha] != 0).any() == (alpha in won)


def test_graph_layer_equals_the_hand_derived_one():
    params, chars, up = make(4, W=7)
    for activation in ("tanh", "linear"):
        ch = CharArch(CH.A, CH.c, CH.m, CH.k, CH.L, activation)
        v, cache = charcnn.forward(chars, params, activation)
        grads = charcnn.backward(up, cache)
        P = {k: G.Node(v_, name=k) for k, v_ in params.items()}
        out = graph_window.char_vectors(P, chars, ch)
        np.testing.assert_allclose(out.value, v, rtol=1e-14)
        G.sum(G.mul_const(out, up)).backward()
        for name in params:
            assert rel_error(grads[name], P[name].grad).max() < 1e-10, name


def test_tokens_compute_each_word_once_and_sum_its_gradients():
    params, chars, _ = make(5, W=5)
    tokens = chars[[0, 1, 0, 3, 4, 3, 0, 2, 1]]                 # repeated words
    up = np.random.default_rng(0).normal(size=(len(tokens), CH.m))
    v, cache = charcnn.forward_tokens(tokens, params, "tanh")
    assert cache[1] == len({tuple(r) for r in tokens})
    np.testing.assert_array_equal(v, charcnn.forward(tokens, params, "tanh")[0])
    got = charcnn.backward_tokens(up, cache)
    want = charcnn.backward(up, charcnn.forward(tokens, params, "tanh")[1])
    for name in params:
        np.testing.assert_allclose(dense(got[name]), dense(want[name]), rtol=1e-12)


def test_unique_rows():
    a = np.array([[0, 3, 1], [0, 4, 1], [0, 3, 1], [1, 1, 1], [0, 4, 1]], dtype=np.int32)
    first, inverse = charcnn.unique_rows(a)
    np.testing.assert_array_equal(a[first][inverse], a)
    assert len(first) == 3
    first, inverse = charcnn.unique_rows(np.zeros((0, 3), np.int32))
    assert first.shape == (0,) and inverse.shape == (0,)


def test_a_words_vector_per_word_is_the_same_bits_in_any_batch():
    ch = CharArch(A=40, c=8, m=16, k=3, L=12)
    params, _, _ = make(6, ch=ch, dtype=np.float32)
    chars = char_rows(np.random.default_rng(1), ch, 300)
    whole = charcnn.forward(chars, params, "tanh", per_word=True)[0]
    for sub in (slice(0, 1), slice(7, 9), slice(100, 297)):
        part = charcnn.forward(chars[sub], params, "tanh", per_word=True)[0]
        assert np.array_equal(part.view(np.uint32), whole[sub].view(np.uint32))
    np.testing.assert_allclose(charcnn.forward(chars, params, "tanh")[0], whole, rtol=1e-5,
                               atol=1e-6)


def test_unknown_activation():
    params, chars, _ = make()
    with pytest.raises(ValueError, match="relu"):
        charcnn.forward(chars, params, "relu")
