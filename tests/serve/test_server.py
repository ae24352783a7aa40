"""nertag.serve.server: slow and silent clients are timed out and hold no worker; the
listening socket (loopback check, a port in use)."""

from __future__ import annotations

import json
import socket
import time

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: "
                                        "pip install -e '.[serve]'")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from nertag.errors import NertagError  # noqa: E402

TIMEOUT = 1.0


@pytest.fixture(scope="module")
def quick(start_server):
    """A server whose clients have 1 s to send a request's headers, and its body."""
    from nertag.serve.app import Settings

    server = start_server(Settings(timeout=TIMEOUT))
    yield server
    server.stop()


def closed_after(sock: socket.socket, limit: float = 10) -> tuple[float, bytes]:
    """Seconds until the server closed ``sock``, and what it sent before."""
    t, data = time.monotonic(), b""
    sock.settimeout(limit)
    while chunk := sock.recv(65536):
        data += chunk
    return time.monotonic() - t, data


def test_a_silent_connection_is_closed(quick):
    with quick.connect() as sock:
        seconds, data = closed_after(sock)
    assert TIMEOUT - 0.2 < seconds < TIMEOUT + 2 and data == b""


def test_headers_sent_too_slowly_close_the_connection(quick):
    with quick.connect() as sock:
        sock.sendall(b"POST /tag HTTP/1.1\r\nHost: x\r\n")  # ... and then nothing
        seconds, data = closed_after(sock)
    assert seconds < TIMEOUT + 2 and data == b""


def test_a_body_sent_too_slowly_gets_408(quick):
    with quick.connect() as sock:
        sock.sendall(b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"text\": ")
        seconds, data = closed_after(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408") and seconds < TIMEOUT + 2
    assert json.loads(body) == {"error": "the request's body did not arrive within 1 s"}


def test_a_kept_alive_connection_serves_requests_until_idle(quick):
    import http.client

    conn = http.client.HTTPConnection(quick.host, quick.port, timeout=10)
    try:
        for _ in range(3):  # each answer restarts the clock
            assert quick.request("GET", "/health", conn=conn)[0] == 200
            time.sleep(TIMEOUT * 0.6)
    finally:
        conn.close()


def test_stalled_clients_do_not_hold_the_worker(quick):
    """While 50 clients hang mid-request, others are answered at once."""
    stalled = []
    try:
        for _ in range(50):
            s = quick.connect()
            s.sendall(b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
            stalled.append(s)
        t = time.monotonic()
        status, answer = quick.tag({"text": "Laura Okafor flew to Geneva."})
        assert status == 200 and time.monotonic() - t < 0.5 * TIMEOUT
        assert [e["label"] for e in answer["docs"][0]["sentences"][0]["entities"]] == \
            ["PER", "LOC"]
    finally:
        for s in stalled:
            s.close()


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.168.1.10", False),
    ("example.org", False)])
def test_is_loopback(host, loopback):
    from nertag.serve.server import is_loopback

    assert is_loopback(host) is loopback


def test_bind_a_port_in_use_is_one_line():
    from nertag.serve.server import bind, url_of

    first = bind("127.0.0.1", 0)
    first.listen()
    try:
        port = first.getsockname()[1]
        assert url_of(first) == f"http://127.0.0.1:{port}/"
        with pytest.raises(NertagError, match=rf"cannot listen on 127.0.0.1:{port}: .*in use"
                                              r"; pick another with --port"):
            bind("127.0.0.1", port)
    finally:
        first.close()


def test_answers_are_not_held_back_by_nagle(live):
    """An answer is two writes (headers, body): TCP_NODELAY sends the body at once, not
    after the client's delayed ACK (40 ms per request on a kept-alive connection)."""
    import http.client

    conn = http.client.HTTPConnection(live.host, live.port, timeout=10)
    try:
        assert live.request("GET", "/health", conn=conn)[0] == 200
        socks = [p.transport.get_extra_info("socket")
                 for p in list(live.server.server_state.connections)]
        assert socks and all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                             for s in socks)
    finally:
        conn.close()


def test_a_client_gone_mid_body_is_no_error(live):
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        with live.connect() as sock:
            sock.sendall(b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{\"text\": ")
            time.sleep(0.2)
        time.sleep(0.3)
        assert live.request("GET", "/health")[0] == 200
    finally:
        logger.removeHandler(handler)
    assert not [r for r in records if r.levelno >= logging.ERROR], records


@pytest.mark.parametrize("protocol", ["TimedHttpTools", "TimedH11"])
@pytest.mark.parametrize("garbage", [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
                                     b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
                                     b"hello there\r\n\r\n"])
def test_malformed_http_gets_a_json_400(start_server, monkeypatch, protocol, garbage):
    """Bytes that are not HTTP (a TLS hello, a header without its colon, text) get the
    same JSON refusal as every other error, and the connection is closed."""
    from nertag.serve import server as server_module

    if not hasattr(server_module, protocol):
        pytest.skip(f"{protocol}: its parser is not installed")
    monkeypatch.setattr(server_module, "HTTP", f"nertag.serve.server:{protocol}")
    live = start_server()
    try:
        with live.connect() as sock:
            sock.sendall(garbage)
            _, data = closed_after(sock)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0] == "HTTP/1.1 400 Bad Request", data
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        assert headers["content-type"] == "application/json", data
        assert int(headers["content-length"]) == len(body)
        assert headers["connection"] == "close"
        error = json.loads(body)["error"]
        assert error.startswith("malformed HTTP request") and "POST /tag" in error, error
        assert live.request("GET", "/health")[0] == 200  # and the server goes on
    finally:
        live.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_url_is_shown_when_the_server_answers(workers):
    """``nertag serve`` shows its URL once it answers: a request sent at once, with no
    retry, is answered."""
    import http.client
    import re
    import signal
    import subprocess

    from conftest import NERTAG

    proc = subprocess.Popen(NERTAG + ["serve", "--port", "0", "--workers", str(workers)],
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        m = re.match(r"nertag serve: http://127\.0\.0\.1:(\d+)/ ", line)
        assert m, line
        conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=30)
        try:
            conn.request("GET", "/health")
            assert conn.getresponse().status == 200
        finally:
            conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    assert proc.returncode == 0


def test_bind_listens_at_once():
    """A connection made right after bind() waits in the backlog, it is not refused."""
    from nertag.serve.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        socket.create_connection(sock.getsockname()[:2], timeout=5).close()
    finally:
        sock.close()


def test_answering_gives_up_after_its_bound():
    """Nobody answers on a socket that no server accepts from: False, within the bound."""
    from nertag.serve.server import answering, bind

    sock = bind("127.0.0.1", 0)
    try:
        start = time.monotonic()
        assert answering(sock, wait=1.0) is False
        assert time.monotonic() - start < 30
    finally:
        sock.close()
