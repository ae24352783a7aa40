"""A real ``nertag annotate`` server for the tests: the session on the shipped model,
served by uvicorn with nertag's protocol on a free loopback port, in a thread of the test
process (as tests/serve/conftest.py does for ``nertag serve``)."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from nertag.annotate.source import Item, sentence_id

TOY_TEXTS = ["Ann met Bob .", "Paris is big .", "Nothing here ."]


def toy_items() -> list[Item]:
    out, offset = [], 0
    for text in TOY_TEXTS:
        toks, pos = [], 0
        for w in text.split():
            a = text.index(w, pos)
            toks.append((w, a, a + len(w)))
            pos = a + len(w)
        spans = [(0, 3, "PER", 0.8)] if text.startswith("Ann") else \
            [(0, 5, "LOC", 0.6)] if text.startswith("Paris") else []
        out.append(Item(sentence_id("t.txt", offset, text), "t.txt", offset, text, toks, spans))
        offset += len(text) + 1
    return out


@pytest.fixture
def toy() -> list[Item]:
    """Three toy sentences as a session holds them (no model needed): the first with a
    PER span scored 0.8, the second a LOC span scored 0.6, the third none."""
    return toy_items()


class LiveAnnotate:
    """``open_session(inputs, output, ...)`` behind a server on 127.0.0.1:<free port>."""

    def __init__(self, inputs, output, **options):
        import uvicorn

        from nertag.annotate.app import TIMEOUT, create_app
        from nertag.annotate.session import open_session
        from nertag.serve.app import Settings
        from nertag.serve.server import bind, make_config

        self.notes: list[str] = []
        self.session, self.lock, _ = open_session([str(p) for p in inputs], str(output),
                                                  notify=self.notes.append, **options)
        self.app = create_app(self.session, "test")
        sock = bind("127.0.0.1", 0)
        self.host, self.port = sock.getsockname()[:2]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(make_config(self.app, Settings(timeout=TIMEOUT)))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True, name="nertag-annotate-test")
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "no server"
            time.sleep(0.02)

    def post(self, path: str, body: dict):
        """(status, decoded JSON answer)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            r = conn.getresponse()
            return r.status, json.loads(r.read())
        finally:
            conn.close()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        assert not self.thread.is_alive()
        self.session.close()
        self.lock.release()


@pytest.fixture
def start_annotate():
    """``start_annotate(inputs, output, **options)`` → a :class:`LiveAnnotate` (stopped
    after the test)."""
    started = []

    def start(inputs, output, **options):
        started.append(LiveAnnotate(inputs, output, **options))
        return started[-1]

    yield start
    for server in started:
        server.stop()
