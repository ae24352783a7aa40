"""The rules of a decision: answers appended, refusals, undo, resume, failed writes."""

from __future__ import annotations

import errno
import json

import pytest

from nertag.annotate import store as store_mod
from nertag.annotate.queue import Queue
from nertag.annotate.session import Refused, Session
from nertag.annotate.store import AnswerStore

TEXTS = ["Ann met Bob .", "Paris is big .", "Nothing here ."]  # the toy fixture's

@pytest.fixture
def session(toy):
    """``session(path, notes)``: a session over the toy sentences, answers in ``path``."""
    def make(path, notes=None) -> Session:
        store = AnswerStore(path)
        loaded = store.load()
        q = Queue([i.score for i in toy], "as-is", random_share=0.0)
        return Session(toy, ["LOC", "PER", "PRODUCT"], store, loaded, q,
                       notify=(notes.append if notes is not None else lambda m: None),
                       clock=lambda: 1000.0)
    return make


def lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_next_shows_the_models_spans_as_token_ranges(session, tmp_path):
    s = session(tmp_path / "a.jsonl")
    body = s.next("c")
    assert body["item"]["text"] == TEXTS[0]
    assert body["item"]["spans"] == [{"token_start": 0, "token_end": 0, "label": "PER",
                                      "score": 0.8}]
    assert body["progress"] == {"answered": 0, "remaining": 3, "total": 3, "unsaved": 0,
                                "retrain_f1": None, "retrain_used": None}


def test_an_answer_is_appended_as_a_training_record_and_the_next_follows(session, tmp_path):
    path = tmp_path / "a.jsonl"
    s = session(path)
    first = s.next("c")["item"]
    body = s.answer("c", first["id"], "accept",
                    [{"token_start": 0, "token_end": 0, "label": "PER"},
                     {"token_start": 2, "token_end": 2, "label": "PER"}])
    assert body["item"]["text"] == TEXTS[1] and body["progress"]["answered"] == 1
    [r] = lines(path)
    assert r == {"id": first["id"], "text": TEXTS[0],
                 "tokens": [{"text": "Ann", "start": 0, "end": 3, "id": 0},
                            {"text": "met", "start": 4, "end": 7, "id": 1},
                            {"text": "Bob", "start": 8, "end": 11, "id": 2},
                            {"text": ".", "start": 12, "end": 13, "id": 3}],
                 "spans": [{"start": 0, "end": 3, "label": "PER", "token_start": 0,
                            "token_end": 0},
                           {"start": 8, "end": 11, "label": "PER", "token_start": 2,
                            "token_end": 2}],
                 "answer": "accept", "meta": {"source": "t.txt", "offset": 0},
                 "client": "c", "ts": 1000.0}


def test_an_id_answered_already_is_refused_and_nothing_is_written(session, tmp_path):
    path = tmp_path / "a.jsonl"
    s = session(path)
    key = s.next("a")["item"]["id"]
    s.answer("a", key, "reject", [])
    for client in ("a", "b"):
        with pytest.raises(Refused) as e:
            s.answer(client, key, "accept", [])
        assert e.value.status == 409 and "answered already" in e.value.message
    assert len(lines(path)) == 1


def test_a_sentence_held_by_another_tab_is_refused(session, tmp_path):
    s = session(tmp_path / "a.jsonl")
    key = s.next("a")["item"]["id"]
    assert s.next("b")["item"]["id"] != key
    with pytest.raises(Refused, match="another tab or browser holds"):
        s.answer("b", key, "accept", [])


@pytest.mark.parametrize("answer, spans, words", [
    ("maybe", [], "answer 'maybe': use one of accept, reject, ignore"),
    ("accept", [{"token_start": 0, "token_end": 9, "label": "PER"}], "token numbers from 0 to 3"),
    ("accept", [{"token_start": 0, "token_end": 0, "label": "GPE"}],
     "span label 'GPE': not one of LOC, PER, PRODUCT"),
    ("accept", [{"token_start": 0, "token_end": 1, "label": "PER"},
                {"token_start": 1, "token_end": 2, "label": "LOC"}], "two spans overlap"),
    ("accept", "PER", '"spans" must be a list')])
def test_bad_answers_are_refused(session, tmp_path, answer, spans, words):
    s = session(tmp_path / "a.jsonl")
    key = s.next("c")["item"]["id"]
    with pytest.raises(Refused, match=words):
        s.answer("c", key, answer, spans)
    assert (tmp_path / "a.jsonl").read_text() == ""


def test_undo_appends_a_record_and_gives_the_sentence_back_with_its_spans(session, tmp_path):
    path = tmp_path / "a.jsonl"
    s = session(path)
    key = s.next("c")["item"]["id"]
    s.answer("c", key, "accept", [{"token_start": 2, "token_end": 2, "label": "PRODUCT"}])
    body = s.undo("c")
    assert body["item"]["id"] == key and body["undone"] == "accept"
    assert body["item"]["spans"] == [{"token_start": 2, "token_end": 2, "label": "PRODUCT",
                                      "score": None}]
    assert [(r["id"], r["answer"]) for r in lines(path)] == [(key, "accept"), (key, "undo")]
    assert body["progress"]["answered"] == 0
    s.answer("c", key, "reject", [])  # answered again after the undo
    with pytest.raises(Refused, match="nothing to undo") as e:
        session(tmp_path / "b.jsonl").undo("c")
    assert e.value.status == 409


def test_restarting_resumes_and_keeps_each_clients_undo(session, tmp_path):
    path = tmp_path / "a.jsonl"
    s = session(path)
    k0 = s.next("c")["item"]["id"]
    k1 = s.answer("c", k0, "accept", [])["item"]["id"]
    s.answer("c", k1, "ignore", [])
    s.close()
    again = session(path)
    body = again.next("c")
    assert body["item"]["text"] == TEXTS[2] and body["progress"]["answered"] == 2
    assert again.undo("c")["item"]["id"] == k1


def test_a_full_disk_keeps_the_answer_in_memory_and_writes_it_later(session, tmp_path, monkeypatch):
    path = tmp_path / "a.jsonl"
    notes = []
    s = session(path, notes)
    k0 = s.next("c")["item"]["id"]
    s.answer("c", k0, "accept", [])
    real = store_mod.write_line

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_mod, "write_line", full)
    body = s.answer("c", s.next("c")["item"]["id"], "reject", [])
    assert body["warning"].startswith(f"{path}: cannot write (No space left on device); "
                                      f"1 answer(s) kept in memory")
    assert body["progress"]["unsaved"] == 1 and body["progress"]["answered"] == 2
    assert body["item"]["text"] == TEXTS[2]  # the rejected one is not handed out again
    s.next("c")  # still full: retried, still kept
    assert notes == [body["warning"]] and len(lines(path)) == 1
    monkeypatch.setattr(store_mod, "write_line", real)
    body = s.next("c")
    assert body["warning"] is None and body["progress"]["unsaved"] == 0
    assert [r["answer"] for r in lines(path)] == ["accept", "reject"]
    assert notes[-1] == f"{path}: written again; no answer was lost"


def test_close_returns_what_could_not_be_written(session, tmp_path, monkeypatch):
    s = session(tmp_path / "a.jsonl")
    monkeypatch.setattr(store_mod, "write_line",
                        lambda fd, data: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only")))
    s.answer("c", s.next("c")["item"]["id"], "accept", [])
    [kept] = s.close()
    assert kept["answer"] == "accept" and kept["text"] == TEXTS[0]
