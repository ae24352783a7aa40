"""Training on the sample corpus (data/sample): determinism, loss, the scores recorded in
the history vs the saved model, early stopping, the graph backend, float64, BIOES and the
binary and CRF heads. Every run is small (hidden 50, 2 epochs) and shared per module."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nertag import modelio
from nertag.text import tags as tagmod
from nertag.config import load_config
from nertag.text.conll import read_conll
from nertag.resources import sample_dev
from nertag.text.scoring import evaluate
from nertag.training.loop import train

BASE = ["model.hidden=50", "train.epochs=2"]
F1_FLOOR = 0.35   # measured after 2 epochs: softmax ≈ 0.56, binary ≈ 0.54, crf ≈ 0.47–0.51;
                  # predicting only O scores 0


@pytest.fixture(scope="module")
def dev():
    return read_conll(sample_dev())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Lazily trained runs, each at most once per module: name -> (model, history, dir)."""
    cache = {}
    specs = {
        "a": (BASE, "hand"),
        "a_again": (BASE, "hand"),
        "seed2": (BASE + ["train.seed=2"], "hand"),
        "graph": (BASE, "graph"),
        "f64": (BASE + ["train.dtype=float64"], "hand"),
        "bioes": (BASE + ["model.tag_scheme=bioes"], "hand"),
        "binary": (BASE + ["model.head=binary"], "hand"),
        "crf": (BASE + ["model.head=crf", "train.batch_size=32"], "hand"),
        # adam at this lr peaks on dev at epoch 4 and stops at epoch 5 (patience 1)
        "early": (["model.hidden=50", "train.epochs=8", "train.patience=1",
                   "train.optimizer=adam", "train.lr=0.01"], "hand"),
    }

    def get(name):
        if name not in cache:
            overrides, backend = specs[name]
            out = tmp_path_factory.mktemp(name) / "model"
            model, history = train(load_config("default", overrides), output=out, backend=backend)
            cache[name] = (model, history, out)
        return cache[name]
    return get


def words(corpus):
    return [s.words for s in corpus.sentences]


def gold(corpus):
    return [s.tags for s in corpus.sentences]


# ------------------------------------------------------------------ (a) determinism
def test_same_seed_bit_identical_weights(runs):
    a, ha, _ = runs("a")
    b, hb, _ = runs("a_again")
    assert a.params.keys() == b.params.keys()
    for k in a.params:
        assert a.params[k].dtype == np.float32
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)
    assert [r["loss"] for r in ha] == [r["loss"] for r in hb]
    assert [r["dev"] for r in ha] == [r["dev"] for r in hb]


def test_different_seed_different_weights(runs):
    a, _, _ = runs("a")
    c, _, _ = runs("seed2")
    for k in ("E_word", "W", "U"):
        assert not np.array_equal(a.params[k], c.params[k]), k
        assert np.abs(a.params[k] - c.params[k]).max() > 1e-3


# ------------------------------------------------------------------ (b) loss
def test_loss_decreases(runs):
    for name in ("a", "binary", "crf"):
        _, history, _ = runs(name)
        losses = [r["loss"] for r in history]
        assert len(losses) == 2 and all(np.isfinite(losses))
        assert losses[1] < 0.8 * losses[0], (name, losses)


# ------------------------------------------------------------------ (c) history vs evaluate
def test_history_dev_f1_equals_evaluate_on_saved_model(runs, dev):
    model, history, out = runs("a")
    best = [r for r in history if r["best"]][-1]
    loaded = modelio.load_model(out)
    pred, _ = loaded.predict(words(dev))
    ev = evaluate(gold(dev), pred)
    assert ev.f1 == best["dev"]["f1"]
    assert ev.as_dict() == best["dev"]
    # metrics.json is the returned history
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(history))


# ------------------------------------------------------------------ (d) saved == in memory
def test_saved_model_predicts_bit_identically(runs, dev):
    model, history, out = runs("a")
    loaded = modelio.load_model(out)
    for k in model.params:
        assert loaded.params[k].dtype == model.params[k].dtype
        np.testing.assert_array_equal(loaded.params[k], model.params[k])
    assert loaded.labels == model.labels
    assert loaded.featurizer.vocabs() == model.featurizer.vocabs()
    X = model.windows(words(dev))
    np.testing.assert_array_equal(loaded.windows(words(dev)), X)
    np.testing.assert_array_equal(loaded.scores(X), model.scores(X))
    p1, c1 = model.predict(words(dev))
    p2, c2 = loaded.predict(words(dev))
    assert p1 == p2
    for a, b in zip(c1, c2):
        np.testing.assert_array_equal(a, b)
    assert evaluate(gold(dev), p1).as_dict() == evaluate(gold(dev), p2).as_dict()


# ------------------------------------------------------------------ (e) early stopping
def test_early_stopping_restores_best_epoch(runs, dev):
    model, history, out = runs("early")
    f1s = [r["dev"]["f1"] for r in history]
    assert len(history) < 8, "expected this run to stop early"
    assert history[-1]["best"] is False
    best_epoch = int(np.argmax(f1s)) + 1
    assert history[best_epoch - 1]["best"] is True
    assert not any(r["best"] for r in history[best_epoch:])  # later epochs: no gain
    pred, _ = modelio.load_model(out).predict(words(dev))
    saved_f1 = evaluate(gold(dev), pred).f1
    assert saved_f1 == max(f1s)
    pred_mem, _ = model.predict(words(dev))
    assert evaluate(gold(dev), pred_mem).f1 == max(f1s)


