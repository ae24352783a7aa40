"""Retraining while annotating (``--retrain-every``): the held-back split, a retrain
started after N accepted answers, the swap only when the new model scores higher, a
failed retrain, the page's F1, and a running retrain killed on shutdown."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from nertag.annotate import retrain_job
from nertag.annotate.queue import Queue
from nertag.annotate.retrain import Retrainer, held_back, models_dir
from nertag.annotate.session import Session
from nertag.annotate.store import AnswerStore


def make_session(items, path, labels=("LOC", "PER")) -> Session:
    store = AnswerStore(path)
    queue = Queue([i.score for i in items], "uncertain", random_share=0.0)
    return Session(items, list(labels), store, store.load(), queue)


def accept(session: Session, n: int) -> list[str]:
    """Accept the next ``n`` sentences as the model shows them; their ids."""
    ids = []
    for _ in range(n):
        item = session.next("c")["item"]
        spans = [{k: s[k] for k in ("token_start", "token_end", "label")}
                 for s in item["spans"]]
        session.answer("c", item["id"], "accept", spans)
        ids.append(item["id"])
    return ids


def wait_for(retrainer: Retrainer, seconds: float = 120) -> None:
    watcher = retrainer.watcher
    assert watcher is not None, "no retrain started"
    watcher.join(seconds)
    assert not watcher.is_alive(), "the retrain did not end"


# ---------------------------------------------------------------- the held-back share
def test_the_held_back_share_is_stable_and_grows_with_the_share():
    ids = [f"{i:016x}" for i in range(2000)]
    at = {share: {k for k in ids if held_back(k, share)} for share in (0.1, 0.2, 0.5)}
    assert at[0.1] <= at[0.2] <= at[0.5]  # a sentence never changes sides as answers grow
    assert 300 <= len(at[0.2]) <= 500     # 2,000 × 0.2 = 400, give or take
    assert {k for k in ids if held_back(k, 0.2)} == at[0.2]  # the same every time
    assert held_back("77b81c331e7407fd", 0.2) == held_back("77b81c331e7407fd", 0.2)


def test_the_models_go_beside_the_output(tmp_path):
    assert models_dir(tmp_path / "ann.jsonl") == tmp_path / "ann.jsonl.models"


def test_bad_settings_are_refused(toy, tmp_path):
    s = make_session(toy, tmp_path / "a.jsonl")
    with pytest.raises(ValueError, match="every 0"):
        Retrainer(s, every=0, model="m", output=str(tmp_path / "a.jsonl"), inputs=[])
    with pytest.raises(ValueError, match="holdout 1.0"):
        Retrainer(s, every=2, model="m", output=str(tmp_path / "a.jsonl"), inputs=[],
                  holdout=1.0)


# ---------------------------------------------------------------- the decision
def fake_job(tmp_path, monkeypatch, scores: dict) -> dict:
    """A job whose training copies a folder and whose held-back F1 is ``scores[model]``."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "weights").write_text("old")
    monkeypatch.setattr("nertag.api.train",
                        lambda base, output, **kw: shutil.copytree(base, output))
    monkeypatch.setattr(retrain_job, "held_back_f1",
                        lambda model, holdout: scores["new" if Path(model).name == "model"
                                                      else "old"])
    monkeypatch.setattr(retrain_job, "retag", lambda model, inputs, sentences, encoding:
                        {"x": {"spans": [[0, 3, "PER", 0.5]], "margin": 0.9}})
    return {"base": str(base), "train": "t.jsonl", "holdout": "h.jsonl",
            "output": str(tmp_path / "job" / "model"), "overrides": [], "rehearse": None,
            "inputs": ["in.txt"]}


@pytest.mark.parametrize("new, better", [(0.61, True), (0.6, False), (0.4, False)])
def test_the_new_model_wins_only_above_the_old(tmp_path, monkeypatch, new, better):
    result = retrain_job.run(fake_job(tmp_path, monkeypatch, {"old": 0.6, "new": new}))
    assert (result["f1_old"], result["f1_new"], result["better"]) == (0.6, new, better)
    assert result["spans"] == ({"x": {"spans": [[0, 3, "PER", 0.5]], "margin": 0.9}}
                               if better else None)
    assert set(result["phases"]) == {"train", "score", "retag"}


