"""Every endpoint and every bad request, over real HTTP to a real server (uvicorn on a
free loopback port, see conftest.py): answers, statuses, and JSON errors."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: "
                                        "pip install -e '.[serve]'")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from conftest import NERTAG  # noqa: E402

NEWS = ("Laura Okafor, chief executive of Northwind Holdings Inc., flew from Chicago to "
        "Geneva on Monday. She met Angela Merkel.\n\nNo names here.\n")


def expected(tagger, text: str, tokens: bool, decoder=None) -> list[dict]:
    """What /tag should say for ``text``: the tagger's sentences as jsonl objects."""
    doc = tagger(text, decoder=decoder)
    out = []
    for s in doc.sentences:
        obj = {"text": s.text, "start": s.start}
        if tokens:
            obj["tokens"] = [t._asdict() for t in s.tokens]
        obj["entities"] = [e.as_dict() for e in s.ents]
        out.append(obj)
    return out


# ---------------------------------------------------------------------- endpoints
def test_health(live):
    status, headers, body = live.request("GET", "/health")
    assert status == 200 and headers["content-type"] == "application/json"
    obj = json.loads(body)
    assert obj["status"] == "ok" and obj["model"] == "default"
    assert obj["pid"] == os.getpid()  # the server runs in a thread of this process


def test_model(live, tagger):
    status, _, body = live.request("GET", "/model")
    obj = json.loads(body)
    assert status == 200
    assert obj["labels"] == ["LOC", "MISC", "ORG", "PER"] == tagger.labels
    assert obj["decoder"] == "viterbi" and obj["name"] == "default"
    assert obj["recipe"]["model"]["head"] == "crf"  # config.yaml
    assert obj["dev_scores"] is None  # the shipped model learned from dev: none to report
    assert "train" in obj["provenance"] and "dev_scores" not in obj["provenance"]
    assert obj["server"]["max_bytes"] == 1_000_000 and obj["server"]["max_texts"] == 1000
    assert obj["server"]["sentences"] == ["blank", "line", "auto"]


