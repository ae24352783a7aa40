"""Calibrated entity scores end to end: fitted on the dev set by training, stored as
calibration.json (manifest), applied when tagging; ``nertag calibrate`` and its errors;
``nertag evaluate``'s ECE, ``--reliability`` and ``--types``."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

from conftest import SMALL, check_error
from nertag.config import load_config
from nertag.inference.calibration import (CALIBRATION_FILE, ece, entity_outcomes,
                                          model_calibration, reliability)
from nertag.modelio import load_model, sha256
from nertag.resources import sample_dev, sample_train
from nertag.tagging.chunks import tag_chunks
from nertag.text.conll import read_conll
from nertag.training.loop import train

TEXT = ("EU rejects German call to boycott British lamb .\n\nPeter Blackburn visited "
        "Brussels on Monday .\n\nThe European Commission said on Thursday it disagreed "
        "with German advice to consumers to shun British lamb .\n\nGermany 's "
        "representative to the European Union 's veterinary committee Werner Zwingmann "
        "said on Wednesday consumers should buy sheepmeat from countries other than "
        "Britain .\n")


def uncalibrated(src, dst):
    """A copy of model ``src`` without its calibration (as models were before it)."""
    shutil.copytree(src, dst)
    (dst / CALIBRATION_FILE).unlink()
    manifest = json.loads((dst / "manifest.json").read_text())
    del manifest[CALIBRATION_FILE]
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return dst


def _dev_outcomes(model):
    dev = read_conll(sample_dev())
    gold = [s.tags for s in dev.sentences]
    pred, conf = model.predict([s.words for s in dev.sentences], docs=dev.doc_sizes())
    return gold, pred, entity_outcomes(gold, pred, conf)


def test_training_with_a_dev_set_stores_its_calibration(small_model):
    manifest = json.loads((small_model / "manifest.json").read_text())
    assert manifest[CALIBRATION_FILE] == sha256(small_model / CALIBRATION_FILE)
    cal = model_calibration(load_model(small_model))
    info = cal.info
    assert info["data"] == str(sample_dev()) and info["entities"] > 0
    assert info["ece_after"] < 1e-9 < info["ece_before"]  # (in-sample)
    meta = json.loads((small_model / "meta.json").read_text())
    assert meta["provenance"]["calibration"] == info


def test_training_without_a_dev_set_has_no_calibration(tmp_path):
    out = tmp_path / "m"
    train(load_config(None, SMALL + [f"data.train={sample_train()}", "data.dev=null"]),
          output=out, report=False)
    assert not (out / CALIBRATION_FILE).exists()
    assert model_calibration(load_model(out)) is None


def test_scores_are_calibrated_and_a_model_without_calibration_is_unchanged(small_model,
                                                                            tmp_path):
    calibrated = load_model(small_model)
    raw = load_model(uncalibrated(small_model, tmp_path / "raw"))
    (a,) = tag_chunks(raw, [(0, TEXT)])
    (b,) = tag_chunks(calibrated, [(0, TEXT)])
    ents_a = [e for s in a.sentences for e in s.entities]
    ents_b = [e for s in b.sentences for e in s.entities]
    assert ents_a and [(e.start, e.end, e.label) for e in ents_a] == \
        [(e.start, e.end, e.label) for e in ents_b]
    # raw: the mean probability of the entity's tokens' tags, as before calibration
    words = [[t for t in s.tokens.texts] for s in a.sentences]
    tags, conf = raw.predict(words)
    from nertag.text.tags import get_entities
    want = [float(c[i:j].astype(np.float64).sum() / (j - i))
            for t, c in zip(tags, conf) for _, i, j in get_entities(t)]
    assert [e.score for e in ents_a] == pytest.approx(want, abs=1e-12)
    cal = model_calibration(calibrated)
    assert [e.score for e in ents_b] == cal(np.array([e.score for e in ents_a])).tolist()
    assert [e.score for e in ents_b] != [e.score for e in ents_a]


def test_the_manifest_covers_the_calibration(model_copy):
    path = model_copy / CALIBRATION_FILE
    path.write_text(path.read_text().replace('"method"', ' "method"', 1))
    with pytest.raises(Exception, match="calibration.json: checksum does not match"):
        load_model(model_copy)
    manifest = json.loads((model_copy / "manifest.json").read_text())
    del manifest[CALIBRATION_FILE]
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Exception, match="calibration.json: not listed in manifest.json"):
        load_model(model_copy)


# ---------------------------------------------------------------------- nertag calibrate
def test_calibrate_writes_a_calibrated_copy(cli, small_model, tmp_path):
    raw = uncalibrated(small_model, tmp_path / "raw")
    out = tmp_path / "out"
    r = cli("calibrate", raw, sample_dev(), "-o", out)
    assert r.exit_code == 0, r.output
    _, _, (scores, correct) = _dev_outcomes(load_model(raw))
    assert f"before: expected calibration error {ece(scores, correct):.4f} " in r.stdout
    assert "after:  expected calibration error 0.0000 " in r.stdout
    assert f"{len(scores)} entities" in r.stdout and "0.9–1.0" in r.stdout
    assert f"wrote {out}" in r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest[CALIBRATION_FILE] == sha256(out / CALIBRATION_FILE)
    assert (out / "weights.npz").read_bytes() == (raw / "weights.npz").read_bytes()
    cal = model_calibration(load_model(out))
    assert cal.info["data"] == str(sample_dev()) and cal.info["entities"] == len(scores)
    assert cal.info["ece_before"] == pytest.approx(ece(scores, correct), abs=1e-12)
    assert not (raw / CALIBRATION_FILE).exists()  # the input model is left as it was


def test_calibrate_on_another_models_scores(cli, small_model, gazetteer_model, tmp_path):
    out = tmp_path / "out"
    r = cli("calibrate", small_model, sample_dev(), "-o", out, "--scores-from",
            gazetteer_model)
    assert r.exit_code == 0, r.output
    _, _, (scores, correct) = _dev_outcomes(load_model(gazetteer_model))
    cal = model_calibration(load_model(out))
    assert cal.info["scores_from"] == str(gazetteer_model)
    assert cal.info["ece_before"] == pytest.approx(ece(scores, correct), abs=1e-12)
    assert (out / "weights.npz").read_bytes() == (small_model / "weights.npz").read_bytes()


def test_calibrate_errors(cli, small_model, tmp_path):
    check_error(cli("calibrate", tmp_path / "nope", sample_dev(), "-o", tmp_path / "o"), 1,
                "nope: model directory not found", "(MODEL)")
    empty = tmp_path / "docs.conll"
    empty.write_text("-DOCSTART- -X- -X- O\n\n", encoding="utf-8")
    check_error(cli("calibrate", small_model, empty, "-o", tmp_path / "o"), 1,
                f"{empty}: no sentences to calibrate on", "(DATA)")
    assert not (tmp_path / "o").exists()
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    check_error(cli("calibrate", small_model, sample_dev(), "-o", out), 2,
                f"{out}: directory exists and is not empty", "--force")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    r = cli("calibrate", small_model, sample_dev(), "-o", out, "--force")
    assert r.exit_code == 0, r.output
    assert (out / CALIBRATION_FILE).is_file() and not (out / "mine.txt").exists()
    check_error(cli("calibrate", out, sample_dev(), "-o", out, "--force"), 2,
                "is the model directory itself")


# ---------------------------------------------------------------------- nertag evaluate
def test_evaluate_prints_the_calibration_error(cli, small_model, tmp_path):
    _, _, (raw, correct) = _dev_outcomes(load_model(small_model))
    cal = model_calibration(load_model(small_model))
    want = ece(cal(raw), correct)
    r = cli("evaluate", small_model, sample_dev(), "--reliability")
    assert r.exit_code == 0, r.output
    assert (f"expected calibration error {want:.4f} (entity level, 10 bins, {len(raw)} "
            f"entities; calibrated scores)") in r.stdout
    table = reliability(cal(raw), correct)
    row = next(b for b in table if b.count)
    assert f"{row.low:.1f}–{row.high:.1f}" in r.stdout and f"{row.accuracy:.3f}" in r.stdout
    got = json.loads(cli("evaluate", small_model, sample_dev(), "--json",
                         "--reliability").stdout)["calibration"]
    assert got["ece"] == pytest.approx(want, abs=1e-12) and got["entities"] == len(raw)
    assert got["calibrated"] is True
    assert [b["count"] for b in got["reliability"]] == [b.count for b in table]
    raw_model = uncalibrated(small_model, tmp_path / "raw")
    r = cli("evaluate", raw_model, sample_dev())
    assert f"expected calibration error {ece(raw, correct):.4f} " in r.stdout
    assert "raw scores: the model has no calibration" in r.stdout


def test_evaluate_types_scores_only_those_types(cli, small_model):
    seqeval = pytest.importorskip("seqeval.metrics")
    gold, pred, _ = _dev_outcomes(load_model(small_model))
    keep = {"PER", "LOC"}
    only = [[t if t == "O" or t[2:] in keep else "O" for t in s] for s in gold]
    only_pred = [[t if t == "O" or t[2:] in keep else "O" for t in s] for s in pred]
    got = json.loads(cli("evaluate", small_model, sample_dev(), "--json",
                         "--types", "PER,LOC").stdout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert got["f1"] == pytest.approx(seqeval.f1_score(only, only_pred), abs=1e-12)
        assert got["precision"] == pytest.approx(seqeval.precision_score(only, only_pred),
                                                 abs=1e-12)
        assert got["recall"] == pytest.approx(seqeval.recall_score(only, only_pred), abs=1e-12)
    assert set(got["per_type"]) == keep
    assert got["f1"] != json.loads(cli("evaluate", small_model, sample_dev(),
                                       "--json").stdout)["f1"]
    check_error(cli("evaluate", small_model, sample_dev(), "--types", "PER,FOO"), 2,
                "--types: 'FOO' is not an entity type of the model; its types are LOC, MISC, "
                "ORG, PER")
