"""``nertag train``'s output: the progress line (epoch k/N, labelled batch counts, no
loss before the first batch, a total ETA), ``-q`` (only the result lines), the
``--show-grad-norms`` tables within 100 columns, and what an interrupted run says when
no epoch had finished. (Real signals and resuming: tests/training/test_checkpoint.py.)"""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from conftest import SMALL
from nertag.cli import train as train_cli
from nertag.training import checkpoint as ckpt


def render(bar) -> str:
    c = Console(width=100, file=io.StringIO(), record=True, color_system=None)
    c.print(bar.progress.get_renderable())
    return c.export_text().strip()


def test_progress_line(monkeypatch):
    clock = {"t": 1000.0}
    monkeypatch.setattr(train_cli.time, "perf_counter", lambda: clock["t"])
    bar = train_cli._Bar(Console(file=io.StringIO()), quiet=False)
    bar.start({"epochs": 5, "batches": 300, "start_epoch": 1, "start_batch": 0})
    line = render(bar)
    assert line.startswith("epoch 1/5 ") and "batch 0/300" in line
    assert "loss" not in line and "tok/s" not in line and line.endswith("total ETA -")
    clock["t"] += 12.0  # 120 batches in 12 s: 0.1 s a batch, 1,380 to go
    bar.batch({"epoch": 1, "batch": 120, "batches": 300, "loss": 0.12345,
               "tokens_per_s": 45210.4})
    line = render(bar)
    assert "epoch 1/5" in line and "batch 120/300" in line
    assert line.endswith("loss 0.1235  45,210 tok/s total ETA 0:02:18")
    bar.epoch_done(1)
    line = render(bar)
    assert "epoch 2/5" in line and "batch 0/300" in line and "loss" not in line
    clock["t"] += 18.0  # (300 + 30) batches in 30 s + dev scoring: 1,170 to go
    bar.batch({"epoch": 2, "batch": 30, "batches": 300, "loss": 0.1, "tokens_per_s": 1000.0})
    assert render(bar).endswith("total ETA 0:01:46")


def test_progress_line_of_a_resumed_run(monkeypatch):
    clock = {"t": 0.0}
    monkeypatch.setattr(train_cli.time, "perf_counter", lambda: clock["t"])
    bar = train_cli._Bar(Console(file=io.StringIO()), quiet=False)
    bar.start({"epochs": 3, "batches": 100, "start_epoch": 3, "start_batch": 40})
    assert "epoch 3/3" in render(bar) and "batch 40/100" in render(bar)
    clock["t"] = 6.0  # the 10 batches done since the resume took 6 s; 50 to go
    bar.batch({"epoch": 3, "batch": 50, "batches": 100, "loss": 0.2, "tokens_per_s": 1.0})
    assert render(bar).endswith("total ETA 0:00:30")


def test_quiet_prints_only_the_result_lines(cli, tmp_path):
    out = tmp_path / "model"
    r = cli("train", "-q", "-o", out, *[a for s in SMALL for a in ("--set", s)])
    assert r.exit_code == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0].startswith("saved the best epoch (1 of 1, dev F1 ")
    assert lines[0].split("  [")[0].endswith(f"to {out}")
    assert lines[1:] == ([f"report: {out / 'report.html'}"] if (out / "report.html").exists()
                         else [line for line in lines[1:] if "nertag[report]" in line])
    assert r.stdout == ""


def test_grad_norm_tables_fit_100_columns(cli, tmp_path, monkeypatch):
    """The conll2003 features and a CRF head: 16 parameters, two tables at 100 columns."""
    from nertag.resources import sample_dev, sample_train

    monkeypatch.setenv("COLUMNS", "100")
    out = tmp_path / "model"
    r = cli("train", "-c", "conll2003", "--train", sample_train(), "--dev", sample_dev(),
            "-o", out, "--show-grad-norms", "--set", "train.epochs=2", "--set",
            "model.hidden=10", "--set", "model.head=crf", "--set", "model.decoder=viterbi",
            "--set", "train.batch_size=64", "--set", "train.lr=0.1",
            "--set", "features.char_dim=0",   # (the recipe's character CNN: 3 more)
            "--set", "features.doc_context=false")  # (its document context: 4 more)
    assert r.exit_code == 0, r.stderr
    lines = r.stderr.splitlines()
    tables = [line for line in lines if line[:1] and line[0] in "┏┃┡│└"
              or line.startswith("gradient")]
    assert len(tables) == 3 * 6 + 1 and max(map(len, tables)) <= 100, max(tables, key=len)
    heads = [line for line in lines if line.startswith("┃ epoch ┃") and "‖" not in line]
    names = [n.strip() for h in heads[1:] for n in h.strip("┃").split("┃")[1:]]
    assert names == ["W", "b", "U", "c", "E_caps", "E_prefix1", "E_prefix2", "E_prefix3",
                     "E_shape", "E_suffix1", "E_suffix2", "E_suffix3", "E_word", "A", "start",
                     "end"]
    assert len(heads) == 3  # the history table and two tables of norms
    # the norms recorded in metrics.json: the last table's row of epoch 2 ends with "end"'s
    import json

    history = json.loads((out / "metrics.json").read_text())
    row = [line for line in lines if line.startswith("│     2 │")][-1]
    assert row.strip("│ ").split(" │ ")[-1] == f"{history[1]['grad_norms']['end']:#.3g}"


def test_interrupted_before_any_epoch_finished(tmp_path):
    c = Console(file=io.StringIO(), width=200, record=True, color_system=None)
    e = ckpt.Interrupted(1, 7, tmp_path / "my run", saved=None, epochs=5, batches=300)
    with pytest.raises(SystemExit) as exit_:
        train_cli._interrupted(c, e, 2)
    assert exit_.value.code == 130
    assert c.export_text().splitlines() == [
        f"stopped during epoch 1 of 5 (batch 7 of 300); checkpoint saved in "
        f"{tmp_path / 'my run.partial' / 'checkpoint'}",
        "no epoch had finished, so there is no model yet",
        f"resume with: nertag train --resume '{tmp_path / 'my run'}'"]
