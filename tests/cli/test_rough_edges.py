"""What a new user meets first: the shipped model by name from any directory, --set on
every command, messages in command-line words, help that reads right, and each error
cited at one line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from nertag.resources import sample_dev, sample_train


def nertag(*args, cwd):
    """``nertag ARGS`` in a real process (stderr not a terminal) from directory ``cwd``."""
    return subprocess.run([sys.executable, "-m", "nertag", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_evaluate_and_gradcheck_name_the_shipped_model_from_any_directory(tmp_path):
    shutil.copy(sample_dev(), tmp_path / "dev.conll")
    r = nertag("evaluate", "default", "dev.conll", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["f1"] > 0.5
    r = nertag("gradcheck", "-m", "default", "--samples", "1", "--json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["models"][0]["model"] == "model default"


def test_help_examples_name_no_file_of_the_checkout():
    from typer.testing import CliRunner

    from nertag.cli import app

    for name in ("evaluate", "gradcheck", "serve", "train", "annotate", "calibrate"):
        text = CliRunner().invoke(app, [name, "--help"]).stdout
        assert "models/default" not in text and "data/sample" not in text, name


def test_usage_help_summaries_and_defaults_read_right():
    from typer.testing import CliRunner

    from nertag.cli import app

    def help_of(*args):
        return CliRunner().invoke(app, [*args, "--help"]).stdout

    assert " evaluate [OPTIONS] MODEL DATA\n" in help_of("evaluate")
    assert " convert [OPTIONS] IN OUT\n" in help_of("convert")
    assert " tag [OPTIONS] [FILE]...\n" in help_of("tag")
    top = help_of()
    commands = top[top.index("Commands:"):].splitlines()[1:]
    assert [line.split()[0] for line in commands if line.strip()] == [
        "train", "evaluate", "convert", "tag", "gradcheck", "benchmark", "serve", "annotate",
        "report", "calibrate"]
    assert not any(line.endswith("...") for line in commands)
    for args, option in ((("evaluate",), "--format"), (("convert",), "--from"),
                         (("convert",), "--to")):
        text = help_of(*args)
        block = text[text.index(f"  {option} "):].split("\n  -")[0]
        assert "(default:" in block and "[default:" not in block, block
    assert "a small random model" in help_of("gradcheck")


def test_gradcheck_set_changes_the_default_config_and_unknown_keys_fail(tmp_path):
    r = nertag("gradcheck", "--set", "model.hidden=3", "--samples", "1", "--json",
               cwd=tmp_path)
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["models"][0]["model"] == "config default"
    w = next(c for c in out["models"][0]["checks"] if c["name"] == "W")
    assert w["shape"][0] == 3
    r = nertag("gradcheck", "--set", "model.nonsense=3", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("error: override: unknown key 'model.nonsense'; valid keys: hidden, "
                        "activation, head, decoder, tag_scheme, dropout_input, dropout_hidden, "
                        "init_scale (--set KEY=VALUE)\n")
    r = nertag("gradcheck", "-m", "default", "--set", "model.hidden=3", cwd=tmp_path)
    assert r.returncode == 2 and "--set changes a config" in r.stderr


def test_gradcheck_config_reads_a_jsonl_training_file(tmp_path):
    r = nertag("convert", sample_train(), "train.jsonl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (tmp_path / "c.yaml").write_text("data:\n  train: train.jsonl\nmodel:\n  hidden: 5\n")
    r = nertag("gradcheck", "-c", "c.yaml", "--samples", "1", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["passed"] is True


def test_train_errors_have_no_blank_line_and_say_what_missing_data_is(tmp_path):
    r = nertag("train", "-c", "conll2003", "-o", "out", cwd=tmp_path)
    expected = (tmp_path / "../shared/data/conll2003/train.txt").resolve()
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (
        f"error: ../shared/data/conll2003/train.txt: data file not found; it is CoNLL-2003 "
        f"English, Reuters news, not shipped with nertag for licence reasons; 'data.train' "
        f"expects it at {expected} (relative to the current directory); put it there, or "
        f"give another file (--train FILE, --set KEY=VALUE)\n")
    r = nertag("train", "--set", "train.lr=0", "-o", "out", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == "error: override: 'train.lr' must be > 0, got 0.0 (--set KEY=VALUE)\n"
    assert not (tmp_path / "out").exists()


def test_show_config_prints_the_effective_config_and_exits(tmp_path):
    r = nertag("train", "--show-config", "--set", "model.hidden=3", "--seed", "9",
               cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    cfg = yaml.safe_load(r.stdout)
    assert cfg["model"]["hidden"] == 3 and cfg["train"]["seed"] == 9
    assert "# hidden layer size H" in r.stdout and not (tmp_path / "runs").exists()


def test_model_errors_speak_the_command_line(tmp_path):
    r = nertag("evaluate", tmp_path / "nope", sample_dev(), cwd=tmp_path)
    assert r.stderr == (f"error: {tmp_path / 'nope'}: model directory not found; give the "
                        f"path of a trained model directory (MODEL)\n")
    r = nertag("evaluate", "", sample_dev(), cwd=tmp_path)
    assert r.stderr == ("error: the model directory is an empty path; give the path of a "
                        "model directory (MODEL)\n")
    for args in (("tag", "-m", tmp_path / "nope", sample_dev()),
                 ("gradcheck", "-m", tmp_path / "nope")):
        r = nertag(*args, cwd=tmp_path)
        assert r.returncode == 1 and "nertag." not in r.stderr
        assert r.stderr.endswith("model directory not found; give the path of a trained "
                                 "model directory (--model DIR)\n"), r.stderr


def test_errors_and_html_cite_the_same_line(tmp_path):
    shutil.copy(sample_dev(), tmp_path / "dev.conll")
    r = nertag("evaluate", "default", "dev.conll", "--errors", "--json", "--html", "e.html",
               cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    errors = json.loads(r.stdout)["error_analysis"]["errors"]
    page = (tmp_path / "e.html").read_text(encoding="utf-8")
    cited = re.findall(r'<div class="where">(.*?)</div>', page)
    assert [w for places in cited for w in places.split(", ")] == \
        list(dict.fromkeys(e["where"] for e in errors))
    lines = (tmp_path / "dev.conll").read_text(encoding="utf-8").splitlines()
    for e in errors[:20]:  # the line is the entity's first token
        first = (e["gold"] or e["pred"]) if not (e["gold"] and e["pred"]) else \
            min(e["gold"], e["pred"], key=lambda x: x["start"])
        word = lines[int(e["where"].rsplit(":", 1)[1]) - 1].split()[0]
        assert word == first["text"].split()[0]


def test_report_names_the_shipped_model_and_writes_here_not_into_it(tmp_path):
    pytest.importorskip("matplotlib")
    from nertag.resources import default_model

    before = sorted(p.name for p in default_model().iterdir())
    r = nertag("report", "default", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in default_model().iterdir()) == before


@pytest.mark.parametrize("command", [("tag", "-m", ""), ("serve", "--port", "0", "-m", "")])
def test_an_empty_model_path_is_refused_not_read_as_this_directory(tmp_path, command):
    (tmp_path / "in.txt").write_text("Angela Merkel visited Paris.\n", encoding="utf-8")
    args = [*command, "in.txt"] if command[0] == "tag" else list(command)
    r = nertag(*args, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == ("error: the model directory is an empty path; give the path of a "
                        "model directory (--model DIR)\n")


def test_tag_names_the_shipped_model_as_default(tmp_path):
    (tmp_path / "in.txt").write_text("Angela Merkel visited Paris.\n", encoding="utf-8")
    named = nertag("tag", "-m", "default", "in.txt", "-f", "jsonl", cwd=tmp_path)
    plain = nertag("tag", "in.txt", "-f", "jsonl", cwd=tmp_path)
    assert named.returncode == 0 and named.stdout == plain.stdout and '"PER"' in plain.stdout


def test_train_from_the_shipped_model_works_without_its_vectors_file(tmp_path):
    # the shipped model was trained with ../shared/...glove (not there for an installed
    # nertag): continuing it reads that file only if it is there, else new words start
    # from random vectors, said in the log; the saved config says no vectors were read
    (tmp_path / "mine.conll").write_text(
        "Zorblax\tB-ORG\nopened\tO\nin\tO\nQuuxville\tB-LOC\n.\tO\n\n"
        "Mira\tB-PER\nlikes\tO\nZorblax\tB-ORG\n.\tO\n\n", encoding="utf-8")
    r = nertag("train", "--from", "default", "--train", "mine.conll", "--dev", "mine.conll",
               "--set", "train.epochs=1", "-o", "mine", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "new words (0 with pretrained vectors: no embeddings.path)" in r.stderr
    cfg = yaml.safe_load((tmp_path / "mine" / "config.yaml").read_text())
    assert cfg["embeddings"]["path"] is None
    r = nertag("tag", "-m", "mine", "-f", "conll", "mine.conll", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.split("\n")[0].startswith("Zorblax"), r.stderr