def finished(tmp_path, toy, result: dict):
    """A session with one answer and a retrainer whose job 001 ended with ``result``."""
    out = tmp_path / "a.jsonl"
    s = make_session(toy, out)
    notes: list[str] = []
    r = Retrainer(s, every=5, model=str(tmp_path / "base"), output=str(out), inputs=[],
                  notify=notes.append)
    answered = accept(s, 1)[0]
    job = r._new_job_dir()
    (job / "model").mkdir()
    if result is not None:
        (job / retrain_job.RESULT).write_text(json.dumps(result))
    r.runs = 1
    with s.lock:
        r.finish(job, 0 if result and "error" not in result else 1)
    return s, r, job, notes, answered


def test_a_better_model_is_used_and_the_queue_re_ranked(tmp_path, toy):
    # the toy scores: Paris (0.6) first, then Ann (0.8), then "Nothing here" (1.0)
    ann, paris, nothing = (item.id for item in toy)
    spans = {ann: {"spans": [[0, 3, "LOC", 0.05]], "margin": 0.99},
             nothing: {"spans": [[0, 7, "PER", 0.01]], "margin": 0.97},
             paris: {"spans": [[0, 5, "LOC", 0.9]], "margin": 0.2}}
    s, r, job, notes, answered = finished(tmp_path, toy, {
        "f1_old": 0.5, "f1_new": 0.75, "better": True, "seconds": 3.2, "spans": spans})
    assert answered == paris
    assert r.model == str(job / "model") and (job / "model").is_dir()
    assert (s.retrain_f1, s.retrain_used) == (0.75, True)
    assert toy[1].spans == [(0, 5, "LOC", 0.6)]  # answered: left as it was
    assert toy[0].spans == [(0, 3, "LOC", 0.05)] and toy[2].spans == [(0, 7, "PER", 0.01)]
    assert (toy[0].margin, toy[1].margin, toy[2].margin) == (0.99, 1.0, 0.97)
    assert s.next("c")["item"]["id"] == ann  # the tab's sentence stays its own
    s.queue.release("c")  # (before: Ann 0.8, then Nothing 1.0)
    assert [s.next(c)["item"]["id"] for c in ("c1", "c2")] == [nothing, ann]
    assert notes[-1] == (f"retrain 1: held-back F1 75.00 > 50.00: now using {job / 'model'} "
                         f"(queue re-ranked; 3 s)")


@pytest.mark.parametrize("new", [0.5, 0.25])
def test_a_model_not_better_is_dropped(tmp_path, toy, new):
    s, r, job, notes, _ = finished(tmp_path, toy, {
        "f1_old": 0.5, "f1_new": new, "better": False, "seconds": 3.0, "spans": None})
    assert r.model == str(tmp_path / "base") and not (job / "model").exists()
    assert (s.retrain_f1, s.retrain_used) == (new, False)
    assert toy[0].spans == [(0, 3, "PER", 0.8)]
    assert notes[-1] == (f"retrain 1: held-back F1 {100 * new:.2f}, not above 50.00: kept "
                         f"the model in use (3 s)")


@pytest.mark.parametrize("result, fragment", [
    ({"error": "m: not a model directory"}, "retrain 1 failed: m: not a model directory"),
    (None, "retrain 1 failed: the process ended with status 1 and no result")])
def test_a_failed_retrain_keeps_the_model(tmp_path, toy, result, fragment):
    s, r, job, notes, _ = finished(tmp_path, toy, result)
    assert r.model == str(tmp_path / "base") and s.retrain_f1 is None
    assert notes[-1].startswith(fragment)
    assert notes[-1].endswith(f"(log: {job / 'train.log'}); annotating on with the model "
                              f"as it was")
    assert s.next("c")["item"] is not None  # annotation goes on


