"""Tests for nertag.nn.sparse: segment_sum (the gradient of an embedding lookup as
SparseRows) against np.add.at, in every branch."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.nn.sparse import segment_sum


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
