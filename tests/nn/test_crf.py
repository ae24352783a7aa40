"""Tests for nertag.nn.crf against brute-force enumeration of every tag path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nertag.nn import crf
from nertag.text import tags as tagmod


def path_score(S, path, A, start, end) -> float:
    s = start[path[0]] + end[path[-1]] + sum(S[t, k] for t, k in enumerate(path))
    return s + sum(A[path[t - 1], path[t]] for t in range(1, len(path)))


def brute_force(S, y, lengths, A, start, end):
    """Loss and every gradient by enumerating all K^T paths of each sentence."""
    K = A.shape[0]
    n = len(lengths)
    loss = 0.0
    dS, dA = np.zeros_like(S), np.zeros_like(A)
    dstart, dend = np.zeros_like(start), np.zeros_like(end)
    o = 0
    for T in lengths:
        St, yt = S[o:o + T], y[o:o + T]
        paths = list(itertools.product(range(K), repeat=T))
        scores = np.array([path_score(St, p, A, start, end) for p in paths])
        logZ = np.logaddexp.reduce(scores)
        loss += logZ - path_score(St, yt, A, start, end)
        probs = np.exp(scores - logZ)
        for p, pr in zip(paths, probs):       # expected counts under p(y|x)
            for t, k in enumerate(p):
                dS[o + t, k] += pr
            for t in range(1, T):
                dA[p[t - 1], p[t]] += pr
            dstart[p[0]] += pr
            dend[p[-1]] += pr
        for t, k in enumerate(yt):            # minus the gold path's counts
            dS[o + t, k] -= 1
        for t in range(1, T):
            dA[yt[t - 1], yt[t]] -= 1
        dstart[yt[0]] -= 1
        dend[yt[-1]] -= 1
        o += T
    return loss / n, dS / n, {"A": dA / n, "start": dstart / n, "end": dend / n}


def random_problem(seed, K, lengths, scale=1.5):
    rng = np.random.default_rng(seed)
    B = sum(lengths)
    return (rng.normal(size=(B, K)) * scale, rng.integers(0, K, B), np.array(lengths),
            rng.normal(size=(K, K)), rng.normal(size=K), rng.normal(size=K))


@pytest.mark.parametrize("seed, K, lengths", [
    (0, 2, [1]), (1, 3, [3]), (2, 3, [1, 4, 2]), (3, 4, [2, 3, 1, 3]), (4, 2, [5, 1, 1]),
    (5, 3, [4, 4]),
])
def test_crf_loss_and_gradients_equal_brute_force(seed, K, lengths):
    S, y, lengths, A, start, end = random_problem(seed, K, lengths)
    loss, dS, g = crf.crf_loss(S, y, lengths, A, start, end)
    bl, bdS, bg = brute_force(S, y, lengths, A, start, end)
    assert abs(loss - bl) < 1e-12 * max(1, abs(bl))
    np.testing.assert_allclose(dS, bdS, rtol=1e-10, atol=1e-13)
    for k in ("A", "start", "end"):
        assert g[k].shape == bg[k].shape
        np.testing.assert_allclose(g[k], bg[k], rtol=1e-10, atol=1e-13, err_msg=k)


def test_crf_batch_equals_mean_of_single_sentences():
    lengths = [3, 1, 5, 2]
    S, y, lengths, A, start, end = random_problem(7, 3, lengths)
    loss, dS, g = crf.crf_loss(S, y, lengths, A, start, end)
    o, losses, n = 0, [], len(lengths)
    for T in lengths:
        l1, dS1, g1 = crf.crf_loss(S[o:o + T], y[o:o + T], [T], A, start, end)
        losses.append(l1)
        np.testing.assert_allclose(dS[o:o + T], dS1 / n, rtol=1e-12, atol=1e-15)
        o += T
    assert np.isclose(loss, np.mean(losses), rtol=1e-13)


def test_crf_gradient_rows_sum_to_zero_and_numeric():
    """Marginals sum to 1 per token; check A by central differences too."""
    S, y, lengths, A, start, end = random_problem(8, 3, [4, 2])
    loss, dS, g = crf.crf_loss(S, y, lengths, A, start, end)
    np.testing.assert_allclose(dS.sum(axis=1), 0, atol=1e-14)
    np.testing.assert_allclose(g["start"].sum(), 0, atol=1e-14)
    np.testing.assert_allclose(g["A"].sum(), 0, atol=1e-14)  # 1 − 1 expected pairs per pair slot
    h = 1e-6
    for ix in np.ndindex(*A.shape):
        Ap, Am = A.copy(), A.copy()
        Ap[ix] += h
        Am[ix] -= h
        num = (crf.crf_loss(S, y, lengths, Ap, start, end)[0]
               - crf.crf_loss(S, y, lengths, Am, start, end)[0]) / (2 * h)
        assert abs(num - g["A"][ix]) < 1e-8


def test_crf_loss_is_nonnegative_and_zero_for_a_certain_path():
    S = np.array([[50.0, 0.0], [0.0, 50.0], [50.0, 0.0]])
    z = np.zeros(2)
    loss, dS, g = crf.crf_loss(S, np.array([0, 1, 0]), [3], np.zeros((2, 2)), z, z)
    assert 0 <= loss < 1e-20
    assert np.abs(dS).max() < 1e-20
    wrong, _, _ = crf.crf_loss(S, np.array([1, 1, 0]), [3], np.zeros((2, 2)), z, z)
    assert np.isclose(wrong, 50.0)   # best path scores 150, [1, 1, 0] scores 100


def test_crf_float32_dtype_preserved():
    S, y, lengths, A, start, end = random_problem(9, 3, [2, 3])
    f = [a.astype(np.float32) for a in (S, A, start, end)]
    loss, dS, g = crf.crf_loss(f[0], y, lengths, f[1], f[2], f[3])
    loss64, dS64, _ = crf.crf_loss(S, y, lengths, A, start, end)
    assert dS.dtype == np.float32 and g["A"].dtype == np.float32
    assert np.isclose(loss, loss64, rtol=1e-5)
    np.testing.assert_allclose(dS, dS64, atol=1e-6)


# ------------------------------------------------------------------ viterbi
def brute_best(S, lengths, A, start, end):
    K, out, o = A.shape[0], [], 0
    for T in lengths:
        St = S[o:o + T]
        best = max(itertools.product(range(K), repeat=T),
                   key=lambda p: path_score(St, p, A, start, end))
        out.extend(best)
        o += T
    return np.array(out)


@pytest.mark.parametrize("seed", range(6))
def test_viterbi_equals_brute_force_argmax(seed):
    rng = np.random.default_rng(100 + seed)
    lengths = list(rng.integers(1, 6, size=rng.integers(1, 5)))
    K = int(rng.integers(2, 5))
    S, _, lengths, A, start, end = random_problem(seed, K, lengths, scale=2.0)
    expected = brute_best(S, lengths, A, start, end)
    np.testing.assert_array_equal(crf.viterbi(S, lengths, A, start, end), expected)


def test_viterbi_with_zero_transitions_is_argmax():
    S, _, lengths, _, _, _ = random_problem(11, 5, [3, 7, 1])
    z = np.zeros(5)
    np.testing.assert_array_equal(crf.viterbi(S, lengths, np.zeros((5, 5)), z, z),
                                  S.argmax(axis=1))


def test_viterbi_zero_length_sentence_between():
    S, _, _, A, start, end = random_problem(12, 3, [5])
    got = crf.viterbi(S, [2, 0, 3], A, start, end)
    expected = np.concatenate([brute_best(S[:2], [2], A, start, end),
                               brute_best(S[2:], [3], A, start, end)])
    np.testing.assert_array_equal(got, expected)
    assert crf.viterbi(S[:0], [], A, start, end).shape == (0,)


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_never_outputs_forbidden_pairs(seed):
    rng = np.random.default_rng(seed)
    K = 4
    allowed = rng.random((K, K)) < 0.5
    np.fill_diagonal(allowed, True)             # some path is always possible
    first = rng.random(K) < 0.5
    last = rng.random(K) < 0.5
    first[0] = last[0] = True
    A = np.where(allowed, rng.normal(size=(K, K)), -np.inf)
    start = np.where(first, rng.normal(size=K), -np.inf)
    end = np.where(last, rng.normal(size=K), -np.inf)
    lengths = [1, 2, 5, 3, 4]
    S = rng.normal(size=(sum(lengths), K)) * 5    # strong scores that would like forbidden pairs
    ids = crf.viterbi(S, lengths, A, start, end)
    np.testing.assert_array_equal(ids, brute_best(S, lengths, A, start, end))
    o = 0
    for T in lengths:
        p = ids[o:o + T]
        assert first[p[0]] and last[p[-1]]
        assert all(allowed[p[t - 1], p[t]] for t in range(1, T))
        o += T


def test_viterbi_bio_mask_gives_valid_bio():
    labels = tagmod.labels_for(["LOC", "PER"], "bio")
    allowed, first, last = tagmod.transition_mask(labels, "bio")
    neg = -np.inf
    A, st, en = (np.where(m, 0.0, neg) for m in (allowed, first, last))
    rng = np.random.default_rng(0)
    lengths = list(rng.integers(1, 12, 40))
    S = rng.normal(size=(sum(lengths), len(labels))) * 3
    S[:, [2, 4]] += 2        # make I- tags attractive everywhere
    ids = crf.viterbi(S, lengths, A, st, en)
    o = 0
    for T in lengths:
        seq = [labels[i] for i in ids[o:o + T]]
        assert tagmod.convert(seq, "bio", "bio") == seq, seq   # already well-formed BIO
        o += T


def one_sentence_viterbi(S, A, start, end):
    """The textbook recursion for one sentence: δ_t[j] = max_i (δ_{t−1}[i] + A[i, j]) + S[t, j],
    back-pointers and the final tag the first best (lowest index) on ties."""
    T, K = S.shape
    back = np.zeros((T, K), dtype=np.intp)
    delta = start + S[0]
    for t in range(1, T):
        for j in range(K):
            cand = [delta[i] + A[i, j] for i in range(K)]
            back[t, j] = int(np.argmax(cand))
        delta = np.array([delta[back[t, j]] + A[back[t, j], j] for j in range(K)]) + S[t]
    path, tag = [], int(np.argmax(delta + end))
    for t in range(T - 1, -1, -1):
        path.append(tag)
        tag = back[t, tag]
    return path[::-1]


@pytest.mark.parametrize("seed", range(4))
def test_viterbi_ties_are_first_best_like_the_textbook_recursion(seed):
    """float64 scores on a coarse grid (many ties), every length 1..N in one batch: each
    sentence's path is the textbook recursion's, ties included."""
    rng = np.random.default_rng(200 + seed)
    K = int(rng.integers(2, 7))
    lengths = rng.permutation(np.arange(1, 13))
    S = np.round(rng.standard_normal((lengths.sum(), K)))
    A = np.round(rng.standard_normal((K, K)))
    A[rng.random((K, K)) < 0.2] = -np.inf
    start, end = np.round(rng.standard_normal((2, K)))
    expected, o = [], 0
    for T in lengths:
        expected += one_sentence_viterbi(S[o:o + T], A, start, end)
        o += T
    np.testing.assert_array_equal(crf.viterbi(S, lengths, A, start, end), expected)
    z = np.zeros(K)
    np.testing.assert_array_equal(crf.viterbi(np.zeros_like(S), lengths, np.zeros((K, K)), z, z),
                                  np.zeros(len(S)))
