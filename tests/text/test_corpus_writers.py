"""nertag.text.corpus_writers: each format's exact output, text rebuilt so that no entity
is cut by nertag's tokenizer, and what a format cannot keep reported."""

from __future__ import annotations

import io
import json

import pytest

from nertag.errors import NertagError
from nertag.text.conll import Corpus, Sentence
from nertag.text.corpus_writers import OUTPUT_FORMATS, sentence_text, write_corpus
from nertag.text.tokenize import tokenize


def corpus(*sentences) -> Corpus:
    return Corpus("x.conll", [Sentence(list(w), list(t), 1 + 10 * k)
                              for k, (w, t) in enumerate(sentences)], "bio")


S1 = (["Laura", "Okafor", "(", "Acme", ")", "said", "."],
      ["B-PER", "I-PER", "O", "B-ORG", "O", "O", "O"])
S2 = (["Paris", "Berlin", "Rome"], ["B-LOC", "B-LOC", "I-LOC"])


def written(c: Corpus, fmt: str) -> tuple[str, list[str]]:
    f = io.StringIO()
    notes = write_corpus(c, f, fmt)
    return f.getvalue(), notes


def test_conll_schemes():
    c = corpus(S1, S2)
    assert written(c, "conll")[0].split("\n\n")[1] == "Paris\tB-LOC\nBerlin\tB-LOC\nRome\tI-LOC"
    assert written(c, "conll-bioes")[0].split("\n\n")[1] == \
        "Paris\tS-LOC\nBerlin\tB-LOC\nRome\tE-LOC"
    assert written(c, "conll-iob1")[0].split("\n\n")[1] == \
        "Paris\tI-LOC\nBerlin\tB-LOC\nRome\tI-LOC"
    assert written(c, "conll")[0].endswith("said\tO\n.\tO\n\nParis\tB-LOC\nBerlin\tB-LOC\n"
                                           "Rome\tI-LOC\n\n")


def test_io_merges_touching_entities_and_says_so():
    text, notes = written(corpus(S1, S2), "io")
    assert text.split("\n\n")[1] == "Paris\tLOC\nBerlin\tLOC\nRome\tLOC"
    assert text.startswith("Laura\tPER\nOkafor\tPER\n(\tO\nAcme\tORG\n")
    assert notes == ["1 entity touching an entity of the same type merged with it: IO cannot "
                     "separate them"]


def test_jsonl_formats():
    c = corpus(S1, (["Bye"], ["O"]))
    lines = [json.loads(x) for x in written(c, "jsonl")[0].splitlines()]
    assert lines[0]["text"] == "Laura Okafor (Acme) said."
    assert lines[0]["start"] == 0 and lines[1]["start"] == len(lines[0]["text"]) + 1
    assert lines[0]["entities"] == [{"start": 0, "end": 12, "label": "PER", "text": "Laura Okafor"},
                                    {"start": 14, "end": 18, "label": "ORG", "text": "Acme"}]
    assert lines[0]["tokens"][3] == {"text": "Acme", "start": 14, "end": 18, "tag": "B-ORG"}
    assert lines[1] == {"text": "Bye", "start": 26, "tokens": [
        {"text": "Bye", "start": 26, "end": 29, "tag": "O"}], "entities": []}
    doccano = [json.loads(x) for x in written(c, "doccano")[0].splitlines()]
    assert [{k: d[k] for k in ("text", "label")} for d in doccano] == [
        {"text": "Laura Okafor (Acme) said.", "label": [[0, 12, "PER"], [14, 18, "ORG"]]},
        {"text": "Bye", "label": []}]
    # the words, as metadata doccano keeps: read back, they are the words, not a retokenization
    assert doccano[1]["tokens"] == [{"text": "Bye", "start": 0, "end": 3}]
    assert [t["text"] for t in doccano[0]["tokens"]] == S1[0]
    p = json.loads(written(c, "prodigy")[0].splitlines()[0])
    assert p["spans"] == [{"start": 0, "end": 12, "label": "PER", "token_start": 0, "token_end": 1},
                          {"start": 14, "end": 18, "label": "ORG", "token_start": 3,
                           "token_end": 3}]
    assert p["tokens"][:3] == [{"text": "Laura", "start": 0, "end": 5, "id": 0, "ws": True},
                               {"text": "Okafor", "start": 6, "end": 12, "id": 1, "ws": True},
                               {"text": "(", "start": 13, "end": 14, "id": 2, "ws": False}]


