"""What per-type rows derived from the parameters were built from (:class:`ParamSnapshot`):
the fast scorers (:mod:`.word_types`, :mod:`.token_tables`) check it before each use, so
a change of the parameters, even in place, is never served stale rows."""

from __future__ import annotations

import numpy as np


class ParamSnapshot:
    """What tables derived from parameters were built from: the arrays themselves and a
    copy of their contents.

    ``matches(params)`` is True while each named entry of ``params`` is the same array
    object with the same bytes, so an update in place (as an optimiser step makes) is
    seen.  Comparing with a copy is exact, and at about 10 GB/s it costs 2 ms for the
    20 MB of GloVe-sized embeddings where a CRC checksum took 9 ms on every call; the
    price is the memory of the copy.  A read-only array that owns its data (a model
    loaded with ``read_only=True``) cannot change in place: it is neither copied nor
    compared, only checked to be the same, still read-only, object.
    """

    def __init__(self, params: dict, names):
        self.arrays = {k: params[k] for k in names}
        self.copies = {k: params[k].copy() for k in names if not _frozen(params[k])}

    def matches(self, params: dict) -> bool:
        for k, a in self.arrays.items():
            if params.get(k) is not a:
                return False
            copy = self.copies.get(k)
            if copy is None:
                if not _frozen(a):  # made writable since: it may have changed
                    return False
            elif not _same_bits(a, copy):
                return False
        return True


def _frozen(a: np.ndarray) -> bool:
    """True if nothing can write to ``a``: read-only, and not a view of another array."""
    return not a.flags.writeable and a.flags.owndata


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """True if two arrays have the same shape, dtype and bytes (NaN == NaN, 0.0 != -0.0)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    bits = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}.get(a.dtype.itemsize)
    if bits is None or a.dtype.kind not in "biuf":
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    return bool(np.array_equal(a.view(bits), b.view(bits)))
