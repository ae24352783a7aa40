"""Tests for nertag.modelio (more, on broken model directories, in test_reliability.py)."""

from __future__ import annotations

import numpy as np
import pytest

from nertag import modelio
from nertag.atomic import check_output_dir
from nertag.errors import NertagError


def test_a_model_loaded_read_only_refuses_changes_and_tags_the_same(tmp_path):
    from nertag.modelio import load_model
    from nertag.resources import default_model

    ro = load_model(default_model(), read_only=True)
    rw = load_model(default_model())
    assert all(not a.flags.writeable for a in ro.params.values())
    with pytest.raises(ValueError):
        ro.params["W"][0, 0] = 0
    ro.fast_inference = rw.fast_inference = True
    words = [["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]]
    (tags_ro, conf_ro), (tags_rw, conf_rw) = ro.predict(words), rw.predict(words)
    assert tags_ro == tags_rw and tags_ro[0][:3] == ["B-ORG", "O", "B-MISC"]
    for a, b in zip(conf_ro, conf_rw):
        np.testing.assert_array_equal(a, b)


def test_a_character_model_saves_its_characters_and_tags_the_same_after_reload(tmp_path):
    import json

    from nertag.config import load_config
    from nertag.errors import NertagError
    from nertag.modelio import load_model
    from nertag.training.loop import train

    out = tmp_path / "chars"
    model, _ = train(load_config("default", ["model.hidden=30", "train.epochs=1",
                                             "features.char_dim=6", "features.char_filters=8"]),
                     output=out)
    vocab = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["chars"] == model.featurizer.chars.vocab.items
    assert vocab["chars"][:3] == ["<s>", "</s>", "<unk>"]
    with np.load(out / "weights.npz") as z:
        assert {"C_char", "K_char", "b_char"} <= set(z.files)
    loaded = load_model(out)
    assert loaded.arch == model.arch
    words = [["EU", "rejects", "German", "call", "."], ["Łódź", "Zzyzx", "Müller", "said"]]
    for fast in (False, True):
        model.fast_inference = loaded.fast_inference = fast
        (t1, c1), (t2, c2) = model.predict(words), loaded.predict(words)
        assert t1 == t2
        for a, b in zip(c1, c2):
            np.testing.assert_array_equal(a, b)
    del vocab["chars"]  # a vocab.json without the characters the config asks for
    (out / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    with pytest.raises(NertagError, match="vocab.json: does not match config.yaml's features"):
        load_model(out, verify=False)


def test_the_checkpoint_of_an_interrupted_run_is_named_as_such(tmp_path):
    """``-m X.partial`` (what Ctrl-C leaves beside X) says where the model is and how
    to resume, instead of naming a missing weights.npz."""
    partial = tmp_path / "run.partial"
    (partial / "checkpoint").mkdir(parents=True)
    with pytest.raises(NertagError) as e:
        modelio.load_model(partial)
    assert str(e.value) == (
        f"{partial}: the checkpoint of an interrupted training run, not a model; the best "
        f"epoch so far is the model in {tmp_path / 'run'}, and resuming the run in "
        f"{tmp_path / 'run'} continues it")


def _rewrite_weights(d, change) -> None:
    """Change weights.npz as someone editing a model by hand would, checksums made to match."""
    import json

    with np.load(d / "weights.npz") as z:
        w = {k: z[k] for k in z.files}
    change(w)
    np.savez(d / "weights.npz", **w)
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["weights.npz"] = modelio.sha256(d / "weights.npz")
    (d / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_parameters_are_refused_naming_the_array(model_copy, bad):
    def poison(w):
        w["U"] = np.full_like(w["U"], bad)

    _rewrite_weights(model_copy, poison)
    with pytest.raises(NertagError) as e:
        modelio.load_model(model_copy)
    assert e.value.message == (f"{model_copy / 'weights.npz'}: parameter U has non-finite "
                               f"values (NaN or infinity); retrain the model")


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_model_path_is_refused_not_the_current_directory(empty, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    for call in (modelio.model_path, modelio.load_model):
        with pytest.raises(NertagError) as e:
            call(empty)
        assert e.value.message == ("the model directory is an empty path; give the path of "
                                   "a model directory") and e.value.inputs == ("model",)


def test_default_names_the_shipped_model_unless_a_directory_has_that_name(tmp_path,
                                                                          monkeypatch):
    from nertag.resources import default_model

    monkeypatch.chdir(tmp_path)
    assert modelio.model_path(None) == modelio.model_path("default") == default_model()
    (tmp_path / "default").mkdir()
    assert modelio.model_path("default") == modelio.model_path("./default") == \
        modelio.model_path(tmp_path / "default").relative_to(tmp_path)


@pytest.mark.parametrize("make,inputs", [
    (lambda d: d / "nope", ("model",)),
    (lambda d: (d / "f").write_text("x") and d / "f", ("model",)),
])
def test_load_errors_name_no_command_line_option(tmp_path, make, inputs):
    with pytest.raises(NertagError) as e:
        modelio.load_model(make(tmp_path))
    assert "--" not in e.value.message and e.value.inputs == inputs


def test_output_errors_name_what_fixes_them(tmp_path):
    (tmp_path / "keep").write_text("x")
    with pytest.raises(NertagError) as e:
        check_output_dir(tmp_path, force=False)
    assert e.value.message == (f"{tmp_path}: directory exists and is not empty; choose "
                               f"another output directory, or replace it")
    assert e.value.inputs == ("output", "force")
    with pytest.raises(NertagError) as e:
        check_output_dir(tmp_path / "keep", force=True)
    assert "--" not in e.value.message and e.value.inputs == ("output",)
