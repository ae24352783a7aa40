"""Tests for nertag.inference.decode: fast_viterbi, and constrained decoding through it,
equal the reference crf.viterbi (ties, forbidden transitions, empty sentences, chunks)."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.inference import decode as D
from nertag.nn import crf
from nertag.nn import layers as L
from nertag.text import tags as tagmod


def penalties(labels, scheme, dtype):
    allowed, first, last = tagmod.transition_mask(labels, scheme)
    return tuple(np.where(m, 0, -np.inf).astype(dtype) for m in (allowed, first, last))


@pytest.mark.parametrize("scheme,types", [("bio", ["LOC", "PER", "ORG"]), ("bioes", ["X", "Y"]),
                                          ("iob1", ["A"])])
def test_constrained_decoding_equals_crf_viterbi_with_masked_transitions(scheme, types):
    """Decoder.constrained (Viterbi only where the greedy path is invalid) gives the
    reference Viterbi's paths under 0/−∞ transitions."""
    rng = np.random.default_rng(7)
    labels = tagmod.labels_for(types, scheme)
    dec = D.Decoder(labels, scheme, "softmax", np.dtype(np.float32))
    pen = penalties(labels, scheme, np.float32)
    for trial in range(15):
        lengths = rng.integers(0, 25, rng.integers(1, 40))
        lengths[rng.random(len(lengths)) < 0.1] = 0
        logp = L.log_softmax((3 * rng.standard_normal((lengths.sum(), len(labels))))
                             .astype(np.float32))
        ref = crf.viterbi(logp, lengths, *pen)
        assert (D.fast_viterbi(logp, lengths, *pen, chunk=1 + trial % 5) == ref).all()
        assert (dec.constrained(logp, lengths) == ref).all()


@pytest.mark.parametrize("K,scheme", [(9, "bio"), (17, "bioes"), (6, None)])
def test_fast_viterbi_equals_crf_viterbi_float64_ties(K, scheme):
    """float64 scores on a coarse grid (many ties), every length 1..N, batches below and
    above FEW_SENTENCES: the same paths, the same first-best ties."""
    rng = np.random.default_rng(K)
    if scheme:
        labels = tagmod.labels_for(["A", "B", "C", "D"][:(K - 1) // (2 if scheme == "bio" else 4)],
                                   scheme)
        A0, start0, end0 = penalties(labels, scheme, np.float64)
    else:
        A0, start0, end0 = np.zeros((K, K)), np.zeros(K), np.zeros(K)
    for n in (1, 2, D.FEW_SENTENCES, D.FEW_SENTENCES + 1, 60):
        lengths = np.arange(1, n + 1) if n < 30 else rng.integers(1, 30, n)
        for grid in (1.0, 0.5):
            S = np.round(rng.standard_normal((lengths.sum(), K)) / grid) * grid
            A = A0 + np.round(rng.standard_normal((K, K)) / grid) * grid
            start, end = start0 + np.round(rng.standard_normal((2, K)))
            ref = crf.viterbi(S, lengths, A, start, end)
            assert (D.fast_viterbi(S, lengths, A, start, end) == ref).all()
            assert (D.fast_viterbi(S, lengths, A, start, end, chunk=7) == ref).all()
            zero = np.zeros_like(S)  # all tied: tag 0 wherever it is allowed
            assert (D.fast_viterbi(zero, lengths, A0, start0, end0) ==
                    crf.viterbi(zero, lengths, A0, start0, end0)).all()


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


@pytest.mark.parametrize("n", [1, 2, D.FEW_SENTENCES, D.FEW_SENTENCES + 1])
def test_fast_viterbi_few_sentences_equals_crf_viterbi(n):
    """A request of a few sentences takes crf.viterbi itself (≤ FEW_SENTENCES) or the
    predecessor groups (more): the same paths and first-best ties either way."""
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
    perm, groups, A_perm = plan
    assert sorted(perm.tolist()) == list(range(5)) and (A_perm == A[perm]).all()
    assert not A_perm.flags.writeable and not groups[-1][4].flags.writeable  # shared
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


def test_bioes_plan_groups_tags_by_their_predecessors():
    """BIOES with 4 types: O, B-x, S-x (9 predecessors each: O, E-*, S-*) are one group
    with shared predecessors; I-x, E-x (B-x, I-x) another, each tag its own pair."""
    labels = tagmod.labels_for(["LOC", "MISC", "ORG", "PER"], "bioes")
    A = penalties(labels, "bioes", np.float32)[0]
    perm, groups, _ = D._make_plan(A)
    assert [(g0, g1, r, shared) for g0, g1, r, _, _, shared in groups] == \
        [(0, 8, 2, False), (8, 17, 9, True)]
    names = [labels[j] for j in perm]
    assert sorted(n[0] for n in names[:8]) == ["E"] * 4 + ["I"] * 4
    preds = sorted(labels[perm[i]] for i in groups[1][3])
    assert preds == sorted(["O"] + [f"{p}-{t}" for p in "ES" for t in
                                    ("LOC", "MISC", "ORG", "PER")])


def test_transposed_is_a_contiguous_copy_of_the_transpose():
    S = np.arange(5 * 9 * 3, dtype=np.float32).reshape(-1, 3)
    for block in (1, 4, 45, 1000):
        St = D.transposed(S, block=block)
        assert St.flags.c_contiguous and St.dtype == S.dtype and (St == S.T).all()
    assert D.transposed(np.zeros((0, 17), np.float32)).shape == (17, 0)


@pytest.mark.parametrize("head,decoder", [("crf", "viterbi"), ("crf", "greedy"),
                                          ("softmax", "constrained")])
def test_best_paths_are_the_decoded_ids(head, decoder):
    """Decoder.best_paths (a first stage's paths, no confidences) gives decode's ids, on
    the fast path and the plain one."""
    rng = np.random.default_rng(11)
    labels = tagmod.labels_for(["A", "B", "C", "D"], "bioes")
    K = len(labels)
    params = {"A": rng.standard_normal((K, K)).astype(np.float32),
              "start": rng.standard_normal(K).astype(np.float32),
              "end": rng.standard_normal(K).astype(np.float32)}
    dec = D.Decoder(labels, "bioes", head, np.dtype(np.float32))
    lengths = rng.integers(0, 30, 80)
    S = (3 * rng.standard_normal((lengths.sum(), K))).astype(np.float32)
    for fast in (False, True):
        ids, _ = dec.decode(S, lengths, decoder, params, fast=fast)
        assert (dec.best_paths(S, lengths, decoder, params, fast=fast) == ids).all()


def test_fast_viterbi_with_the_transpose_given_equals_without():
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 40, 50)
    S = rng.standard_normal((lengths.sum(), 17)).astype(np.float32)
    A = np.round(rng.standard_normal((17, 17))).astype(np.float32)
    A[rng.random((17, 17)) < 0.4] = -np.inf
    start, end = np.round(rng.standard_normal((2, 17))).astype(np.float32)
    ref = crf.viterbi(S, lengths, A, start, end)
    assert (D.fast_viterbi(S, lengths, A, start, end, St=D.transposed(S)) == ref).all()
