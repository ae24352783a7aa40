"""Gradients of embedding tables that are non-zero only in the rows a minibatch used.

A minibatch touches a few hundred rows of a 20,000-row word table, so its gradient
is kept as those rows (:class:`SparseRows`), summed per row where an id repeats
(:func:`segment_sum`: a word used twice gets both contributions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SparseRows:
    """A gradient of an embedding table that is non-zero only in some rows.

    ``ids: (R,)`` distinct row numbers, ``rows: (R, d)`` their gradient;
    ``shape`` is the table's shape, so :meth:`dense` has the parameter's shape.
    """

    ids: np.ndarray
    rows: np.ndarray
    shape: tuple[int, int]

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=self.rows.dtype)
        out[self.ids] = self.rows
        return out

    def sqnorm(self) -> float:
        return float(np.vdot(self.rows, self.rows))


SMALL_TABLE = 8192  # tables of at most this many numbers (V·d) are summed densely


def _dense_sum(ids: np.ndarray, values: np.ndarray, n_rows: int) -> SparseRows:
    """:func:`segment_sum` for a small table (caps, shapes, short affixes): one
    ``np.bincount`` adds every value into its (id, column) cell, in float64."""
    d = values.shape[1]
    cells = (ids[:, None] * d + np.arange(d)).ravel()  # (M·d,) flat (id, column) index
    dense = np.bincount(cells, weights=values.ravel(), minlength=n_rows * d)
    used = np.flatnonzero(np.bincount(ids, minlength=n_rows))
    return SparseRows(used, dense.reshape(n_rows, d)[used].astype(values.dtype), (n_rows, d))


def segment_sum(ids: np.ndarray, values: np.ndarray, n_rows: int) -> SparseRows:
    """Sum the rows of ``values: (M, d)`` that share an id in ``ids: (M,)``.

    A word used twice in a batch gets both contributions.  A small table is
    summed densely (:func:`_dense_sum`); otherwise sorting once puts
    equal ids next to each other (no ``np.add.at``).  ``np.add.reduceat`` then
    sums each run, but it pays per run and column, so when most ids occur once
    (words, long affixes) the first row of each run is copied and only the
    repeats are reduced and added.  ``values`` may be a strided view (a
    column block of ∂J/∂x): only the rows needed are gathered.
    """
    if len(ids) == 0:
        return SparseRows(np.zeros(0, np.int64), values[:0], (n_rows, values.shape[1]))
    if n_rows * values.shape[1] <= SMALL_TABLE and values.dtype.itemsize <= 8:
        return _dense_sum(ids, values, n_rows)  # (bincount sums in float64, not longdouble)
    order = np.argsort(ids)  # equal ids in any order: deterministic, and only rounding differs
    sids = ids[order]
    run_start = np.empty(len(sids), dtype=bool)  # run_start[i]: sids[i] starts a new run
    run_start[0] = True
    np.not_equal(sids[1:], sids[:-1], out=run_start[1:])
    starts = np.flatnonzero(run_start)
    singles = np.count_nonzero(run_start[:-1] & run_start[1:]) + bool(run_start[-1])  # length 1
    if 2 * singles < len(starts):  # most ids repeat (a skewed batch of a big table)
        rows = np.add.reduceat(values[order], starts, axis=0)
    else:
        rows = values[order[starts]]
        rep = np.flatnonzero(~run_start)
        if len(rep):
            run = np.cumsum(run_start)[rep] - 1  # the run of each repeat (non-decreasing)
            new = np.empty(len(run), dtype=bool)
            new[0] = True
            np.not_equal(run[1:], run[:-1], out=new[1:])
            rows[run[new]] += np.add.reduceat(values[order[rep]], np.flatnonzero(new), axis=0)
    return SparseRows(sids[starts].astype(np.int64), rows, (n_rows, values.shape[1]))