@pytest.mark.slow
def test_the_page_shows_the_retrain_f1(tmp_path, start_annotate):
    pytest.importorskip("uvicorn", reason="the serve extra is not installed")
    import http.client

    from nertag.annotate.page import static_file

    text = tmp_path / "t.txt"
    text.write_text("Barack Obama spoke in Berlin.\nIt rained.\n")
    server = start_annotate([text], tmp_path / "a.jsonl")
    assert server.post("/api/next", {"client": "c"})[1]["progress"]["retrain_f1"] is None
    server.session.retrain_f1, server.session.retrain_used = 0.6234, False
    status, body = server.post("/api/next", {"client": "c"})
    assert status == 200
    assert (body["progress"]["retrain_f1"], body["progress"]["retrain_used"]) == (0.6234, False)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    conn.request("GET", "/health")
    assert json.loads(conn.getresponse().read())["retrain_f1"] == 0.6234
    conn.close()
    js = static_file("annotate.js").decode()  # what the page makes of it
    assert "last retrain F1 ${f1}" in js and "(kept the model in use)" in js


# ---------------------------------------------------------------- the process
def test_a_retrain_starts_after_n_accepted_answers_and_lands(small_model, tmp_path):
    """The real job on a tiny model (1 epoch): started at the third accepted answer,
    the answers split by held_back, the F1 recorded and one line each way."""
    from nertag.annotate.session import open_session

    text = tmp_path / "t.txt"
    text.write_text("".join(f"Peter Smith visited Berlin on day {i} .\n" for i in range(12)))
    out = tmp_path / "a.jsonl"
    s, lock, _ = open_session([str(text)], str(out), model=str(small_model), sentences="line")
    notes: list[str] = []
    try:
        r = Retrainer(s, every=6, model=str(small_model), output=str(out), inputs=[str(text)],
                      sentences="line", holdout=0.5, overrides=("train.epochs=1",),
                      notify=notes.append)
        ids = accept(s, 5)
        assert r.proc is None and not models_dir(out).exists()
        ids += accept(s, 1)
        assert r.proc is not None
        job = models_dir(out) / "001"
        split = {name: [json.loads(x)["id"] for x in (job / name).read_text().splitlines()]
                 for name in ("train.jsonl", "holdout.jsonl")}
        assert split["holdout.jsonl"] == [k for k in ids if held_back(k, 0.5)] != []
        assert split["train.jsonl"] == [k for k in ids if not held_back(k, 0.5)] != []
        accept(s, 1)  # while it runs: counts toward the next one, starts nothing
        assert r.runs == 1
        wait_for(r)
        assert s.retrain_f1 is not None and 0.0 <= s.retrain_f1 <= 1.0, notes
        assert notes[0] == (f"retrain 1 started on {len(split['train.jsonl'])} answers "
                            f"({len(split['holdout.jsonl'])} held back), in {job}")
        assert notes[1].startswith("retrain 1: held-back F1 "), notes
        assert (job / "model").is_dir() == s.retrain_used
        assert s.progress()["retrain_f1"] == s.retrain_f1
    finally:
        s.close()
        lock.release()


def test_a_retrain_that_fails_leaves_the_model_in_use(toy, tmp_path):
    """The real job process on a base that is not a model: one line, nothing swapped."""
    out = tmp_path / "a.jsonl"
    s = make_session(toy, out)
    notes: list[str] = []
    r = Retrainer(s, every=3, model=str(tmp_path / "no-model"), output=str(out),
                  inputs=[], holdout=0.5, notify=notes.append)
    accept(s, 3)  # (the toy ids at 0.5: one to train on, two held back)
    wait_for(r)
    assert r.model == str(tmp_path / "no-model") and s.retrain_f1 is None
    assert notes[-1].startswith(f"retrain 1 failed: {tmp_path / 'no-model'}"), notes
    assert r.proc is None and toy[0].spans == [(0, 3, "PER", 0.8)]


