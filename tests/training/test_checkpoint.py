"""Interrupted training: checkpoints, ``--resume``, and resume equivalence.

* interrupting after any batch and resuming gives *exactly* the parameters of an
  uninterrupted run with the same seed (max |difference| == 0), for several heads,
  optimisers, schedules and dropouts, and after several interruptions;
* SIGINT / SIGTERM to a real ``nertag train`` stops after the batch, saves a checkpoint,
  says how to resume, and ``nertag train --resume DIR`` finishes the same model;
* SIGKILL in the middle of saving a checkpoint (several times, resuming in between)
  always leaves the last complete checkpoint loadable, and the run still ends with the
  same model.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import NERTAG
from nertag.training import checkpoint as ckpt
from nertag import modelio
from nertag.config import load_config
from nertag.training.loop import train

FAST = ["model.hidden=20", "train.batch_size=64"]  # 75 batches an epoch on the sample

CONFIGS = {
    # sgd, input dropout 0.1, constant lr (the default config)
    "default": FAST + ["train.epochs=3"],
    # every source of state: adam moments, CRF transitions, word and hidden dropout,
    # a linear schedule, clipping and L2
    "crf-adam": ["model.hidden=10", "train.batch_size=16", "train.epochs=2",
                 "model.head=crf", "model.decoder=viterbi", "train.optimizer=adam",
                 "train.lr=0.01", "train.lr_schedule=linear", "train.word_dropout=0.1",
                 "model.dropout_hidden=0.2", "train.clip_norm=1", "train.l2=0.0001"],
    # adagrad, one-vs-rest head in BIOES, lr decay on plateau, early stopping
    "binary-plateau": FAST + ["train.epochs=5", "model.head=binary",
                              "model.tag_scheme=bioes", "train.optimizer=adagrad",
                              "train.lr_schedule=plateau", "train.patience=2",
                              "train.lr=0.5"],  # no gain in epoch 3: lr 0.5 -> 0.25
}


def max_abs_diff(a: dict, b: dict) -> float:
    assert sorted(a) == sorted(b)
    return max(float(np.max(np.abs(a[k].astype(np.float64) - b[k]))) for k in a)


def train_with_interruptions(items, out, stop_at, backend="hand"):
    """Train, stopping when should_stop() has been called stop_at[i] times (then it keeps
    saying yes, like a pending Ctrl-C), resuming from the checkpoint each time."""
    calls, targets, where, resume = {"n": 0}, list(stop_at), [], False

    def should_stop():
        calls["n"] += 1
        return bool(targets) and calls["n"] >= targets[0]

    while True:
        cfg = ckpt.load_config(out) if resume else load_config(None, items)
        try:
            model, history = train(cfg, output=out, resume=resume, should_stop=should_stop,
                                   backend="hand" if resume else backend,  # as the CLI does
                                   report=False)
            return model, history, where
        except ckpt.Interrupted as e:
            assert ckpt.exists(out)
            # once an epoch has finished, the best one so far is a complete model in out
            assert (e.saved == out) == (e.best_epoch > 0) == out.exists()
            if e.saved:
                saved = json.loads((out / "metrics.json").read_text())
                assert e.best_epoch == max(r["epoch"] for r in saved if r["best"])
                assert len(saved) == e.epoch - 1  # the epochs that finished
                assert json.loads((out / "meta.json").read_text())["provenance"]["interrupted"]
                modelio.load_model(out)
            where.append((e.epoch, e.batch))
            targets.pop(0)
            resume = True


_REFERENCE: dict = {}


def reference(name, tmp_path_factory, backend="hand"):
    """The uninterrupted run of CONFIGS[name] (once per session)."""
    if (name, backend) not in _REFERENCE:
        out = tmp_path_factory.mktemp(f"ref-{name}") / "model"
        model, history = train(load_config(None, CONFIGS[name]), output=out, backend=backend,
                               report=False)
        _REFERENCE[name, backend] = (out, {k: v.copy() for k, v in model.params.items()},
                                     history)
    return _REFERENCE[name, backend]


@pytest.mark.parametrize("name,stop_at,expect,backend", [
    ("default", [1], [(1, 1)], "hand"),               # after the very first batch
    ("default", [40], [(1, 40)], "hand"),             # mid-epoch
    ("default", [76], [(2, 0)], "hand"),              # at the end of an epoch
    ("default", [75, 200], [(2, 0), (3, 48)], "hand"),  # twice; a Ctrl-C in a last batch
    ("default", [100], [(2, 24)], "graph"),  # resumed without --backend: keeps graph's
    ("crf-adam", [10, 30], [(1, 10), (2, 4)], "hand"),  # 25 batches (of sentences) an epoch
    ("binary-plateau", [100, 240], [(2, 24), (4, 12)], "hand"),
])
def test_resume_gives_the_uninterrupted_model(name, stop_at, expect, backend, tmp_path,
                                              tmp_path_factory):
    ref_dir, ref_params, ref_history = reference(name, tmp_path_factory, backend)
    out = tmp_path / "model"
    model, history, where = train_with_interruptions(CONFIGS[name], out, stop_at, backend)
    assert where == expect
    assert max_abs_diff(model.params, ref_params) == 0.0
    strip = [{k: v for k, v in r.items() if k not in ("seconds", "tokens_per_s")}
             for r in history]
    assert strip == [{k: v for k, v in r.items() if k not in ("seconds", "tokens_per_s")}
                     for r in ref_history]
    assert max_abs_diff(modelio.load_model(out).params, modelio.load_model(ref_dir).params) == 0
    assert not ckpt.partial_dir(out).exists()  # cleaned up once the model is saved


def test_fresh_run_refuses_to_overwrite_a_checkpoint(tmp_path, cli, expect_error):
    out = tmp_path / "model"
    with pytest.raises(ckpt.Interrupted):
        train(load_config(None, CONFIGS["default"]), output=out, should_stop=lambda: True)
    expect_error(cli("train", "-o", out, "-q"), 2,
                 f"{out}: an interrupted run left a checkpoint in {out}.partial",
                 f"nertag train --resume {out}", "--force")
    r = cli("train", "-o", out, "-q", "--force", *[a for i in CONFIGS["default"]
                                                  for a in ("--set", i)])
    assert r.exit_code == 0, r.stderr
    assert not ckpt.partial_dir(out).exists()


# ----------------------------------------------------------------------------- real signals
def _wait_for(pred, proc, timeout=60.0, poll=0.002):
    t0 = time.monotonic()
    while not pred():
        if proc.poll() is not None:
            raise AssertionError(f"nertag exited ({proc.returncode}) too early: "
                                 f"{proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("timed out")
        time.sleep(poll)


RUN = FAST + ["train.epochs=6", "train.patience=0"]  # for the real processes


def run_reference(tmp_path_factory) -> dict:
    """The parameters of an uninterrupted RUN (once per session)."""
    if "run" not in _REFERENCE:
        ref = tmp_path_factory.mktemp("ref-run") / "model"
        train(load_config(None, RUN), output=ref)
        _REFERENCE["run"] = modelio.load_model(ref).params
    return _REFERENCE["run"]


def _suggested(err: str, prefix: str) -> list[str]:
    """The command a message line starting with ``prefix`` suggests, as arguments."""
    lines = [line for line in err.splitlines() if prefix in line]
    assert len(lines) == 1, err
    words = shlex.split(lines[0].split(prefix, 1)[1])
    assert words[0] == "nertag", lines[0]
    return NERTAG + words[1:]


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_saves_and_resumes(sig, code, tmp_path, tmp_path_factory):
    """Stopped after the first epoch's checkpoint: the best epoch so far is a model the
    message tells how to use, and the resume command it gives finishes the same model."""
    out = tmp_path / "run"
    args = NERTAG + ["train", "-o", str(out), "-q"] + [a for i in RUN for a in ("--set", i)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: ckpt.exists(out), proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    err = stderr.decode()
    assert proc.returncode == code, err
    assert "Traceback" not in err and "error:" not in err and not stdout
    stopped = json.loads((ckpt.latest(out) / "state.json").read_text())
    assert 1 < stopped["epoch"] < 6
    where = (f"during epoch {stopped['epoch']} of 6 (batch {stopped['batch']} of 75)"
             if stopped["batch"] else f"after epoch {stopped['epoch'] - 1} of 6")
    assert f"stopped {where}; checkpoint saved in {out}.partial/checkpoint" in err
    best = stopped["best_epoch"]
    assert (f"the best epoch so far ({best}, dev F1 {100 * stopped['best_f1']:.2f}) is saved as "
            f"a complete model in {out}; use it with: nertag tag -m {out} FILE") in err
    # the model the message names works, with the command it gives
    assert json.loads((out / "meta.json").read_text())["provenance"]["interrupted"] is True
    if (out / "report.html").exists():  # (with matplotlib)
        assert (f"Training was interrupted after epoch {stopped['epoch'] - 1} of 6"
                in (out / "report.html").read_text(encoding="utf-8"))
    text = tmp_path / "text.txt"
    text.write_text("Laura Okafor flew to Geneva.\n")
    tag = _suggested(err, "use it with: ")
    assert tag[-1] == "FILE"
    r = subprocess.run(tag[:-1] + [str(text), "-f", "conll"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.splitlines()[0].startswith("Laura"), r.stderr
    # and so does the command that continues the run
    resume = _suggested(err, "resume with: ")
    assert resume[-2:] == ["--resume", str(out)]
    r = subprocess.run(resume + ["-q"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"resuming from epoch {stopped['epoch']}, batch {stopped['batch']}" in r.stderr
    assert not ckpt.partial_dir(out).exists()
    assert max_abs_diff(modelio.load_model(out).params, run_reference(tmp_path_factory)) == 0
    assert "interrupted" not in json.loads((out / "meta.json").read_text())["provenance"]


def _check_checkpoint_usable(out: Path) -> dict:
    """The newest complete checkpoint restores into a freshly built model."""
    from nertag.text.conll import read_conll
    from nertag.nn.optim import Optimizer
    from nertag.training.loop import build_model

    c = ckpt.latest(out)
    assert (c / "COMPLETE").is_file()
    cfg = ckpt.load_config(out)
    model = build_model(cfg, read_conll(cfg.data.train))
    opt = Optimizer(cfg.train.optimizer, cfg.train.lr)
    state, best = ckpt.load(out, model, opt)
    assert sorted(best) == sorted(model.params)
    assert all(np.isfinite(v).all() for v in model.params.values())
    return {"epoch": state.epoch, "batch": state.batch, "dir": c.name}


def test_sigkill_while_saving_leaves_a_usable_checkpoint(tmp_path, tmp_path_factory):
    out = tmp_path / "run"
    root = ckpt.partial_dir(out)

    def tmp_ckpts():  # checkpoints being written: atomic.new_temp_dir names them so
        return list(root.glob(".checkpoint.*.tmp"))
    rng = random.Random(0)
    seen = []
    for i in range(4):
        if i == 0:
            args = ["train", "-o", str(out), "-q"] + [a for s in RUN for a in ("--set", s)]
        else:
            args = ["train", "--resume", str(out), "-q"]
        start_ns = time.time_ns()
        proc = subprocess.Popen(NERTAG + args, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        if i == 0:  # the first save has nothing to fall back on: wait for it to finish
            _wait_for(lambda: ckpt.exists(out), proc)
            start_ns = time.time_ns()

        def saving():  # a temporary checkpoint made by this process: a save is under way
            for p in tmp_ckpts():
                try:
                    if os.stat(p).st_ctime_ns > start_ns:
                        return True
                except FileNotFoundError:
                    pass
            return False

        _wait_for(saving, proc, poll=0.0002)  # a save is under way
        if i == 3:  # at a random moment of the next epoch
            time.sleep(rng.uniform(0, 0.15))
        elif i:  # at a few different depths of the save
            time.sleep(rng.choice([0, 0.0005, 0.002]))
        proc.kill()
        proc.wait(timeout=30)
        if i == 3 and proc.returncode == 0:  # it finished first (a fast machine): fine
            break
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
        seen.append(_check_checkpoint_usable(out))
        tmps = tmp_ckpts()
        newest = max(tmps, key=lambda p: p.stat().st_ctime_ns) if tmps else None
        seen[-1]["tmp"] = sorted(os.listdir(newest)) if newest else None
        assert not out.exists()
    epochs = [s["epoch"] for s in seen]
    assert epochs == sorted(epochs)  # progress is never lost
    # at least one kill hit a half-written checkpoint (the first one is killed as soon as
    # its temporary checkpoint appears)
    assert any(s["tmp"] is not None and "COMPLETE" not in s["tmp"] for s in seen), seen

    if not out.exists():
        r = subprocess.run(NERTAG + ["train", "--resume", str(out), "-q"], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    assert not root.exists()
    assert max_abs_diff(modelio.load_model(out).params, run_reference(tmp_path_factory)) == 0


def test_latest_falls_back_to_the_previous_checkpoint(tmp_path):
    """The state a kill between the two renames leaves: only checkpoint.old is complete."""
    out = tmp_path / "run"
    with pytest.raises(ckpt.Interrupted):
        train(load_config(None, CONFIGS["default"]), output=out, should_stop=lambda: True)
    root = ckpt.partial_dir(out)
    (root / "checkpoint").rename(root / "checkpoint.old")
    (root / "checkpoint.tmp").mkdir()
    (root / "checkpoint.tmp" / "params.npz").write_bytes(b"PK\x03\x04half")  # no COMPLETE
    assert ckpt.latest(out) == root / "checkpoint.old"
    _check_checkpoint_usable(out)
    model, _ = train(ckpt.load_config(out), output=out, resume=True)
    assert (out / "manifest.json").is_file() and not root.exists()


def test_corrupted_checkpoint_is_a_clear_error(tmp_path, cli, expect_error):
    out = tmp_path / "run"
    with pytest.raises(ckpt.Interrupted):
        train(load_config(None, CONFIGS["default"]), output=out, should_stop=lambda: True)
    (ckpt.latest(out) / "params.npz").write_bytes(b"garbage")
    expect_error(cli("train", "--resume", out, "-q"), 1,
                 f"{out}.partial/checkpoint/params.npz: not a NumPy .npz archive")
