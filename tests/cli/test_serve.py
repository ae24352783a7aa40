"""``nertag serve`` as a user runs it: a subprocess with two workers on a free loopback
port, answering, then stopped by Ctrl-C; and its one-line errors."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import NERTAG, check_error

serve_extra = pytest.mark.skipif(
    any(__import__("importlib").util.find_spec(m) is None for m in ("starlette", "uvicorn")),
    reason="the serve extra is not installed (pip install -e '.[serve]')")


def children(pid: int) -> list[int]:
    """uvicorn's worker processes under ``pid`` (spawned: ``spawn_main`` on their line)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid and b"spawn_main" in (stat.parent / "cmdline").read_bytes():
                kids.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return kids


def get(url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.loads(r.read())


@serve_extra
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the workers")
def test_two_workers_answer_then_ctrl_c_stops_them():
    proc = subprocess.Popen(NERTAG + ["serve", "--port", "0", "--workers", "2"],
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        m = re.fullmatch(r"nertag serve: (http://127\.0\.0\.1:(\d+)/) \(the shipped model, "
                         r"2 workers; Ctrl-C to stop\)\n", line)
        assert m, line
        url = m.group(1)
        deadline = time.monotonic() + 60
        while True:  # the workers load the model, then listen
            try:
                health = get(url + "health")
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        workers = children(proc.pid)
        assert len(workers) == 2 and health["pid"] in workers
        answer = get(url + "tag", {"texts": ["Laura Okafor flew to Geneva.", "Paris."]})
        assert [[e["label"] for s in d["sentences"] for e in s["entities"]]
                for d in answer["docs"]] == [["PER", "LOC"], ["LOC"]]
        again = get(url + "health")
        if again["pid"] == health["pid"]:  # loaded at its start, not per request
            assert again["started"] == health["started"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert not children(proc.pid)


def _serve(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(NERTAG + ["serve", *map(str, args)], capture_output=True, text=True,
                          timeout=60, **kwargs)


class Result:
    """A finished subprocess as check_error expects it (typer's Result fields)."""

    def __init__(self, p: subprocess.CompletedProcess):
        self.exit_code, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr
        self.output, self.exception = p.stdout + p.stderr, None


def test_without_the_extra_one_line_names_it():
    code = ("import sys; sys.modules['uvicorn'] = None; sys.argv = ['nertag', 'serve']; "
            "from nertag.cli import main; main()")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stderr == ("error: nertag serve needs the optional 'serve' extra: "
                        "pip install 'nertag[serve]'\n") and p.returncode == 1


@serve_extra
def test_a_missing_model_is_one_line(tmp_path):
    check_error(Result(_serve("--port", "0", "--model", tmp_path / "nope")), 1,
                "nope: model directory not found")


@serve_extra
def test_a_port_in_use_is_one_line():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        check_error(Result(_serve("--port", port)), 1,
                    f"cannot listen on 127.0.0.1:{port}", "pick another with --port")


@pytest.mark.parametrize("args,fragment", [
    (["--port", "70000"], "'--port' / '-p'"), (["--workers", "0"], "'--workers' / '-w'"),
    (["--max-bytes", "0"], "'--max-bytes'"), (["--timeout", "0"], "'--timeout'")])
def test_bad_options_are_usage_errors(cli, args, fragment):
    check_error(cli("serve", *args), 2, fragment, "(see 'nertag serve --help')")
