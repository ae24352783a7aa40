"""``nertag train --from MODEL``: a continued run end to end, and its one-line errors
(exit code, the file or key named, nothing written)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import check_error

from nertag.resources import sample_dev, sample_train


def _user(tmp_path):
    lines = []
    for line in sample_dev().read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] != "-DOCSTART-":
            line = " ".join(parts[:-1] + [parts[-1].replace("-MISC", "-product")])
        lines.append(line)
    path = tmp_path / "user.conll"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_from_a_model_trains_tags_and_evaluates(cli, small_model, tmp_path):
    user, out = _user(tmp_path), tmp_path / "adapted"
    r = cli("train", "-q", "--from", small_model, "--train", user, "--dev", user,
            "--set", "train.epochs=2", "--set", "labels.map.product=MISC", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert "saved the best epoch (" in r.stderr and "of 2," in r.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["labels"] == json.loads((small_model / "meta.json").read_text())["labels"]
    assert meta["provenance"]["base"]["path"] == str(small_model)
    r = cli("tag", "-m", out, "--format", "conll", "-", input="Kim lives in Paris .\n")
    assert r.exit_code == 0 and len(r.stdout.split("\n")[0].split()) >= 2, r.stderr
    r = cli("evaluate", out, user, "--json")
    assert r.exit_code == 0, r.stderr
    assert 0 <= json.loads(r.stdout)["f1"] <= 1


def test_new_types_extend_the_labels(cli, small_model, tmp_path):
    user, out = _user(tmp_path), tmp_path / "adapted"
    r = cli("train", "-q", "--from", small_model, "--train", user, "--set", "train.epochs=1",
            "-o", out)
    assert r.exit_code == 0, r.stderr
    labels = json.loads((out / "meta.json").read_text())["labels"]
    base = json.loads((small_model / "meta.json").read_text())["labels"]
    assert labels == base + ["B-product", "I-product"]


@pytest.mark.parametrize("args, code, fragments", [
    (["--from", "{tmp}/nothere"], 1, ["nothere: model directory not found",
                                     "'train.base'", "(--from MODEL)"]),
    (["--from", "{user}"], 1, ["user.conll: not a directory", "(--from MODEL)"]),
    (["--from", "{model}", "-c", "conll2003"], 2,
     ["conll2003.yaml: 'features.", "in the base model", "train from scratch",
      "(--config NAME|FILE)"]),
    (["--from", "{model}", "--set", "model.hidden=7"], 2,
     ["override: 'model.hidden' is 7 but 20 in the base model", "(--set KEY=VALUE)"]),
    (["--from", "{model}", "--set", "labels.map.product=PRODUCT"], 2,
     ["'labels.map': product -> PRODUCT: PRODUCT is neither a type of the base model nor "
      "of", "known types: LOC, MISC, ORG, PER, product"]),
    (["--from", "{model}", "--rehearse", "{tmp}/empty.conll"], 1,
     ["empty.conll: file is empty", "'train.rehearse'", "(--rehearse FILE)"]),
    (["--from", "{model}", "--rehearse", "{tmp}/docstart.conll"], 2,
     ["docstart.conll: no sentences found in the rehearsal file ('train.rehearse')"]),
    (["--rehearse", "{user}"], 2, ["--rehearse mixes a base model's training data",
                                   "add --from MODEL"]),
])
def test_errors_are_one_line_and_write_nothing(cli, small_model, tmp_path, args, code,
                                              fragments):
    user = _user(tmp_path)
    (tmp_path / "empty.conll").write_text("")
    (tmp_path / "docstart.conll").write_text("-DOCSTART- -X- O O\n\n")
    args = [a.format(tmp=tmp_path, user=user, model=small_model) for a in args]
    out = tmp_path / "out"
    r = cli("train", "--train", user, "-o", out, *args)
    check_error(r, code, *fragments)
    assert not out.exists()


def test_from_with_resume_is_refused(cli, small_model, tmp_path):
    r = cli("train", "--from", small_model, "--resume", tmp_path / "run")
    check_error(r, 2, "--resume continues a run with its saved config (a run started with "
                      "--from too); do not combine it with --from")


def test_from_needs_training_data(cli, small_model, tmp_path):
    r = cli("train", "--from", small_model, "-o", tmp_path / "out")
    check_error(r, 2, "needs your training data", "(--train FILE)")
    assert not (tmp_path / "out").exists()


def test_show_config_with_from_is_the_base_config(cli, small_model, tmp_path):
    r = cli("train", "--from", small_model, "--show-config", "--rehearse", sample_train())
    assert r.exit_code == 0, r.stderr
    assert "hidden: 20 " in r.stdout and "epochs: 5 " in r.stdout
    assert f"base: {small_model} " in r.stdout and f"rehearse: {sample_train()} " in r.stdout


def test_from_with_a_config_of_the_same_architecture_uses_its_training_keys(cli, small_model,
                                                                           tmp_path):
    own = tmp_path / "own.yaml"
    own.write_text((small_model / "config.yaml").read_text().replace("epochs: 1", "epochs: 2"))
    out = tmp_path / "m"
    r = cli("train", "-q", "--from", small_model, "-c", own, "--train", _user(tmp_path),
            "-o", out)
    assert r.exit_code == 0, r.stderr
    assert re.search(r"saved the best epoch \(\d of 2\b", r.stderr), r.stderr  # not 5
    cfg = (out / "config.yaml").read_text()
    assert f"base: {small_model}\n" in cfg and "epochs: 2\n" in cfg


def test_from_default_is_the_shipped_model(cli, tmp_path, monkeypatch):
    from nertag.resources import default_model

    monkeypatch.chdir(tmp_path)  # (no ./default here)
    r = cli("train", "--from", "default", "--show-config")
    assert r.exit_code == 0, r.stderr
    assert f"base: {default_model()} " in r.stdout