SLEEPER = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN if sys.argv[1] == "stubborn" else signal.SIG_DFL)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(sys.argv[2], "w").write(str(child.pid))
time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone for our purpose
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("kind", ["obedient", "stubborn"])
def test_shutdown_kills_a_running_retrain_and_its_workers(toy, tmp_path, kind):
    out = tmp_path / "a.jsonl"
    s = make_session(toy, out)
    notes: list[str] = []
    r = Retrainer(s, every=3, model="m", output=str(out), inputs=[], holdout=0.5,
                  notify=notes.append, kill_wait=0.5)
    pidfile = tmp_path / "child.pid"
    r.command = [sys.executable, "-c", SLEEPER, kind, str(pidfile)]
    accept(s, 3)
    proc, job = r.proc, r.job
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    child = int(pidfile.read_text())
    r.close()
    assert proc.poll() is not None  # ended (SIGTERM, or SIGKILL for the stubborn one)
    deadline = time.monotonic() + 10
    while alive(child):  # the job's own worker went with its process group
        assert time.monotonic() < deadline, "the job's worker survived"
        time.sleep(0.05)
    assert not job.exists() and notes[-1] == "retrain 1: stopped (the server stopped)"
    r.watcher.join(10)
    assert s.retrain_f1 is None  # the watcher did not act on the killed job


def test_close_without_a_retrain_is_quiet(toy, tmp_path):
    s = make_session(toy, tmp_path / "a.jsonl")
    notes: list[str] = []
    r = Retrainer(s, every=2, model="m", output=str(tmp_path / "a.jsonl"), inputs=[],
                  notify=notes.append)
    r.close()
    accept(s, 3)  # closed: no retrain starts
    assert r.proc is None and notes == [] and not models_dir(tmp_path / "a.jsonl").exists()


# ---------------------------------------------------------------- the command
def test_rehearse_needs_retrain_every(cli, tmp_path, expect_error):
    text = tmp_path / "t.txt"
    text.write_text("Ann met Bob .\n")
    data = tmp_path / "r.conll"
    data.write_text("EU B-ORG\n")
    expect_error(cli("annotate", text, "-o", tmp_path / "a.jsonl", "--rehearse", data), 2,
                 "--rehearse is for retraining: give --retrain-every N too")


def test_a_missing_rehearse_file_is_one_line(cli, tmp_path, expect_error):
    text = tmp_path / "t.txt"
    text.write_text("Ann met Bob .\n")
    missing = tmp_path / "nope.conll"
    expect_error(cli("annotate", text, "-o", tmp_path / "a.jsonl", "--retrain-every", "5",
                     "--rehearse", missing), 1, f"{missing}: no such file (--rehearse)")


WAITER = """
import json, os, sys, time
job = sys.argv[-1]
while not os.path.exists(sys.argv[1]):
    time.sleep(0.02)
with open(os.path.join(os.path.dirname(job), "result.json"), "w") as f:
    json.dump({"error": "stopped by the test"}, f)
sys.exit(1)
"""


def test_one_retrain_at_a_time_and_answers_meanwhile_count_toward_the_next(toy, tmp_path):
    out = tmp_path / "a.jsonl"
    s = make_session(toy, out)
    notes: list[str] = []
    r = Retrainer(s, every=1, model="m", output=str(out), inputs=[], holdout=0.5,
                  notify=notes.append)
    flag = tmp_path / "go"
    r.command = [sys.executable, "-c", WAITER, str(flag)]
    accept(s, 1)  # one side of the split only: nothing to compare on yet
    assert r.proc is None
    accept(s, 1)
    first = r.proc
    assert first is not None and r.runs == 1
    accept(s, 1)  # while it runs
    assert r.proc is first and r.runs == 1
    flag.write_text("")
    deadline = time.monotonic() + 30
    while r.runs < 2:  # the first failed; the answer that came meanwhile starts the next
        assert time.monotonic() < deadline, notes
        time.sleep(0.05)
    r.close()
    assert notes[1].startswith("retrain 1 failed: stopped by the test"), notes
    assert notes[2].startswith("retrain 2 started on "), notes
