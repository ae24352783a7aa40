"""Tests for nertag.nn.ragged: sentences laid end to end (starts, token rows, windows)."""

from __future__ import annotations

import numpy as np

from nertag.nn.ragged import sentence_starts, token_rows, window_ids


def test_sentence_starts():
    starts = sentence_starts([2, 0, 3])
    assert starts.tolist() == [0, 2, 2] and starts.dtype == np.int64
    assert sentence_starts(np.array([4], np.int32)).tolist() == [0]
    assert sentence_starts([]).shape == (0,)


def test_token_rows_of_some_sentences_in_their_order():
    # sentences of lengths 2, 0, 3, 1 start at rows 0, 2, 2, 5
    assert token_rows(np.array([2, 0]), np.array([3, 2])).tolist() == [2, 3, 4, 0, 1]
    assert token_rows(np.array([5, 2, 0]), [1, 0, 2]).tolist() == [5, 0, 1]
    assert token_rows(np.array([0, 2, 2, 5]), np.array([2, 0, 3, 1])).tolist() == list(range(6))
    assert token_rows(np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (0,)


def test_window_ids_pads_each_sentence_with_before_and_after():
    ids = np.array([10, 11, 12, 20, 21], np.int32)
    X = window_ids(ids, [3, 2], 1, 0, 1)
    assert X.dtype == np.int32
    assert X.tolist() == [[0, 10, 11], [10, 11, 12], [11, 12, 1],
                          [0, 20, 21], [20, 21, 1]]
    P = window_ids(ids, [3, 2], 1, 0, 1, position_major=True)
    assert P.shape == (3, 5) and P.tolist() == X.T.tolist()


def test_window_ids_wide_window_short_and_empty_sentences():
    ids = np.array([7, 8, 9])
    X = window_ids(ids, [1, 0, 2], 2, -1, -2)        # an empty sentence between
    assert X.tolist() == [[-1, -1, 7, -2, -2],
                          [-1, -1, 8, 9, -2], [-1, 8, 9, -2, -2]]
    assert window_ids(ids, [1, 0, 2], 0, -1, -2).tolist() == [[7], [8], [9]]   # w = 0
    empty = window_ids(np.zeros(0, np.int64), [], 2, 0, 1)
    assert empty.shape == (0, 5)
    assert window_ids(np.zeros(0, np.int64), [], 2, 0, 1, position_major=True).shape == (5, 0)


def test_window_ids_of_feature_columns():
    """(N, F) ids: every column is padded with the same before / after id."""
    ids = np.array([[3, 30], [4, 40], [5, 50]])
    X = window_ids(ids, [2, 1], 1, 0, 1)
    assert X.shape == (3, 3, 2)
    assert X[:, :, 0].tolist() == [[0, 3, 4], [3, 4, 1], [0, 5, 1]]
    assert X[:, :, 1].tolist() == [[0, 30, 40], [30, 40, 1], [0, 50, 1]]
    P = window_ids(ids, [2, 1], 1, 0, 1, position_major=True)
    assert P.shape == (3, 3, 2) and (P == X.transpose(1, 0, 2)).all()
