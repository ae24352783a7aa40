"""``nertag serve --patterns``: /tag answers with the merged entities and their source,
/model says which patterns are merged."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: "
                                        "pip install -e '.[serve]'")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")


def test_tag_and_model_with_patterns(start_server, small_model, tmp_path):
    from nertag.serve.app import Settings

    f = tmp_path / "p.jsonl"
    f.write_text('{"label": "CITY", "pattern": "Paris", "id": "paris"}\n', encoding="utf-8")
    settings = Settings(model=str(small_model), patterns=str(f), pattern_mode="patterns")
    server = start_server(settings)
    try:
        status, obj = server.tag({"text": "I love Paris.", "tokens": True})
        assert status == 200
        (sent,) = obj["docs"][0]["sentences"]
        assert sent["entities"] == [{"start": 7, "end": 12, "label": "CITY", "text": "Paris",
                                     "score": 1.0, "source": "pattern", "id": "paris"}]
        assert [t["tag"] for t in sent["tokens"]] == ["O", "O", "B-CITY", "O"]
        status, _, body = server.request("GET", "/model")
        info = json.loads(body)
        assert info["patterns"] == {"file": "p.jsonl", "count": 1, "mode": "patterns",
                                    "labels": ["CITY"]}
        assert info["labels"] == ["CITY"]
    finally:
        server.stop()


def test_a_bad_patterns_file_stops_the_command(small_model, tmp_path, cli):
    from conftest import check_error

    f = tmp_path / "p.jsonl"
    f.write_text('{"label": "CITY"}\n', encoding="utf-8")
    check_error(cli("serve", "-m", small_model, "--patterns", f, "--port", "0"), 2,
                f"{f}:1: no 'pattern'")