def test_tag_is_the_jsonl_of_nertag_tag(live, tmp_path):
    """With tokens, each sentence is exactly the line ``nertag tag -f jsonl`` writes."""
    path = tmp_path / "news.txt"
    path.write_text(NEWS, encoding="utf-8")
    lines = subprocess.run(NERTAG + ["tag", str(path), "-f", "jsonl"], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    status, answer = live.tag({"text": NEWS, "tokens": True})
    assert status == 200
    got = answer["docs"][0]["sentences"]
    want = [json.loads(line) for line in lines]
    assert len(got) == len(want) == 3
    for g, w in zip(got, want):
        for e in g["entities"] + w["entities"]:  # scores: the same to rounding
            e["score"] = round(e["score"], 3)
        assert g == w


def test_tag_texts_offsets_and_options(live, tagger):
    texts = ["Angela Merkel met François Hollande in Köln.", "", "🙂 Angela Merkel in Paris.",
             NEWS]
    status, answer = live.tag({"texts": texts})
    assert status == 200 and list(answer) == ["docs"] and len(answer["docs"]) == 4
    for text, doc in zip(texts, answer["docs"]):
        assert doc["sentences"] == expected(tagger, text, tokens=False)
        for s in doc["sentences"]:  # offsets: characters (code points) of the text sent
            assert "tokens" not in s and text[s["start"]:].startswith(s["text"])
            for e in s["entities"]:
                assert text[e["start"]:e["end"]] == e["text"]
    assert answer["docs"][1] == {"sentences": []}
    assert [e["text"] for e in answer["docs"][2]["sentences"][0]["entities"]] == \
        ["Angela Merkel", "Paris"]
    text = "Kiptoo, who trains with the Nairobi Athletics Club, said he hadn't planned to attack."
    _, greedy = live.tag({"text": text, "decoder": "greedy", "sentences": "blank"})
    assert greedy["docs"][0]["sentences"] == expected(tagger, text, False, "greedy")
    _, own = live.tag({"text": text, "decoder": None, "tokens": True})
    assert own["docs"][0]["sentences"] == expected(tagger, text, True)
    assert own != greedy


def test_sentences_line_breaks_end_sentences_by_default(live, tagger):
    """The issue's example: three headlines are three sentences (auto, the default, and
    line), one in blank mode; a hard-wrapped paragraph stays one sentence in auto mode."""
    headlines = "Obama visits Paris\nMerkel meets Macron\nApple hires Tim Cook\n"
    wrapped = ("Delegates from more than 40 countries gathered in Geneva on Thursday for\n"
               "talks on river pollution, the United Nations said in a statement issued\n"
               "at the Palais des Nations.\n")
    for mode, n_head, n_wrapped in ((None, 3, 1), ("auto", 3, 1), ("line", 3, 3),
                                    ("blank", 1, 1)):
        req = {"texts": [headlines, wrapped]} | ({"sentences": mode} if mode else {})
        status, answer = live.tag(req)
        assert status == 200
        docs = answer["docs"]
        assert [len(d["sentences"]) for d in docs] == [n_head, n_wrapped], mode
        for d, text in zip(docs, (headlines, wrapped)):
            assert d["sentences"] == [
                {"text": s.text, "start": s.start, "entities": [e.as_dict() for e in s.ents]}
                for s in tagger(text, sentences=mode or "auto").sentences]
            if n_head == 3:
                assert all("\n" not in e["text"] for s in d["sentences"] for e in s["entities"])


def test_the_page_and_its_files(live):
    from nertag.render.palette import colours

    status, headers, body = live.request("GET", "/")
    page = body.decode("utf-8")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert '<textarea id="text"' in page and '<div class="text" id="out"' in page
    for label, c in colours(["LOC", "MISC", "ORG", "PER"]).items():  # as --format html
        assert f'<mark data-label="{label}">{label}</mark>' in page  # the legend
        assert (f'mark[data-label="{label}"] {{ background: {c.background}; color: {c.text}; }}'
                in page)  # the colours (the same in every output)
    assert "http://" not in page and "https://" not in page  # nothing from elsewhere
    assert '<script src="/static/page.js">' in page
    status, headers, js = live.request("GET", "/static/page.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert b'fetch("/tag"' in js and b"http" not in js
    status, headers, css = live.request("GET", "/static/page.css")
    assert status == 200 and headers["content-type"].startswith("text/css")
    status, _, body = live.request("GET", "/static/secret.py")
    assert status == 404 and "error" in json.loads(body)


# ---------------------------------------------------------------------- bad requests
BIG = json.dumps({"text": "Paris. " * 160_000}).encode()  # 1.1 MB
BAD = {  # name -> (method, path, body, headers, status, fragments of the error)
    "not-json": ("POST", "/tag", b"{'text': 1}", {"Content-Type": "application/json"}, 400,
                 ["not valid JSON"]),
    "not-utf8": ("POST", "/tag", b'{"text": "\xff"}', {"Content-Type": "application/json"},
                 400, ["not valid JSON"]),
    "empty-body": ("POST", "/tag", b"", {"Content-Type": "application/json"}, 400,
                   ["not valid JSON"]),
    "a-list": ("POST", "/tag", ["x"], None, 422, ["JSON object", "not an array"]),
    "no-text": ("POST", "/tag", {"decoder": "greedy"}, None, 422,
                ["missing field 'text'", "'texts'"]),
    "text-number": ("POST", "/tag", {"text": 5}, None, 422,
                    ["field 'text' must be a string, got a number"]),
    "texts-string": ("POST", "/tag", {"texts": "abc"}, None, 422,
                     ["field 'texts' must be an array of strings, got a string"]),
    "texts-item": ("POST", "/tag", {"texts": ["ok", None]}, None, 422,
                   ["field 'texts[1]' must be a string, got null"]),
    "both": ("POST", "/tag", {"text": "a", "texts": ["b"]}, None, 422, ["not both"]),
    "unknown-field": ("POST", "/tag", {"text": "a", "lang": "en"}, None, 422,
                      ["unknown field 'lang'", "text, texts, sentences, decoder, tokens"]),
    "bad-decoder": ("POST", "/tag", {"text": "a", "decoder": "beam"}, None, 422,
                    ["field 'decoder'", "greedy, constrained, viterbi", "'beam'"]),
    "bad-sentences": ("POST", "/tag", {"text": "a", "sentences": "para"}, None, 422,
                      ["field 'sentences' must be one of blank, line, auto", "'para'"]),
    "bad-tokens": ("POST", "/tag", {"text": "a", "tokens": "yes"}, None, 422,
                   ["field 'tokens' must be true or false"]),
    "lone-surrogate": ("POST", "/tag", b'{"text": "ab\\ud800"}',
                       {"Content-Type": "application/json"}, 422,
                       ["field 'text' is not valid Unicode", "character 2"]),
    "too-many-texts": ("POST", "/tag", {"texts": ["a"] * 1001}, None, 413,
                       ["too many texts in one request: 1001", "the limit is 1000"]),
    "too-big": ("POST", "/tag", BIG, {"Content-Type": "application/json"}, 413,
                [f"the body is {len(BIG):,} bytes", "the limit is 1,000,000 bytes"]),
    "text-plain": ("POST", "/tag", b'{"text": "a"}', {"Content-Type": "text/plain"}, 415,
                   ["Content-Type: application/json", "'text/plain'"]),
    "no-content-type": ("POST", "/tag", b'{"text": "a"}', {}, 415, ["(got none)"]),
    "get-tag": ("GET", "/tag", None, None, 405, ["GET /tag: method not allowed", "POST"]),
    "post-health": ("POST", "/health", b"", None, 405, ["use GET"]),
    "no-such-path": ("GET", "/v1/tag", None, None, 404,
                     ["no such endpoint: GET /v1/tag", "POST /tag"]),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_requests_get_a_json_error(live, name):
    method, path, body, headers, status, fragments = BAD[name]
    got, hdrs, data = live.request(method, path, body, headers)
    assert got == status, data
    assert hdrs["content-type"] == "application/json"
    obj = json.loads(data)
    assert list(obj) == ["error"] and "\n" not in obj["error"], obj
    assert "Traceback" not in obj["error"]
    for fragment in fragments:
        assert fragment in obj["error"], (fragment, obj["error"])
    if status == 405:
        assert "allow" in hdrs


def test_a_body_a_little_too_big_leaves_the_connection_open(live):
    import http.client

    conn = http.client.HTTPConnection(live.host, live.port, timeout=30)
    try:
        status, headers, _ = live.request("POST", "/tag", BIG,
                                          {"Content-Type": "application/json"}, conn=conn)
        assert status == 413 and headers.get("connection") != "close"
        status, _, body = live.request("POST", "/tag", {"text": "Paris."}, conn=conn)
        assert status == 200 and json.loads(body)["docs"]
    finally:
        conn.close()


def test_a_huge_declared_body_is_refused_before_it_is_sent(live):
    with live.connect() as sock:
        sock.sendall(b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000000\r\n\r\n")
        answer = sock.makefile("rb").read()  # the server answers and closes
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"connection: close" in head.lower()
    assert "the body is 100,000,000 bytes" in json.loads(body)["error"]


def test_a_bug_is_a_json_500_without_traceback(live, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(live.runner, "_tag_together", broken)
    status, answer = live.tag({"text": "Paris."})
    assert status == 500
    assert answer == {"error": "internal error (RuntimeError); the server's log has the "
                               "details"}


# ---------------------------------------------------------------------- concurrency
def test_concurrent_requests_get_their_own_answers(live, tagger):
    """32 clients at once, mixed decoders and texts: each answer is that request's own,
    and requests waiting together were tagged in shared model calls."""
    sents = [line for line in NEWS.replace(". ", ".\n").splitlines() if line] + \
        [f"Mr. Whitcombe number {i} flew to Ohio." for i in range(5)]
    jobs = [(sents[i % len(sents)], ("greedy", None, "constrained")[i % 3],
             bool(i % 2)) for i in range(96)]
    want = {j: expected(tagger, *j[:1], j[2], j[1]) for j in set(jobs)}
    before = json.loads(live.request("GET", "/health")[2])
    answers: dict[int, tuple] = {}

    def client(k: int) -> None:
        for i in range(k, len(jobs), 32):
            text, decoder, tokens = jobs[i]
            answers[i] = live.tag({"text": text, "decoder": decoder, "tokens": tokens})

    threads = [threading.Thread(target=client, args=(k,)) for k in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == len(jobs)
    for i, job in enumerate(jobs):
        status, answer = answers[i]
        assert status == 200 and answer["docs"][0]["sentences"] == want[job], job
    after = json.loads(live.request("GET", "/health")[2])
    assert after["requests"] - before["requests"] == len(jobs)
    assert after["model_calls"] - before["model_calls"] < len(jobs)  # some went together
    assert after["started"] == before["started"]  # the model was loaded once, at start


def test_a_busy_worker_of_several_closes_a_connection_now_and_then():
    from nertag.serve.app import Rebalancer

    r = Rebalancer(after=3)
    a, b = ("127.0.0.1", 5000), ("127.0.0.1", 5001)
    assert [r.close_after(a, busy=True) for _ in range(3)] == [False, False, True]
    assert [r.close_after(b, busy=False) for _ in range(5)] == [False] * 5  # not busy
    assert r.close_after(b, busy=True)  # its 6th answer, now busy
    assert not r.close_after(a, busy=True)  # a new connection on the same port
    slow = Rebalancer(after=1000, seconds=0.05)
    assert not slow.close_after(a, busy=True)
    time.sleep(0.06)
    assert slow.close_after(a, busy=True)  # few but long: after 0.05 s


def test_one_worker_never_closes_a_kept_alive_connection(live, monkeypatch):
    import http.client

    monkeypatch.setattr(type(live.runner), "busy", property(lambda self: True))
    conn = http.client.HTTPConnection(live.host, live.port, timeout=30)
    try:
        for _ in range(70):
            status, headers, _ = live.request("POST", "/tag", {"text": "Paris."}, conn=conn)
            assert status == 200 and headers.get("connection") != "close"
    finally:
        conn.close()


def test_with_several_workers_a_busy_one_sends_connection_close(start_server, monkeypatch):
    import http.client

    from nertag.serve.app import REBALANCE_AFTER, Settings

    server = start_server(Settings(workers=2))
    try:
        monkeypatch.setattr(type(server.runner), "busy", property(lambda self: True))
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        closes = []
        for _ in range(REBALANCE_AFTER + 1):  # http.client reconnects by itself
            status, headers, _ = server.request("POST", "/tag", {"text": "Paris."}, conn=conn)
            assert status == 200
            closes.append(headers.get("connection") == "close")
        conn.close()
        assert closes.index(True) == REBALANCE_AFTER - 1 and closes.count(True) == 1
    finally:
        server.stop()


def test_too_many_waiting_requests_get_503(live, monkeypatch):
    monkeypatch.setattr(type(live.runner), "waiting", property(lambda self: 1000))
    status, headers, body = live.request("POST", "/tag", {"text": "Paris."})
    assert status == 503 and headers["retry-after"] == "1"
    assert json.loads(body) == {"error": "the server is busy: 1000 requests are waiting; "
                                         "retry in a moment"}
