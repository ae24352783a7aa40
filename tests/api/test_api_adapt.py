"""``nertag.train(..., base=MODEL)``: continuing a trained model from Python."""

from __future__ import annotations

import json

import pytest

import nertag
from nertag.errors import NertagError
from nertag.modelio import load_model
from nertag.resources import sample_dev, sample_train


def _user(tmp_path):
    lines = []
    for line in sample_dev().read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] != "-DOCSTART-":
            line = " ".join(parts[:-1] + [parts[-1].replace("-MISC", "-gadget")])
        lines.append(line)
    path = tmp_path / "user.conll"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_train_with_a_base_continues_it(small_model, tmp_path):
    out = nertag.train(base=small_model, train=_user(tmp_path), output=tmp_path / "m",
                       overrides={"train.epochs": 1, "labels.map.gadget": "MISC"},
                       rehearse=sample_train())
    model, base = load_model(out), load_model(small_model)
    assert model.labels == base.labels  # gadget -> MISC: no new type
    assert model.cfg.train.base == str(small_model) and model.cfg.train.epochs == 1
    assert model.cfg.model.hidden == base.cfg.model.hidden
    assert model.cfg.labels.map == {"gadget": "MISC"}
    prov = json.loads((out / "meta.json").read_text())["provenance"]
    assert prov["rehearsal"]["file"]["path"] == str(sample_train())
    doc = nertag.load(out)("Kim lives in Paris.")
    assert len(doc) == 5 and {e.label for e in doc.ents} <= {"LOC", "MISC", "ORG", "PER"}


def test_train_with_a_base_refuses_another_architecture(small_model, tmp_path):
    with pytest.raises(NertagError, match=r"^nertag.train\(\) overrides: 'model.hidden' is 9 "
                                          r"but 20 in the base model"):
        nertag.train(base=small_model, train=_user(tmp_path), output=tmp_path / "m",
                     overrides=["model.hidden=9"])
    assert not (tmp_path / "m").exists()


def test_evaluate_reads_the_gold_through_the_models_label_map(small_model, tmp_path):
    """A model trained with labels.map {gadget: MISC} scores a file tagged ``gadget``
    exactly as the same file tagged ``MISC``; without the map, gadget is a type it lacks."""
    user = _user(tmp_path)
    out = nertag.train(base=small_model, train=user, output=tmp_path / "m",
                       overrides={"train.epochs": 1, "labels.map.gadget": "MISC"})
    mapped, original = nertag.evaluate(out, user), nertag.evaluate(out, sample_dev())
    assert mapped.as_dict() == original.as_dict() and "MISC" in mapped.per_type
    assert "gadget" not in mapped.per_type
    p = nertag.api.runs.predict_file(small_model, user)  # the base: no map
    assert p.unknown_types["gadget"] > 0


def test_the_calibration_reads_the_dev_gold_through_the_label_map(small_model, tmp_path):
    """The calibration fitted at the end of training (on the dev file, tagged ``gadget``)
    and ``nertag calibrate`` on that file are the fits on the same file tagged ``MISC``:
    unmapped, every MISC entity would count as wrong and its scores be pulled to 0."""
    from nertag.training.calibrate import calibrated_copy

    user = _user(tmp_path)
    out = nertag.train(base=small_model, train=sample_train(), dev=user,
                       output=tmp_path / "m",
                       overrides={"train.epochs": 1, "labels.map.gadget": "MISC"})
    trained = json.loads((out / "calibration.json").read_text())
    mapped = calibrated_copy(out, user, tmp_path / "c1").calibration
    plain = calibrated_copy(out, sample_dev(), tmp_path / "c2").calibration
    assert mapped.info["entities"] == plain.info["entities"] == trained["fitted_on"]["entities"]
    assert mapped.info["ece_before"] == plain.info["ece_before"] \
        == trained["fitted_on"]["ece_before"]
    assert json.loads(mapped.to_json())["y"] == json.loads(plain.to_json())["y"] == trained["y"]
