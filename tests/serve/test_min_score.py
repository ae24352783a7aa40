"""``nertag serve --min-score`` and a request's ``min_score``: entities scored below it
(calibrated scores, as ``nertag tag --min-score``) are left out; bad values are 422."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: "
                                        "pip install -e '.[serve]'")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")

TEXT = ("Peter Blackburn visited Brussels on Monday .\n\nThe European Commission said on "
        "Thursday it disagreed with German advice to consumers to shun British lamb .\n\n"
        "Japan beat Syria 2-1 in the Asian Cup in Al Ain on Friday .\n")


def test_serve_min_score(start_server, small_model):
    import nertag
    from nertag.serve.app import Settings

    ents = nertag.load(small_model)(TEXT).ents
    scores = sorted({e.score for e in ents})
    x = scores[len(scores) // 2]
    kept = [(e.start, e.end, e.label) for e in ents if e.score >= x]
    assert 0 < len(kept) < len(ents)
    server = start_server(Settings(model=str(small_model), min_score=x))

    def entities(body):
        status, obj = server.tag(body)
        assert status == 200, obj
        return [(e["start"], e["end"], e["label"]) for s in obj["docs"][0]["sentences"]
                for e in s["entities"]]

    try:
        assert entities({"text": TEXT}) == kept
        assert entities({"text": TEXT, "min_score": None}) == kept
        assert entities({"text": TEXT, "min_score": 0}) == \
            [(e.start, e.end, e.label) for e in ents]
        assert entities({"text": TEXT, "min_score": 1}) == []
        for bad, got in ((2, "got 2"), (-1, "got -1"), ("0.5", "got a string"),
                         (True, "got a boolean"), ([0.5], "got an array")):
            status, obj = server.tag({"text": TEXT, "min_score": bad})
            assert status == 422
            assert obj["error"] == (f"field 'min_score' must be a number from 0 to 1 (or null "
                                    f"for the server's), {got}")
        status, _, body = server.request("GET", "/model")
        assert json.loads(body)["server"]["min_score"] == x
    finally:
        server.stop()