def test_a_space_is_added_where_the_tokenizer_would_cut_an_entity():
    # detokenized, "Corp" "." is "Corp.", which nertag's tokenizer keeps whole (an
    # abbreviation): the entity "Acme Corp" would end inside a token
    words = ["Acme", "Corp", ".", "said", "it"]
    assert sentence_text(Sentence(words, ["O"] * 5))[0] == "Acme Corp. said it"
    s = Sentence(words, ["B-ORG", "I-ORG", "O", "O", "O"])
    text, offsets = sentence_text(s)
    assert text == "Acme Corp . said it"
    assert offsets == [(0, 4), (5, 9), (10, 11), (12, 16), (17, 19)]
    assert [t.text for t in tokenize(text)] == words
    # only where needed: "(" and ")" stay glued to an entity the tokenizer splits off anyway
    s = Sentence(["(", "Acme", "Corp", ")", "rose"], ["O", "B-ORG", "I-ORG", "O", "O"])
    assert sentence_text(s)[0] == "(Acme Corp) rose"


def test_a_sentence_with_its_own_text_keeps_it():
    s = Sentence(["Hi", "Bob"], ["O", "B-PER"], 1, None, "Hi  Bob", [(0, 2), (4, 7)])
    assert sentence_text(s) == ("Hi  Bob", [(0, 2), (4, 7)])


def test_words_with_whitespace_cannot_be_conll():
    c = Corpus("x.jsonl", [Sentence(["New York"], ["B-LOC"], 3)], "bio", "prodigy")
    with pytest.raises(NertagError, match=r"x.jsonl:3: the word 'New York' is empty or holds "
                                          r"whitespace"):
        written(c, "conll")
    assert json.loads(written(c, "doccano")[0]) == {
        "text": "New York", "label": [[0, 8, "LOC"]],
        "tokens": [{"text": "New York", "start": 0, "end": 8}]}


def test_unknown_format():
    with pytest.raises(NertagError, match="unknown output format 'xml'") as ei:
        written(corpus(S2), "xml")
    assert ei.value.exit_code == 2
    assert OUTPUT_FORMATS == ("conll", "conll-bioes", "conll-iob1", "io", "jsonl", "doccano",
                              "prodigy")


@pytest.mark.parametrize("word,frag", [
    ("Bo\x00b", "x.conll:11: the word 'Bo\\x00b' holds a NUL character, which a CoNLL file "
                "cannot hold (nertag reads it as binary data); write a JSONL format instead"),
    ("-DOCSTART-", "x.conll:11: the word '-DOCSTART-' would be read as a document marker in "
                   "CoNLL columns; write a JSONL format instead"),
    ("a\u2028b", "x.conll:11: the word 'a\\u2028b' is empty or holds whitespace, which CoNLL "
                "columns cannot hold; write a JSONL format instead"),
])
@pytest.mark.parametrize("fmt", ["conll", "conll-bioes", "conll-iob1", "io"])
def test_words_that_columns_cannot_hold_are_refused_before_anything_is_written(word, frag, fmt):
    c = corpus(S2, ([word, "ran"], ["B-PER", "O"]))
    f = io.StringIO()
    with pytest.raises(NertagError) as ei:
        write_corpus(c, f, fmt)
    assert ei.value.message == frag
    assert f.getvalue() == ""  # refused up front: standard output gets nothing either
    assert json.loads(written(c, "prodigy")[0].split("\n")[1])["tokens"][0]["text"] == word


def test_a_byte_order_mark_cannot_start_a_columns_file():
    c = corpus(([("\ufeffBob")], ["B-PER"]), (["\ufeffAnn"], ["O"]))
    with pytest.raises(NertagError, match=r"^x.conll:1: the word '\\ufeffBob' starts with a "
                                          r"byte-order mark, which readers drop at the start of "
                                          r"a file; write a JSONL format instead"):
        written(c, "conll")
    text, _ = written(corpus(S2, (["\ufeffAnn"], ["O"])), "conll")  # not first: kept
    assert "\n\ufeffAnn\tO\n" in text


@pytest.mark.parametrize("tags,frag", [
    (["B-O", "O"], "x.conll:11: the entity type 'O': O means outside any entity"),
    (["B-B-PER", "O"], "x.conll:11: the entity type 'B-PER': it looks like a tag"),
    (["B-P\x00ER", "O"], "x.conll:11: the entity type 'P\\x00ER': an entity type cannot hold "
                         "the control character U+0000"),
])
@pytest.mark.parametrize("fmt", OUTPUT_FORMATS)
def test_entity_types_no_format_can_keep_are_refused(tags, frag, fmt):
    """A corpus made in code (the readers refuse these already) cannot slip them through."""
    f = io.StringIO()
    with pytest.raises(NertagError) as ei:
        write_corpus(corpus(S2, (["Bob", "ran"], tags)), f, fmt)
    assert ei.value.message.startswith(frag)
    assert f.getvalue() == ""
