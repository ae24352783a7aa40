"""The annotation server over HTTP (a real uvicorn on loopback, the shipped model): the
page and its files, two tabs that never write over each other, refusals as JSON, a
full disk reported in the answer, and the uncertain order on the model's scores."""

from __future__ import annotations

import errno
import http.client
import json

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from nertag.annotate import store as store_mod  # noqa: E402

pytestmark = pytest.mark.slow

SENTENCES = ["Laura Okafor flew from Chicago to Geneva on Monday.",
             "It rained all day.",
             "Barack Obama spoke in Berlin.",
             "The Zorblax Qwerty met Frobnitz in Xylo."]


@pytest.fixture
def text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("\n".join(SENTENCES) + "\n")
    return path


def get(server, path: str):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_the_page_and_its_files_come_from_the_server(start_annotate, text, tmp_path):
    server = start_annotate([text], tmp_path / "a.jsonl", labels=["PRODUCT"])
    status, headers, page = get(server, "/")
    assert status == 200 and "default-src 'none'" in headers["content-security-policy"]
    page = page.decode()
    assert '<script src="/static/annotate.js"></script>' in page
    assert "http" not in page.replace("http-equiv", "")  # nothing from elsewhere
    assert 'data-labels="[&quot;LOC&quot;, &quot;MISC&quot;, &quot;ORG&quot;, ' \
           '&quot;PER&quot;, &quot;PRODUCT&quot;]"' in page
    assert 'mark[data-label="PRODUCT"] { background: #d4a72c; color: #000000; }' in page
    for name in ("annotate.js", "annotate.css"):
        assert get(server, f"/static/{name}")[0] == 200
    status, _, body = get(server, "/nope")
    assert status == 404 and json.loads(body)["error"].startswith("no such endpoint: GET /nope")


def test_two_tabs_get_different_sentences_and_never_overwrite(start_annotate, text, tmp_path):
    out = tmp_path / "a.jsonl"
    server = start_annotate([text], out)
    _, a = server.post("/api/next", {"client": "A"})
    _, b = server.post("/api/next", {"client": "B"})
    assert a["item"]["id"] != b["item"]["id"]
    status, answer = server.post("/api/answer", {"client": "B", "id": a["item"]["id"],
                                                 "answer": "accept", "spans": []})
    assert status == 409 and "another tab or browser holds this sentence" in answer["error"]
    assert server.post("/api/answer", {"client": "A", "id": a["item"]["id"],
                                       "answer": "reject", "spans": []})[0] == 200
    status, answer = server.post("/api/answer", {"client": "B", "id": a["item"]["id"],
                                                 "answer": "accept", "spans": []})
    assert status == 409 and "answered already" in answer["error"]
    assert [json.loads(x)["answer"] for x in out.read_text().splitlines()] == ["reject"]


@pytest.mark.parametrize("body, status, words", [
    ({}, 400, '"client"'), ({"client": "A", "id": "nope", "answer": "accept"}, 404,
                             "no sentence 'nope'"),
    ({"client": "A", "id": None, "answer": "accept"}, 404, "no sentence")])
def test_refusals_are_json(start_annotate, text, tmp_path, body, status, words):
    server = start_annotate([text], tmp_path / "a.jsonl")
    got, answer = server.post("/api/answer", body)
    assert got == status and words in answer["error"]


def test_a_full_disk_is_reported_in_the_answer_and_once_on_the_console(
        start_annotate, text, tmp_path, monkeypatch):
    out = tmp_path / "a.jsonl"
    server = start_annotate([text], out)

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_mod, "write_line", full)
    _, body = server.post("/api/next", {"client": "A"})
    status, body = server.post("/api/answer", {"client": "A", "id": body["item"]["id"],
                                               "answer": "accept", "spans": []})
    assert status == 200 and body["warning"] == (
        f"{out}: cannot write (No space left on device); 1 answer(s) kept in memory, retried "
        f"at every next step; free some space or fix the permissions, and keep this server "
        f"running")
    assert server.notes == [body["warning"]] and out.read_text() == ""
    monkeypatch.undo()
    _, body = server.post("/api/next", {"client": "A"})
    assert body["warning"] is None and len(out.read_text().splitlines()) == 1


def test_uncertain_order_starts_with_the_models_least_sure_sentence(start_annotate, text,
                                                                    tmp_path):
    server = start_annotate([text], tmp_path / "a.jsonl", order="uncertain", random_share=0.0,
                            sentences="line")
    items = server.session.items
    scores = [i.score for i in items]
    # no entity: its margin, the lowest probability of an O token (below 1)
    assert not items[1].spans and scores[1] == items[1].margin < 1.0
    shown = []
    for _ in items:
        _, body = server.post("/api/next", {"client": "A"})
        shown.append(body["item"]["id"])
        server.post("/api/answer", {"client": "A", "id": shown[-1], "answer": "ignore",
                                    "spans": []})
    assert shown == [items[i].id for i in sorted(range(len(items)), key=lambda i: scores[i])]
