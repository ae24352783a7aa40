"""The answers file is training data as it is: ``nertag train`` and ``nertag convert``
read it (as Prodigy JSONL), only accepted records count, and of the records of one id
only the last (an undo, a decision after it)."""

from __future__ import annotations

import json

from nertag.annotate.queue import Queue
from nertag.annotate.session import Session
from nertag.annotate.store import AnswerStore
from nertag.text.datasets import detect_format, read_corpus
from nertag.text.spans_jsonl import read_prodigy

TEXTS = ["Ann met Bob .", "Paris is big .", "Nothing here ."]  # the toy fixture's


def answers_file(path, its):
    """Sentence 0 accepted then undone and accepted again with other spans, 1 rejected,
    2 skipped; then 1 undone (its last record: undo)."""
    store = AnswerStore(path)
    s = Session(its, ["LOC", "PER"], store, store.load(), Queue([1.0] * len(its)))
    k0 = s.next("c")["item"]["id"]
    s.answer("c", k0, "accept", [{"token_start": 0, "token_end": 0, "label": "LOC"}])
    s.undo("c")
    s.answer("c", k0, "accept", [{"token_start": 0, "token_end": 0, "label": "PER"},
                                 {"token_start": 2, "token_end": 2, "label": "PER"}])
    s.answer("c", s.next("c")["item"]["id"], "reject", [])
    s.answer("c", s.next("c")["item"]["id"], "ignore", [])
    s.undo("c")
    s.close()
    return path


def test_only_the_last_accepted_record_of_each_id_is_training_data(tmp_path, toy):
    path = answers_file(tmp_path / "answers.jsonl", toy)
    assert [json.loads(x)["answer"] for x in path.read_text().splitlines()] == \
        ["accept", "undo", "accept", "reject", "ignore", "undo"]
    assert detect_format(path) == "prodigy"
    corpus = read_corpus(path)
    assert [(s.words, s.tags) for s in corpus.sentences] == \
        [(TEXTS[0].split(), ["B-PER", "O", "B-PER", "O"])]
    assert corpus.notes == [f"{path}: skipped 2 record(s) answered 'reject' or 'undo'",
                            f"{path}: 3 record(s) superseded by a later record with the same "
                            f"id (the last one counts)"]


def test_records_without_ids_or_answers_read_as_before(tmp_path):
    path = tmp_path / "p.jsonl"
    recs = [{"text": "Ann met Bob", "spans": [{"start": 0, "end": 3, "label": "PER"}]},
            {"text": "Ann met Bob", "spans": [], "answer": "accept"},
            {"text": "x y", "spans": [], "answer": "ignore"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    c = read_prodigy(path)
    assert [s.tags for s in c.sentences] == [["B-PER", "O", "O"], ["O", "O", "O"]]
    assert c.notes == [f"{path}: skipped 1 record(s) answered 'ignore'"]


def test_nertag_convert_and_train_read_the_answers_file(tmp_path, cli, toy):
    path = answers_file(tmp_path / "answers.jsonl", toy)
    result = cli("convert", path, tmp_path / "out.conll")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.conll").read_text() == "Ann\tB-PER\nmet\tO\nBob\tB-PER\n.\tO\n\n"
    result = cli("train", "--train", path, "--set", "train.epochs=1", "--set",
                 "model.hidden=10", "-o", tmp_path / "model", "-q")
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    assert "B-PER" in meta["labels"]
