"""Tests for nertag.inference.tables: TableScorer (precomputed products of embeddings and
W blocks) gives window.scores to float rounding and the same argmax, in every plan and
within a memory budget; ParamSnapshot notices any change of the parameters."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_same_scores, untrained
from nertag.inference import tables as fast
from nertag.nn import layers as L
from nertag.nn import window as M


@pytest.mark.parametrize("plan", ["auto", "tables", "light", "matmul",
                                  {"word": "table", "caps": "table"},
                                  {"word": "matmul", "caps": "joint"},
                                  {"word": "table", "caps": "matmul"}])
def test_fast_scorer_equals_plain_forward(trained, dev_words, plan):
    X = trained.featurizer.featurize(dev_words)
    ref = M.scores(trained.params, X, trained.arch)
    fs = fast.TableScorer(trained.params, trained.arch, plan=plan)
    assert_same_scores(ref, fs.scores(X))
    assert_same_scores(ref, fs.scores(X, chunk=7))  # a ragged last chunk


def test_table_is_the_product_of_embeddings_and_w_block(trained):
    """T[p] = E_f W_{p,f}ᵀ: one window's z is b + the sum of its rows."""
    fs = fast.TableScorer(trained.params, trained.arch, plan="tables")
    arch, p = trained.arch, trained.params
    X = trained.featurizer.featurize([["Peter", "Blackburn", "visited", "Paris", "."]])
    x, _ = L.embed_forward(X, M.tables(p, arch))
    z_ref = x @ p["W"].T + p["b"]
    z = p["b"].astype(np.float64).copy()
    for f, (name, _, _) in enumerate(arch.features):
        for q in range(arch.n):
            z = z + fs.tables[name][q][X[:, q, f]]
    assert np.abs(z - z_ref).max() < 1e-5


@pytest.mark.parametrize("overrides", [
    ("features.suffix_lengths=[2,3]", "features.prefix_lengths=[1]", "features.shape_dim=4"),
    ("features.window=0", "features.caps_dim=0"),
    ("features.window=4", "model.activation=relu", "train.dtype=float64"),
    ("model.head=crf", "model.activation=hardtanh"),
    ("features.char_dim=6", "features.char_width=5", "features.char_activation=linear"),
])
def test_other_architectures(dev_words, overrides):
    model = untrained(*overrides)
    X = model.featurizer.featurize(dev_words)
    ref = M.scores(model.params, X, model.arch)
    for plan in ("auto", "tables", "light"):
        assert_same_scores(ref, fast.TableScorer(model.params, model.arch, plan=plan).scores(X))


def test_partial_tables_for_the_most_frequent_words(trained, dev_words, monkeypatch):
    """A table that fits the budget only in part serves the first (most frequent) rows;
    rarer ids fall back to the product."""
    monkeypatch.setattr(fast, "MIN_TABLE_ROWS", 10)
    arch = trained.arch
    V = arch.features[0][1]
    budget = (V // 3) * arch.n * arch.hidden * 4
    fs = fast.TableScorer(trained.params, arch, plan="tables", budget_bytes=budget)
    assert fs.plan["word"] == "table" and fs.rows["word"] == V // 3
    assert fs.tables["word"].shape == (arch.n, V // 3, arch.hidden)
    X = trained.featurizer.featurize(dev_words)
    assert (X[:, :, 0] >= V // 3).any() and (X[:, :, 0] < V // 3).any()
    assert_same_scores(M.scores(trained.params, X, arch), fs.scores(X))


def test_memory_budget_and_empty_and_bad_ids(trained):
    fs = fast.TableScorer(trained.params, trained.arch, plan="tables", budget_bytes=0)
    assert fs.plan["word"] == "matmul" and "word" not in fs.tables and fs.plan["caps"] == "joint"
    K = trained.arch.n_labels
    assert fs.scores(np.zeros((0, trained.arch.n, 2), np.int32)).shape == (0, K)
    X = np.zeros((3, trained.arch.n, 2), np.int32)
    X[1, 2, 0] = trained.arch.features[0][1]  # one past the vocabulary
    with pytest.raises(IndexError):
        fast.TableScorer(trained.params, trained.arch, plan="tables").scores(X)
    with pytest.raises(ValueError):
        fast.TableScorer(trained.params, trained.arch, plan="fastest")


def test_param_snapshot_of_read_only_arrays_keeps_no_copy():
    """A loaded model's read-only arrays cannot change in place: no copy, no compare;
    a writable view, or an array made writable again, no longer counts as unchanged."""
    W = np.arange(12, dtype=np.float32).reshape(3, 4).copy()  # owns its data
    W.flags.writeable = False
    params = {"W": W}
    snap = fast.ParamSnapshot(params, ["W"])
    assert snap.copies == {} and snap.matches(params)
    W.flags.writeable = True
    assert not snap.matches(params)
    base = np.zeros((3, 4), np.float32)
    view = base[:]
    view.flags.writeable = False                      # read-only, but base can change it
    snap = fast.ParamSnapshot({"W": view}, ["W"])
    assert "W" in snap.copies
    base[0, 0] = 1
    assert not snap.matches({"W": view})


def test_param_snapshot_is_exact():
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((4, 6)).astype(np.float32), "E": np.zeros((3, 2)),
              "n": np.arange(5)}
    snap = fast.ParamSnapshot(params, ["W", "E", "n"])
    assert snap.matches(params)
    params["E"][1, 1] = np.nan
    assert not snap.matches(params)
    snap = fast.ParamSnapshot(params, ["W", "E", "n"])
    assert snap.matches(params)                       # NaN equals its own bits
    params["E"][0, 0] = -0.0                          # == 0.0, but other bits
    assert not snap.matches(params)
    snap = fast.ParamSnapshot(params, ["W", "E", "n"])
    params["W"][3, 5] = np.nextafter(params["W"][3, 5], np.float32(9))  # one ulp
    assert not snap.matches(params)
    snap = fast.ParamSnapshot(params, ["W", "E", "n"])
    params["n"] = params["n"][::-1].copy()
    assert not snap.matches(params)
    assert not snap.matches({k: v for k, v in params.items() if k != "W"})
