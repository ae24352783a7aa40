"""Connecting to a Dask scheduler (nertag.dask.connect, nertag tag --scheduler) ends
within its deadline whatever listens at the address: a socket that accepts and never
answers, an HTTP server, a worker instead of the scheduler, nothing at all -- with one
line saying what answered.  Every server here listens on 127.0.0.1 only."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from typer.testing import CliRunner

from conftest import check_error
from nertag.cli import app

distributed = pytest.importorskip("distributed")
import nertag.dask as nd  # noqa: E402
from nertag.dask import _connect  # noqa: E402

#: Generous: a probe that is bounded ends well within it, one that hangs never does.
BOUND = 30


class Listener:
    """A TCP server on 127.0.0.1 that accepts connections and answers each with
    ``reply`` after reading a little (None: never answers, keeps it open)."""

    def __init__(self, reply: bytes | None = None):
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.held.append(conn)
            if self.reply is not None:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(self.reply)
                except OSError:
                    pass
                conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent():
    server = Listener()
    yield server
    server.close()


HTTP_400 = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: 11\r\nConnection: close\r\n\r\nBad Request")


@pytest.fixture
def http():
    server = Listener(HTTP_400)
    yield server
    server.close()


def timed(f, *args, **kwargs):
    start = time.monotonic()
    with pytest.raises(nd.NertagError) as e:
        f(*args, **kwargs)
    return str(e.value), time.monotonic() - start


def test_a_socket_that_never_answers(silent):
    message, took = timed(nd.connect, silent.address, timeout=1)
    assert message.startswith(f"no Dask scheduler answered at {silent.address} within 1 s")
    assert took < BOUND
    assert silent.held, "the probe did connect"


def test_an_http_server_is_not_a_scheduler(http):
    message, took = timed(nd.connect, http.address, timeout=5)
    assert f"{http.address} answered, but not as a Dask scheduler" in message
    assert "memory" not in message
    assert took < BOUND


def test_nothing_listening():
    closed = socket.create_server(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    message, took = timed(nd.connect, address, timeout=1)
    assert message.startswith(f"no Dask scheduler answered at {address} within 1 s")
    assert took < BOUND


@pytest.mark.parametrize("address,fragment", [
    ("127.0.0.1", "missing port"),
    ("nonsense://127.0.0.1:1", "unknown address scheme"),
])
def test_not_an_address(address, fragment):
    message, took = timed(nd.connect, address, timeout=1)
    assert message.startswith(f"{address}: not a Dask scheduler's address") and \
        fragment in message
    assert took < BOUND


def test_a_worker_is_not_the_scheduler():
    import logging

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp://",
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  silence_logs=logging.ERROR) as cluster:
        worker = next(iter(cluster.scheduler.workers))
        message, _ = timed(nd.connect, worker, timeout=5)
        assert f"{worker} is a Dask worker, not the scheduler" in message
        client = nd.connect(cluster.scheduler_address, timeout=10)  # and a scheduler is fine
        try:
            assert client.status == "running"
        finally:
            client.close()


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "1e9"])
def test_a_bad_timeout_in_the_environment(monkeypatch, raw):
    monkeypatch.setenv(_connect.TIMEOUT_ENV, raw)
    with pytest.raises(nd.NertagError, match=f"{_connect.TIMEOUT_ENV}="):
        nd.connect("tcp://127.0.0.1:1")


@pytest.mark.parametrize("which", ["silent", "http"])
def test_the_cli_says_so_in_one_line(which, request, small_model, tmp_path, monkeypatch):
    server = request.getfixturevalue(which)
    monkeypatch.setenv(_connect.TIMEOUT_ENV, "1")
    src = tmp_path / "in.txt"
    src.write_text("Angela Merkel visited Paris.\n", encoding="utf-8")
    start = time.monotonic()
    r = CliRunner().invoke(app, ["tag", "-m", str(small_model), str(src), "--engine", "dask",
                                 "--scheduler", server.address, "-f", "jsonl"])
    assert time.monotonic() - start < BOUND
    check_error(r, 1, server.address,
                "within 1 s" if which == "silent" else "not as a Dask scheduler")
