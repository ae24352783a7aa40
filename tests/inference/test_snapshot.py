"""Tests for nertag.inference.snapshot: ParamSnapshot notices any change of the parameters
(in place, one ulp, NaN's bits, −0.0, a new array), and keeps no copy of read-only arrays."""

from __future__ import annotations

import numpy as np

from nertag.inference.snapshot import ParamSnapshot


def test_param_snapshot_of_read_only_arrays_keeps_no_copy():
    """A loaded model's read-only arrays cannot change in place: no copy, no compare;
    a writable view, or an array made writable again, no longer counts as unchanged."""
    W = np.arange(12, dtype=np.float32).reshape(3, 4).copy()  # owns its data
    W.flags.writeable = False
    params = {"W": W}
    snap = ParamSnapshot(params, ["W"])
    assert snap.copies == {} and snap.matches(params)
    W.flags.writeable = True
    assert not snap.matches(params)
    base = np.zeros((3, 4), np.float32)
    view = base[:]
    view.flags.writeable = False                      # read-only, but base can change it
    snap = ParamSnapshot({"W": view}, ["W"])
    assert "W" in snap.copies
    base[0, 0] = 1
    assert not snap.matches({"W": view})


def test_param_snapshot_is_exact():
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((4, 6)).astype(np.float32), "E": np.zeros((3, 2)),
              "n": np.arange(5)}
    snap = ParamSnapshot(params, ["W", "E", "n"])
    assert snap.matches(params)
    params["E"][1, 1] = np.nan
    assert not snap.matches(params)
    snap = ParamSnapshot(params, ["W", "E", "n"])
    assert snap.matches(params)                       # NaN equals its own bits
    params["E"][0, 0] = -0.0                          # == 0.0, but other bits
    assert not snap.matches(params)
    snap = ParamSnapshot(params, ["W", "E", "n"])
    params["W"][3, 5] = np.nextafter(params["W"][3, 5], np.float32(9))  # one ulp
    assert not snap.matches(params)
    snap = ParamSnapshot(params, ["W", "E", "n"])
    params["n"] = params["n"][::-1].copy()
    assert not snap.matches(params)
    assert not snap.matches({k: v for k, v in params.items() if k != "W"})
