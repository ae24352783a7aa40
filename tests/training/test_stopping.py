"""Two-stage runs that stop or fail early: a stop signal sent to the main process alone
ends the first-stage workers within seconds (exit 128 + the signal) and nothing is left
behind; inputs are checked before anything starts; the library's errors name no
command-line option and the caller's config is never changed."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from conftest import DOC_CONTEXT, NERTAG
from nertag.config import load_config
from nertag.errors import NertagError
from nertag.training import checkpoint as ckpt
from nertag.training import loop
from nertag.training.two_stage import FirstStageStopped, stages_dir

LONG = DOC_CONTEXT + ["train.epochs=200", "train.patience=0"]  # a first stage of minutes


def _leftovers(out) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(out.name))


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_the_main_process_stops_the_first_stage(sig, code, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(NERTAG + ["train", "-o", str(out)] +
                            [a for s in LONG for a in ("--set", s)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (stages_dir(out)).is_dir():  # the first stage has started
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        time.sleep(0.5)  # (the workers are training)
        proc.send_signal(sig)  # to the main process only, as kill PID does
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "error: interrupted while training the first-stage models; nothing was saved (a run "
        "can be resumed once its second stage has started): start it again")
    assert _leftovers(out) == []


def test_a_stop_in_the_first_stage_leaves_nothing(tmp_path):
    out = tmp_path / "m"
    with pytest.raises(FirstStageStopped) as e:
        loop.train(load_config(None, DOC_CONTEXT), output=out, report=False,
                   should_stop=lambda: True)
    assert e.value.exit_code == 130 and _leftovers(out) == []


def test_a_missing_embeddings_file_fails_before_the_first_stage(tmp_path, cli, expect_error):
    out, missing = tmp_path / "m", tmp_path / "no-such-vectors.txt"
    r = cli("train", "-q", "-o", out, "--embeddings", missing,
            *[a for s in DOC_CONTEXT for a in ("--set", s)])
    expect_error(r, 1, f"{missing}: embeddings file (embeddings.path) not found")
    assert len(r.stderr.strip().splitlines()) == 1  # no first-stage banner, with -q
    assert _leftovers(out) == []


def test_the_first_stage_banner_respects_quiet(tmp_path, cli):
    r = cli("train", "-q", "-o", tmp_path / "m",
            *[a for s in DOC_CONTEXT + ["train.epochs=1"] for a in ("--set", s)])
    assert r.exit_code == 0, r.stderr
    assert "first-stage" not in r.stderr and "first stage" not in r.stderr
    assert r.stderr.startswith("saved the best epoch (1 of 1, dev F1 ")


def test_a_missing_dev_file_fails_before_anything_is_written(tmp_path):
    out = tmp_path / "m"
    with pytest.raises(NertagError, match="nope.conll: data file not found"):
        loop.train(load_config(None, DOC_CONTEXT), output=out, dev_path=tmp_path / "nope.conll")
    assert _leftovers(out) == []


def test_the_callers_config_is_not_changed(tmp_path):
    cfg = load_config(None, ["train.epochs=1", "model.hidden=5"])
    before = cfg.to_dict()
    model, _ = loop.train(cfg, output=tmp_path / "m", report=False)
    assert cfg.to_dict() == before and cfg.data.train is None
    assert model.cfg.data.train is not None  # the model records the file it read


def test_library_errors_name_no_command_line_option(tmp_path, monkeypatch):
    out = tmp_path / "m"
    cfg = load_config(None, ["train.epochs=2", "model.hidden=5"])
    with pytest.raises(ckpt.Interrupted):
        loop.train(cfg, output=out, should_stop=lambda: True)
    with pytest.raises(NertagError) as e:
        loop.train(cfg, output=out)
    assert e.value.message == (f"{out}: an interrupted run left a checkpoint in "
                               f"{out}.partial; continue it (resume) or start over (force)")
    with pytest.raises(NertagError) as e:
        ckpt.latest(tmp_path / "other")
    assert "--" not in e.value.message and e.value.message.endswith("start a new run into it")
    from nertag.training import step

    def nan_loss(*a, **k):
        raise step.Diverged("the loss is nan")

    monkeypatch.setattr("nertag.training.fit.train_step", nan_loss)
    with pytest.raises(NertagError) as e:
        loop.train(cfg, output=out, force=True)
    assert e.value.message == ("training diverged at epoch 1, batch 1: the loss is nan; lower "
                               "train.lr (now 0.1) or enable gradient clipping, e.g. "
                               "train.clip_norm=5; no checkpoint was saved yet")
