"""The answers file: whole fsynced lines, last record per id, a cut last line, the lock."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest

from nertag.annotate import store as store_mod
from nertag.annotate.store import AnswerStore, OutputLock, answered
from nertag.errors import NertagError


def rec(key: str, answer: str = "accept", client: str = "c") -> dict:
    return {"id": key, "text": "Ann", "tokens": [], "spans": [], "answer": answer,
            "client": client}


def test_append_writes_one_line_per_record_and_fsyncs(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(store_mod.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    s = AnswerStore(tmp_path / "a.jsonl")
    s.load()
    s.append(rec("1"))
    s.append(rec("2", "reject"))
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["1", "2"]
    assert len(synced) == 2


def test_load_takes_the_last_record_per_id_and_undo_stacks(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [
        rec("1"), rec("2", client="d"), rec("1", "undo"), rec("3", "ignore")]))
    loaded = AnswerStore(path).load()
    assert loaded.records == 4
    assert {k: r["answer"] for k, r in loaded.last.items()} == \
        {"1": "undo", "2": "accept", "3": "ignore"}
    assert not answered(loaded.last["1"]) and answered(loaded.last["3"])
    assert loaded.decisions == {"c": ["3"], "d": ["2"]}


def test_a_last_line_cut_short_is_dropped_and_the_file_cut_back(tmp_path):
    path = tmp_path / "a.jsonl"
    whole = json.dumps(rec("1")) + "\n"
    path.write_text(whole + '{"id": "2", "ans')
    s = AnswerStore(path)
    loaded = s.load()
    assert list(loaded.last) == ["1"] and "cut short" in loaded.notes[0]
    s.append(rec("3"))
    assert path.read_text() == whole + json.dumps(rec("3"), separators=(",", ":")) + "\n"


def test_a_whole_last_line_without_its_newline_is_kept(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(rec("1")))
    s = AnswerStore(path)
    assert list(s.load().last) == ["1"]
    s.append(rec("2"))
    assert [json.loads(x)["id"] for x in path.read_text().splitlines()] == ["1", "2"]


@pytest.mark.parametrize("line, words", [
    ("not json", "2: not a JSON record"),
    ('{"text": "x"}', '2: not a record of nertag annotate'),
    ('{"id": "1", "answer": "maybe"}', "2: not a record of nertag annotate")])
def test_a_file_that_is_not_an_answers_file_is_refused_naming_the_line(tmp_path, line, words):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(rec("1")) + "\n" + line + "\n")
    with pytest.raises(NertagError, match=f"a.jsonl:{words}"):
        AnswerStore(path).load()


def test_a_failed_write_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "a.jsonl"
    s = AnswerStore(path)
    s.load()
    s.append(rec("1"))
    before = path.read_bytes()

    def half_then_full(fd, data):  # a part reaches the disk, then it is full
        os.write(fd, data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_mod, "write_line", half_then_full)
    with pytest.raises(OSError):
        s.append(rec("2"))
    assert path.read_bytes() == before


def test_the_lock_refuses_a_second_holder_and_is_released(tmp_path):
    out = tmp_path / "a.jsonl"
    first = OutputLock(out).acquire()
    assert (tmp_path / "a.jsonl.lock").read_text().split()[0] == str(os.getpid())
    with pytest.raises(NertagError) as e:
        OutputLock(out).acquire()
    assert str(e.value) == (f"{out}: another nertag annotate (process {os.getpid()}) is "
                            f"writing it (lock {out}.lock); stop that one first, or give "
                            f"another output")
    first.release()
    assert not (tmp_path / "a.jsonl.lock").exists()
    OutputLock(out).acquire().release()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    out = tmp_path / "a.jsonl"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / "a.jsonl.lock").write_text(f"{dead} somehost\n")
    lock = OutputLock(out).acquire()
    assert (tmp_path / "a.jsonl.lock").read_text().split()[0] == str(os.getpid())
    lock.release()


def test_a_lock_held_by_another_live_process_is_refused(tmp_path):
    out = tmp_path / "a.jsonl"
    code = ("import sys, time; from nertag.annotate.store import OutputLock; "
            f"OutputLock({str(out)!r}).acquire(); print('held', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(NertagError, match=f"process {p.pid}"):
            OutputLock(out).acquire()
    finally:
        p.kill()
        p.wait()
    OutputLock(out).acquire().release()  # killed: its lock no longer counts