# ------------------------------------------------------------------ (f) graph backend
def test_graph_backend_matches_hand_backend(runs, dev):
    hand, hh, _ = runs("a")
    graph, hg, _ = runs("graph")
    diff = max(float(np.abs(hand.params[k].astype(np.float64) - graph.params[k]).max())
               for k in hand.params)
    print(f"graph vs hand: max abs weight difference {diff:.3g}")
    assert all(graph.params[k].dtype == np.float32 for k in graph.params)
    assert diff < 1e-5                              # float32 rounding (measured ≈ 5e-7)
    p_hand, _ = hand.predict(words(dev))
    p_graph, _ = graph.predict(words(dev))
    assert p_hand == p_graph
    np.testing.assert_allclose([r["loss"] for r in hg], [r["loss"] for r in hh], rtol=1e-5)


# ------------------------------------------------------------------ (g) float64
def test_float64_trains(runs, dev):
    m64, h64, out = runs("f64")
    m32, h32, _ = runs("a")
    assert all(v.dtype == np.float64 for v in m64.params.values())
    assert all(v.dtype == np.float64 for v in modelio.load_model(out).params.values())
    assert h64[1]["loss"] < h64[0]["loss"]
    assert h64[-1]["dev"]["f1"] > F1_FLOOR
    # the same run as float32 up to rounding: same init, same batches, same dropout masks
    diff = max(float(np.abs(m64.params[k] - m32.params[k]).max()) for k in m64.params)
    assert diff < 1e-4


# ------------------------------------------------------------------ (h) BIOES
def test_bioes_trains_and_predicts_bio(runs, dev):
    model, history, out = runs("bioes")
    assert model.scheme == "bioes"
    assert any(lab.startswith("S-") for lab in model.labels)
    assert any(lab.startswith("E-") for lab in model.labels)
    pred, _ = model.predict(words(dev))
    flat = {t for s in pred for t in s}
    assert all(t == "O" or t[:2] in ("B-", "I-") for t in flat)
    assert any(t.startswith("I-") for t in flat)
    for s in pred:          # well-formed BIO (constrained decoding in BIOES, then converted)
        assert tagmod.convert(s, "bio", "bio") == s
    f1 = evaluate(gold(dev), pred).f1
    assert f1 > F1_FLOOR
    assert f1 == history[-1]["dev"]["f1"]
    pred2, _ = modelio.load_model(out).predict(words(dev))
    assert pred2 == pred


# ------------------------------------------------------------------ (i) heads
@pytest.mark.parametrize("head", ["binary", "crf"])
def test_other_heads_train_above_floor(runs, dev, head):
    model, history, out = runs(head)
    assert model.arch.head == head
    f1 = history[-1]["dev"]["f1"]
    assert f1 > F1_FLOOR, (head, [r["dev"]["f1"] for r in history])
    pred, _ = modelio.load_model(out).predict(words(dev))
    assert evaluate(gold(dev), pred).f1 == f1
    if head == "crf":
        assert {"A", "start", "end"} <= set(model.params)
        assert np.abs(model.params["A"]).max() > 0   # transitions were learned


# ------------------------------------------------------------------ training data formats
@pytest.mark.parametrize("fmt", ["io", "jsonl", "doccano", "prodigy"])
def test_every_training_format_trains_the_same_model(tmp_path, fmt):
    """The sample converted to each format (train and dev) trains bit-identical weights to
    the CoNLL original: the readers give back the same sentences, words and tags."""
    from nertag.resources import sample_train
    from nertag.text.datasets import convert

    small = ["model.hidden=20", "train.epochs=1"]
    ref_dir, out = tmp_path / "conll", tmp_path / fmt
    convert(sample_train(), tmp_path / "train.x", to=fmt)
    convert(sample_dev(), tmp_path / "dev.x", to=fmt)
    _, history = train(load_config("default", small), output=ref_dir)
    _, got_history = train(load_config("default", small + [f"data.format={fmt}"]), output=out,
                           train_path=tmp_path / "train.x", dev_path=tmp_path / "dev.x")
    ref, got = np.load(ref_dir / "weights.npz"), np.load(out / "weights.npz")
    assert sorted(ref.files) == sorted(got.files)
    assert all(np.array_equal(ref[k], got[k]) for k in ref.files)
    assert got_history[-1]["dev"] == history[-1]["dev"]


def test_reader_notes_are_training_warnings(tmp_path):
    p = tmp_path / "prodigy.jsonl"
    p.write_text(json.dumps({"text": "Bob met Ann.", "spans": [
        {"start": 0, "end": 3, "label": "PER"}]}) + "\n"
        + json.dumps({"text": "Ann", "spans": [], "answer": "reject"}) + "\n", encoding="utf-8")
    events = []
    train(load_config("default", ["model.hidden=5", "train.epochs=1"]), output=tmp_path / "m",
          train_path=p, callback=lambda e, info: events.append((e, info)))
    warnings = [info["message"] for e, info in events if e == "warn"]
    assert f"{p}: skipped 1 record(s) answered 'reject'" in warnings


def test_embeddings_lr_scale_moves_the_word_vectors_further(tmp_path):
    """embeddings.lr_scale=10 multiplies the word table's learning rate only: after the
    same first batches its rows have moved further from their start than at 1."""
    from nertag.resources import sample_train
    from nertag.training.data import build_model, read_corpora

    moved = {}
    for scale in (1, 10):
        cfg = load_config("default", ["model.hidden=20", "train.epochs=1",
                                      f"data.train={sample_train()}",
                                      f"embeddings.lr_scale={scale}"])
        start = build_model(cfg, read_corpora(cfg, lambda *a: None)[0]).params["E_word"]
        model, _ = train(cfg, output=tmp_path / str(scale))
        moved[scale] = float(np.abs(model.params["E_word"] - start).sum())
    assert moved[10] > 3 * moved[1] > 0
