"""``nertag report``: rebuilds a model's report.html (or writes it elsewhere, or scores
another file); one-line errors for what is not a model; and without matplotlib, one
line naming the extra, both from ``nertag report`` and after ``nertag train`` (which
still saves the model)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import SMALL

EXTRA = "pip install 'nertag[report]'"


def test_report_rebuilds_the_page(cli, model_copy):
    pytest.importorskip("matplotlib")
    page = model_copy / "report.html"
    if page.exists():
        page.unlink()
    r = cli("report", model_copy)
    assert r.exit_code == 0, r.stderr
    assert r.stderr == f"wrote {page}\n" and r.stdout == ""
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.count("data:image/png;base64,") == 4


def test_report_output_and_data(cli, model_copy, tmp_path):
    pytest.importorskip("matplotlib")
    from nertag.resources import sample_train

    out = tmp_path / "elsewhere.html"
    r = cli("report", model_copy, "-o", out, "--data", sample_train())
    assert r.exit_code == 0, r.stderr
    assert f"Final scores on {sample_train()}" in out.read_text(encoding="utf-8")


def test_report_errors(cli, expect_error, tmp_path, model_copy):
    pytest.importorskip("matplotlib")
    expect_error(cli("report", tmp_path / "nope"), 1, f"{tmp_path / 'nope'}: model directory "
                                                      f"not found")
    expect_error(cli("report", tmp_path), 1, f"{tmp_path}: metrics.json is missing")
    (model_copy / "metrics.json").write_text("[")
    expect_error(cli("report", model_copy), 1, f"{model_copy / 'metrics.json'}: unreadable "
                                               f"or corrupted")
    expect_error(cli("report", tmp_path, "-o", tmp_path / "no" / "r.html"), 1)


def without_matplotlib(*args: str) -> subprocess.CompletedProcess:
    """``nertag ARGS`` in a Python where ``import matplotlib`` fails."""
    code = ("import sys; sys.modules['matplotlib'] = None; "
            f"sys.argv = ['nertag'] + {list(args)!r}; "
            "from nertag.cli import main; main()")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_without_matplotlib_report_is_one_line_naming_the_extra(small_model):
    r = without_matplotlib("report", str(small_model))
    assert r.returncode == 1
    assert r.stderr == ("error: the training report needs matplotlib, the optional 'report' "
                        f"extra: {EXTRA}\n")


def test_without_matplotlib_training_works_and_says_so_once(tmp_path):
    out = tmp_path / "model"
    r = without_matplotlib("train", "-q", "-o", str(out),
                           *[a for s in SMALL for a in ("--set", s)])
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert [line for line in lines if "report" in line and "saved" not in line] == [
        f"no report.html: the training report needs matplotlib, the optional 'report' extra: "
        f"{EXTRA}; then run 'nertag report {out}'"]
    assert lines[-1].startswith("saved the best epoch (1 of 1, dev F1 ")
    assert len(lines) == 2
    assert (out / "weights.npz").is_file() and not (out / "report.html").exists()


def test_malformed_run_files_are_one_line_naming_file_and_field(cli, expect_error,
                                                                model_copy):
    """Epochs without a loss were 'internal error: KeyError', a meta.json holding [] an
    AttributeError."""
    pytest.importorskip("matplotlib")
    import json

    metrics = model_copy / "metrics.json"
    good = metrics.read_text(encoding="utf-8")
    page = (model_copy / "report.html").read_bytes()
    metrics.write_text(json.dumps([{k: v for k, v in r.items() if k != "loss"}
                                   for r in json.loads(good)]), encoding="utf-8")
    expect_error(cli("report", model_copy), 1, f"{metrics}: record 1: loss is missing; "
                                               f"retrain or re-copy the model directory")
    metrics.write_text(good, encoding="utf-8")
    (model_copy / "meta.json").write_text("[]", encoding="utf-8")
    expect_error(cli("report", model_copy), 1, f"{model_copy / 'meta.json'}: holds a list, not "
                                               f"an object; retrain or re-copy the model "
                                               f"directory")
    assert (model_copy / "report.html").read_bytes() == page  # left as it was
