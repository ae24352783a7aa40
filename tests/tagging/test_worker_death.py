"""A worker process that dies (the out-of-memory killer: SIGKILL) ends ``nertag tag
--jobs`` with one line and a non-zero exit instead of a wait for ever, leaves an output
file as it was, and stopping the pool is bounded even when the dead worker held the
lock of the task queue."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time

import pytest

from conftest import NERTAG
from nertag.tagging import runtime

#: Far longer than any of these runs takes: a hang fails the test instead of the suite.
BOUND = 120


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def _big_text(path, paragraphs: int = 40_000) -> None:
    """Several MB of text: many seconds of tagging for two workers."""
    rng = random.Random(0)
    names = ["Angela Merkel", "Berlin", "Google", "John Smith", "Paris", "Microsoft", "Köln"]
    path.write_text("\n\n".join(
        " ".join(f"{rng.choice(names)} met {rng.choice(names)} in {rng.choice(names)} "
                 f"on Monday." for _ in range(3)) for _ in range(paragraphs)) + "\n",
        encoding="utf-8")


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.parametrize("how", ["file", "stdin"])  # byte ranges; batches (tag_stream)
def test_a_killed_worker_ends_the_run_with_one_line(tmp_path, how):
    src, out = tmp_path / "big.txt", tmp_path / "out.txt"
    _big_text(src)
    out.write_text("old\n")
    args = [*NERTAG, "tag", "-m", "default", "--jobs", "2", "-o", str(out),
            str(src) if how == "file" else "-"]
    with open(src, "rb") if how == "stdin" else open(os.devnull, "rb") as stdin:
        proc = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=tmp_path)
        try:
            deadline = time.monotonic() + BOUND
            while len(_children(proc.pid)) < 2 and proc.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            workers = _children(proc.pid)
            assert len(workers) >= 2, proc.communicate(timeout=BOUND)
            time.sleep(0.5)  # the workers are tagging
            os.kill(workers[0], signal.SIGKILL)
            stdout, stderr = proc.communicate(timeout=BOUND)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = stderr.decode()
    assert proc.returncode != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "a worker process died (killed by signal 9, SIGKILL" in lines[0]
    assert "nothing more was written" in lines[0]
    assert "Traceback" not in err
    assert out.read_text() == "old\n"  # the old file, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt", "out.txt"]
    for pid in workers:  # no worker left behind
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def _sleep(seconds):
    time.sleep(seconds)
    return seconds


def _in_thread(call):
    """``call()`` in a thread, waited for at most ``BOUND`` seconds: what it returned or
    raised, and whether it ended."""
    box = {}

    def run():
        try:
            box["value"] = call()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            box["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BOUND)
    return box, not thread.is_alive()


@pytest.mark.parametrize("finished", [True, False])
def test_every_worker_killed_a_wait_and_a_stop_end(finished):
    """Killing every idle worker kills the one that holds the task queue's lock too: no
    task is ever delivered again and ``Pool.terminate`` would wait for that lock for ever."""
    pool = runtime.start_pool(object(), 2)
    assert runtime.result(pool, pool.apply_async(_sleep, (0,))) == 0
    time.sleep(0.3)  # both idle, one of them waiting for a task with the lock held
    for p in pool.nertag_workers:
        os.kill(p.pid, signal.SIGKILL)
    box, ended = _in_thread(lambda: runtime.result(pool, pool.apply_async(_sleep, (0,))))
    assert ended
    assert isinstance(box.get("error"), runtime.WorkerDied), box
    assert "killed by signal 9, SIGKILL" in str(box["error"])
    box, ended = _in_thread(lambda: runtime.stop_pool(pool, finished=finished))
    assert ended and "error" not in box, box
    assert all(p.exitcode is not None for p in pool.nertag_workers + pool._pool)


def test_a_finished_pool_is_joined():
    pool = runtime.start_pool(object(), 2)
    assert runtime.result(pool, pool.apply_async(_sleep, (0,))) == 0
    box, ended = _in_thread(lambda: runtime.stop_pool(pool, finished=True))
    assert ended and "error" not in box, box
    assert [p.exitcode for p in pool.nertag_workers] == [0, 0]  # they exited on their own
