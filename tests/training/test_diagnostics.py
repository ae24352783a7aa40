"""What training records per epoch besides loss and dev scores: hidden-unit saturation
(exact shares on hand-made weights, for every activation), the fixed sample it is
measured on, and — on a real run — the saturation and dev confusion counts in
metrics.json, checked against the dev scores recorded next to them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nertag.config import load_config
from nertag.nn.arch import Arch
from nertag.training.diagnostics import SAMPLE, flat, sample_rows, saturation
from nertag.training.loop import train


def one_feature_model(activation: str, W, b):
    """Two hidden units reading one 1-d feature whose value is the word id: z = W·id + b."""
    arch = Arch(features=[("word", 3, 1)], window=0, hidden=2, n_labels=2,
                activation=activation)
    params = {"E_word": np.array([[0.0], [1.0], [2.0]]), "W": np.array(W, dtype=float),
              "b": np.array(b, dtype=float), "U": np.zeros((2, 2)), "c": np.zeros(2)}
    X = np.array([[[0]], [[1]], [[2]]])  # three windows: ids 0, 1, 2
    return params, X, arch


def test_flat_regions_per_activation():
    z = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    assert flat("tanh", z, np.tanh(z)).tolist() == [True, False, False, False, False, False,
                                                    True]  # tanh(3) = 0.99505
    h = 1 / (1 + np.exp(-np.array([-5.0, -4.0, 0.0, 4.0, 5.0])))
    assert flat("sigmoid", None, h).tolist() == [True, False, False, False, True]  # σ(5)=.9933
    assert flat("hardtanh", z, np.clip(z, -1, 1)).tolist() == [True, True, False, False, False,
                                                               True, True]
    assert flat("relu", z, np.maximum(z, 0)).tolist() == [True, True, True, True, False, False,
                                                          False]


@pytest.mark.parametrize("activation,W,b,saturated,dead", [
    # unit 0: z = 0, 10, 20 -> flat on 2 windows; unit 1: z = 5, 5, 5 -> flat on all three
    ("tanh", [[10.0], [0.0]], [0.0, 5.0], 5 / 6, 1 / 2),
    # unit 0: z = -1, -101, -201 (tanh(-1) = -0.76): flat on 2; unit 1: z = 0: never
    ("tanh", [[-100.0], [0.0]], [-1.0, 0.0], 2 / 6, 0.0),
    # σ(z) with z = -10, 0, 10 and z = 0, 0, 0
    ("sigmoid", [[10.0], [0.0]], [-10.0, 0.0], 2 / 6, 0.0),
    # relu: unit 0 z = -1, 0, 1 (active once), unit 1 z = -2, -3, -4 (dead)
    ("relu", [[1.0], [-1.0]], [-1.0, -2.0], 5 / 6, 1 / 2),
    # hardtanh: z = 0, 1, 2 (flat from |z| = 1 on: 2) and z = 0, 0.5, 1 (1)
    ("hardtanh", [[1.0], [0.5]], [0.0, 0.0], 3 / 6, 0.0),
])
def test_saturation_shares(activation, W, b, saturated, dead):
    params, X, arch = one_feature_model(activation, W, b)
    s = saturation(params, X, arch)
    assert s == {"activation": activation, "saturated": pytest.approx(saturated),
                 "dead": pytest.approx(dead), "windows": 3}


def test_saturation_of_no_windows():
    params, X, arch = one_feature_model("tanh", [[1.0], [1.0]], [0.0, 0.0])
    assert saturation(params, X[:0], arch)["windows"] == 0


def test_sample_is_fixed_sorted_and_bounded():
    assert sample_rows(10).tolist() == list(range(10))
    a, b = sample_rows(50_000), sample_rows(50_000)
    assert len(a) == SAMPLE and np.array_equal(a, b)
    assert (np.diff(a) > 0).all() and a[-1] < 50_000


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diag") / "model"
    model, history = train(load_config(None, ["train.epochs=2", "model.hidden=20"]),
                           output=out, report=False)
    return out, history


def test_every_epoch_records_saturation_confusion_and_grad_norms(run):
    out, history = run
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(history))
    for r in history:
        sat = r["saturation"]
        assert sat["activation"] == "tanh" and sat["windows"] == r["dev"]["n_tokens"]
        assert 0 <= sat["dead"] <= sat["saturated"] <= 1
        assert set(r["grad_norms"]) == {"W", "b", "U", "c", "E_word", "E_caps"}
        assert all(v > 0 for v in r["grad_norms"].values())
        # the confusion counts are the scorer's entities, seen from both sides
        conf, per_type = r["confusion"], r["dev"]["per_type"]
        for t, s in per_type.items():
            assert sum(conf.get(t, {}).values()) == s["support"], t        # gold t: a row
            assert sum(row.get(t, 0) for row in conf.values()) == s["predicted"], t
            assert conf[t][t] >= s["correct"]  # exact matches, plus overlaps of the same type
        assert "none" not in conf.get("none", {})
    assert history[0]["saturation"] != history[1]["saturation"]
