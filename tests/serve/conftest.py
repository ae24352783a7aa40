"""A real ``nertag serve`` for the tests: uvicorn with nertag's application and protocol
on a free loopback port, in a thread of the test process, and an HTTP client
(``http.client``: every header and byte as sent).  The fixtures import the serve extra
only when used, so the modules that need it can skip cleanly without it."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest



class LiveServer:
    """``create_app(tagger, settings)`` served by uvicorn on 127.0.0.1:<free port>."""

    def __init__(self, settings=None, tagger=None):
        import uvicorn

        from nertag.serve.app import Settings, create_app
        from nertag.serve.server import bind, make_config

        self.settings = settings or Settings()
        self.app = create_app(tagger, self.settings)
        sock = bind("127.0.0.1", 0)
        self.host, self.port = sock.getsockname()[:2]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(make_config(self.app, self.settings))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True, name="nertag-serve-test")
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "no server"
            time.sleep(0.02)

    @property
    def runner(self):
        return self.app.state.runner

    def request(self, method: str, path: str, body=None, headers=None, conn=None):
        """(status, headers, body bytes); ``body`` a dict/list is sent as JSON."""
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        own = conn is None
        conn = conn or http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            if own:
                conn.close()

    def tag(self, body, headers=None):
        """POST /tag with a JSON body: (status, decoded JSON answer)."""
        status, hdrs, data = self.request("POST", "/tag", body, headers)
        assert hdrs["content-type"].startswith("application/json"), hdrs
        return status, json.loads(data)

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        assert not self.thread.is_alive()


@pytest.fixture(scope="session")
def live():
    """The shipped model behind a real server (started once; do not change its state)."""
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def start_server():
    """``start_server(settings)`` → a new :class:`LiveServer` (stop it)."""
    return LiveServer


@pytest.fixture(scope="session")
def tagger():
    """A Tagger of the shipped model, for the expected answers (not the server's)."""
    import nertag

    return nertag.load()
