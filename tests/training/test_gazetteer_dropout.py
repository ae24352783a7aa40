"""Match dropout in training: whole name-list matches hidden at random, drawn again every
epoch from a seeded generator of its own; the same config and seed give the same model."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import GAZETTEER
from nertag.config import load_config
from nertag.resources import sample_train
from nertag.text.conll import read_conll
from nertag.text.gazetteer import O
from nertag.training.loop import build_model, drop_gazetteer_matches, prepare, train


@pytest.fixture(scope="module")
def setup():
    cfg = load_config(None, GAZETTEER)
    corpus = read_conll(sample_train())
    model = build_model(cfg, corpus)
    return model, prepare(model, corpus)


def dropped(model, data, p, seed, epoch):
    X = data.X.copy()
    drop_gazetteer_matches(model, data, p, seed, epoch)
    out, data.X = data.X, X
    return out


def test_prepare_keeps_the_codes_as_matched(setup):
    model, data = setup
    F, C = model.arch.n_word_features, model.arch.token_features
    assert data.codes.shape == (len(data.y), C) and (data.codes != O).sum() > 500
    np.testing.assert_array_equal(data.X[:, model.arch.window, F:F + C], data.codes + 3)


def test_dropout_per_epoch_is_seeded(setup):
    model, data = setup
    codes_before = data.codes.copy()
    a = dropped(model, data, 0.3, seed=1, epoch=1)
    assert np.array_equal(a, dropped(model, data, 0.3, seed=1, epoch=1))     # same draws
    assert not np.array_equal(a, dropped(model, data, 0.3, seed=1, epoch=2))  # next epoch
    assert not np.array_equal(a, dropped(model, data, 0.3, seed=2, epoch=1))  # other seed
    np.testing.assert_array_equal(data.codes, codes_before)  # the raw codes stay
    F, C = model.arch.n_word_features, model.arch.token_features
    np.testing.assert_array_equal(a[:, :, :F], data.X[:, :, :F])  # other columns untouched
    np.testing.assert_array_equal(dropped(model, data, 0.0, 1, 1), data.X)


def test_dropout_hides_whole_matches_at_the_rate_asked(setup):
    model, data = setup
    F, C, w = model.arch.n_word_features, model.arch.token_features, model.arch.window
    shown = dropped(model, data, 0.5, seed=3, epoch=1)[:, w, F:F + C] - 3  # centre codes
    raw = data.codes
    kept = shown != O
    assert np.all(shown[kept] == raw[kept])             # a code is kept or set to O
    starts = (raw == 1) | (raw == 4)                     # B or S: one per match
    rate = 1 - (starts & kept).sum() / starts.sum()
    assert 0.45 < rate < 0.55
    # a match is hidden whole: B kept <=> its E kept
    for c in range(C):
        b = np.flatnonzero(raw[:, c] == 1)
        e = np.flatnonzero(raw[:, c] == 3)
        assert np.array_equal(kept[b, c], kept[e, c])


def test_same_config_and_seed_give_the_same_model(gazetteer_model):
    model, _ = train(load_config(None, GAZETTEER), report=False)
    saved = np.load(gazetteer_model / "weights.npz")
    assert sorted(saved.files) == sorted(model.params)
    for k in saved.files:
        assert saved[k].tobytes() == model.params[k].tobytes(), k
    other, _ = train(load_config(None, GAZETTEER[:-1] + ["train.gazetteer_dropout=0.6"]),
                     report=False)
    assert not np.array_equal(other.params["W"], model.params["W"])


def test_an_interrupted_run_resumes_to_the_same_model(gazetteer_model, tmp_path):
    """Ctrl-C mid-epoch and --resume: the match dropout of the epoch is drawn again, the
    same, so the run ends with the uninterrupted run's weights (and its lists)."""
    from nertag.modelio import GAZETTEER_FILE
    from nertag.training import checkpoint as ckpt

    out, calls = tmp_path / "model", {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] == 30  # in the first (and only) epoch

    with pytest.raises(ckpt.Interrupted) as e:
        train(load_config(None, GAZETTEER), output=out, should_stop=should_stop, report=False)
    assert (e.value.epoch, e.value.batch) == (1, 30)
    train(ckpt.load_config(out), output=out, resume=True, report=False)
    ref = np.load(gazetteer_model / "weights.npz")
    got = np.load(out / "weights.npz")
    for k in ref.files:
        assert ref[k].tobytes() == got[k].tobytes(), k
    assert (out / GAZETTEER_FILE).read_bytes() == (gazetteer_model / GAZETTEER_FILE).read_bytes()
