"""Tests for nertag.inference.decode: the cheap constrained Viterbi and fast_viterbi equal
crf.viterbi (ties, forbidden transitions, empty sentences, chunks)."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.inference import decode as D
from nertag.nn import crf
from nertag.nn import layers as L
from nertag.text import tags as tagmod


@pytest.mark.parametrize("scheme,types", [("bio", ["LOC", "PER", "ORG"]), ("bioes", ["X", "Y"]),
                                          ("iob1", ["A"])])
def test_constrained_viterbi_equals_crf_viterbi(scheme, types):
    rng = np.random.default_rng(7)
    labels = tagmod.labels_for(types, scheme)
    allowed, first, last = tagmod.transition_mask(labels, scheme)
    neg = np.float32(-np.inf)

    def pen(m):
        return np.where(m, 0, neg).astype(np.float32)

    for trial in range(15):
        lengths = rng.integers(0, 25, rng.integers(1, 40))
        lengths[rng.random(len(lengths)) < 0.1] = 0
        logp = L.log_softmax((3 * rng.standard_normal((lengths.sum(), len(labels))))
                             .astype(np.float32))
        ref = crf.viterbi(logp, lengths, pen(allowed), pen(first), pen(last))
        out = D.constrained_viterbi(logp, lengths, allowed, first, last, chunk=1 + trial % 5)
        assert (out == ref).all()


@pytest.mark.parametrize("K", [5, 17])
def test_fast_viterbi_equals_crf_viterbi(K):
    """Learned transitions, forbidden ones (−∞), ties, empty sentences, small chunks."""
    rng = np.random.default_rng(K)
    for trial in range(20):
        lengths = rng.integers(0, 25, rng.integers(1, 40))
        lengths[rng.random(len(lengths)) < 0.1] = 0
        S = (3 * rng.standard_normal((lengths.sum(), K))).astype(np.float32)
        A = rng.standard_normal((K, K)).astype(np.float32)
        A[rng.random((K, K)) < 0.3] = -np.inf
        start, end = rng.standard_normal((2, K)).astype(np.float32)
        start[rng.random(K) < 0.2] = -np.inf
        if trial % 4 == 0:  # many ties
            S, A = np.round(S), np.where(np.isfinite(A), np.round(A), A)
        ref = crf.viterbi(S, lengths, A, start, end)
        assert (D.fast_viterbi(S, lengths, A, start, end, chunk=1 + trial % 6) == ref).all()


@pytest.mark.parametrize("n", [1, 2, 4, 5])
def test_fast_viterbi_few_sentences_equals_crf_viterbi(n):
    """A request of a few sentences takes the one-sentence path (≤ 4) or the plan (5):
    the same paths and the same first-best ties as crf.viterbi either way."""
    rng = np.random.default_rng(n)
    for trial in range(30):
        lengths = rng.integers(0 if trial % 3 else 1, 20, n)
        S = np.round(2 * rng.standard_normal((lengths.sum(), 17))).astype(np.float32)
        A = np.round(rng.standard_normal((17, 17))).astype(np.float32)
        A[rng.random((17, 17)) < 0.4] = -np.inf
        start, end = np.round(rng.standard_normal((2, 17))).astype(np.float32)
        ref = crf.viterbi(S, lengths, A, start, end)
        assert (D.fast_viterbi(S, lengths, A, start, end) == ref).all()


def test_predecessor_plan_is_built_once_per_transition_matrix():
    A = np.where(np.eye(5, dtype=bool), -np.inf, 1.0).astype(np.float32)
    plan = D._predecessor_plan(A)
    assert D._predecessor_plan(A.copy()) is plan
    assert not plan[-1][2].flags.writeable          # shared, so read-only
    B = A.copy()
    B[0, 1] = 2.0
    assert D._predecessor_plan(B) is not plan


def test_fast_viterbi_tags_without_predecessors_and_nan():
    """A tag nothing may follow from (a column of −∞) is never reached after the first
    token; NaN scores give some path of valid tag ids instead of an error."""
    rng = np.random.default_rng(5)
    K, lengths = 6, np.array([4, 1, 7, 3])
    S = rng.standard_normal((lengths.sum(), K)).astype(np.float32)
    A = rng.standard_normal((K, K)).astype(np.float32)
    A[:, 2] = -np.inf
    start, end = np.zeros((2, K), np.float32)
    ref = crf.viterbi(S, lengths, A, start, end)
    assert (D.fast_viterbi(S, lengths, A, start, end) == ref).all()
    S[3, :] = np.nan
    out = D.fast_viterbi(S, lengths, A, start, end)
    assert out.shape == (lengths.sum(),) and ((out >= 0) & (out < K)).all()


def test_keep_better_is_a_first_best_argmax():
    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal((7, 50)))        # many ties
    best, arg = x[0].copy(), np.zeros(50, dtype=np.int8)
    for i in range(1, 7):
        D.keep_better(best, arg, x[i], i)
    assert (arg == x.argmax(axis=0)).all() and (best == x.max(axis=0)).all()
