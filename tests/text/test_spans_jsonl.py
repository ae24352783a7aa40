"""nertag.text.spans_jsonl: doccano, Prodigy and nertag jsonl records become BIO sentences;
spans off token boundaries, overlapping spans and malformed records are one-line errors
naming the file and line."""

from __future__ import annotations

import json

import pytest

from nertag.errors import NertagError
from nertag.text.spans_jsonl import (flavour, read_doccano, read_nertag_jsonl, read_prodigy)

TEXT = "Laura Okafor flew to Geneva. She met Acme Inc. there."


def write(tmp_path, records, name="data.jsonl"):
    p = tmp_path / name
    p.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in records),
                 encoding="utf-8")
    return p


def tagged(corpus):
    return [list(zip(s.words, s.tags)) for s in corpus.sentences]


EXPECTED = [[("Laura", "B-PER"), ("Okafor", "I-PER"), ("flew", "O"), ("to", "O"),
             ("Geneva", "B-LOC"), (".", "O")],
            [("She", "O"), ("met", "O"), ("Acme", "B-ORG"), ("Inc.", "I-ORG"), ("there", "O"),
             (".", "O")]]


def test_doccano_all_shapes(tmp_path):
    spans = [[0, 12, "PER"], [21, 27, "LOC"], [37, 46, "ORG"]]
    for rec in ({"text": TEXT, "label": spans}, {"data": TEXT, "labels": spans},
                {"id": 3, "text": TEXT, "relations": [],
                 "entities": [{"id": k, "start_offset": s, "end_offset": e, "label": lab}
                              for k, (s, e, lab) in enumerate(spans)]}):
        c = read_doccano(write(tmp_path, [rec, "\n", {"text": "", "label": []}]))
        assert tagged(c) == EXPECTED
        assert (c.format, c.scheme) == ("doccano", "bio")
        assert [s.line for s in c.sentences] == [1, 1]
        # each sentence keeps its text and the words' offsets in it
        s = c.sentences[1]
        assert s.text == "She met Acme Inc. there."
        assert all(s.text[a:b] == w for w, (a, b) in zip(s.words, s.offsets))


def test_whitespace_around_a_span_is_fine(tmp_path):
    c = read_doccano(write(tmp_path, [{"text": "  Laura  Okafor  ", "label": [[1, 16, "PER"]]}]))
    assert tagged(c) == [[("Laura", "B-PER"), ("Okafor", "I-PER")]]


def test_prodigy_with_and_without_tokens(tmp_path):
    spans = [{"start": 0, "end": 12, "label": "PER"}, {"start": 21, "end": 27, "label": "LOC"},
             {"start": 37, "end": 46, "label": "ORG", "token_start": 8, "token_end": 9}]
    c = read_prodigy(write(tmp_path, [{"text": TEXT, "spans": spans, "answer": "accept"},
                                      {"text": "Bob", "spans": [], "answer": "reject"},
                                      {"text": "Ann", "spans": [], "answer": "ignore"}]))
    assert tagged(c) == EXPECTED
    assert c.notes == [f"{c.path}: skipped 2 record(s) answered 'reject' or 'ignore'"]
    # the record's own tokens (spaCy's, with a whitespace token) are used as they are
    text = "New York-based  Acme"
    toks = [{"text": "New", "start": 0, "end": 3}, {"text": "York", "start": 4, "end": 8},
            {"text": "-", "start": 8, "end": 9}, {"text": "based", "start": 9, "end": 14},
            {"text": " ", "start": 15, "end": 16}, {"text": "Acme", "start": 16, "end": 20}]
    c = read_prodigy(write(tmp_path, [{"text": text, "tokens": toks, "spans": [
        {"start": 0, "end": 8, "label": "LOC"}, {"start": 16, "end": 20, "label": "ORG"}]}]))
    assert tagged(c) == [[("New", "B-LOC"), ("York", "I-LOC"), ("-", "O"), ("based", "O"),
                          ("Acme", "B-ORG")]]


def test_nertag_jsonl_offsets_are_relative_to_the_file(tmp_path):
    rec = {"text": "Acme hired Bob.", "start": 100,
           "tokens": [{"text": "Acme", "start": 100, "end": 104, "tag": "O"},
                      {"text": "hired", "start": 105, "end": 110, "tag": "O"},
                      {"text": "Bob", "start": 111, "end": 114, "tag": "O"},
                      {"text": ".", "start": 114, "end": 115, "tag": "O"}],
           "entities": [{"start": 100, "end": 104, "label": "ORG", "text": "Acme",
                         "score": 0.9}, {"start": 111, "end": 114, "label": "PER"}]}
    c = read_nertag_jsonl(write(tmp_path, [rec]))
    # the entities are the annotation: the tokens' (stale) tags are not read
    assert tagged(c) == [[("Acme", "B-ORG"), ("hired", "O"), ("Bob", "B-PER"), (".", "O")]]
    # without tokens the text is tokenized; without start the offsets are the text's
    c = read_nertag_jsonl(write(tmp_path, [{"text": "Acme hired Bob.", "entities": [
        {"start": 11, "end": 14, "label": "PER"}]}]))
    assert tagged(c) == [[("Acme", "O"), ("hired", "O"), ("Bob", "B-PER"), (".", "O")]]


def test_nertag_per_document_object(tmp_path):
    text = "Bob left. Ann stayed."
    rec = {"source": "x.txt", "text": text, "start": 0,
           "sentences": [{"start": 0, "end": 9}, {"start": 10, "end": 21}],
           "tokens": [{"text": w, "start": text.index(w), "end": text.index(w) + len(w),
                       "tag": "O"} for w in ("Bob", "left", ".", "Ann", "stayed")]
           + [{"text": ".", "start": 20, "end": 21, "tag": "O"}],
           "entities": [{"start": 10, "end": 13, "label": "PER", "text": "Ann"}]}
    rec["tokens"][2]["start"], rec["tokens"][2]["end"] = 8, 9
    c = read_nertag_jsonl(write(tmp_path, [rec]))
    assert tagged(c) == [[("Bob", "O"), ("left", "O"), (".", "O")],
                         [("Ann", "B-PER"), ("stayed", "O"), (".", "O")]]


def test_an_entity_across_a_sentence_break_keeps_the_sentences_whole(tmp_path):
    text = "They met at Yahoo! Inc. yesterday. Then they left."
    p = write(tmp_path, [{"text": text, "label": []}])
    assert len(read_doccano(p).sentences) == 3  # the tokenizer cuts after "Yahoo!"
    p = write(tmp_path, [{"text": text, "label": [[12, 23, "ORG"]]}])
    c = read_doccano(p)
    assert tagged(c) == [[("They", "O"), ("met", "O"), ("at", "O"), ("Yahoo", "B-ORG"),
                          ("!", "I-ORG"), ("Inc.", "I-ORG"), ("yesterday", "O"), (".", "O")],
                         [("Then", "O"), ("they", "O"), ("left", "O"), (".", "O")]]
    assert c.notes == [f"{p}: 1 entity crossed a sentence boundary of the tokenizer; those "
                       f"sentences were kept whole"]


def test_flavour():
    assert flavour({"text": "", "spans": []}) == "prodigy"
    assert flavour({"text": "", "label": []}) == "doccano"
    assert flavour({"text": "", "entities": [{"start_offset": 0}]}) == "doccano"
    assert flavour({"text": "", "entities": [{"start": 0}]}) == "jsonl"
    assert flavour({"text": "", "start": 0, "entities": []}) == "jsonl"
    assert flavour({"text": "", "entities": []}) is None
    assert flavour({"text": "", "label": "POSITIVE"}) is None  # a text-classification record


BAD = {
    "off-boundary-start": ({"text": "New York-based Acme", "label": [[9, 19, "ORG"]]},
                           ["{f}:1: span [9, 19) 'based Acme' does not fall on token boundaries",
                            "(the token 'York-based' at [4, 14) crosses its start)"]),
    "off-boundary-end": ({"text": "Laura Okafor", "label": [[0, 9, "PER"]]},
                         ["{f}:1: span [0, 9) 'Laura Oka' does not fall on token boundaries",
                          "'Okafor' at [6, 12) crosses its end", "fix the span's offsets"]),
    "whitespace-only": ({"text": "a   b", "label": [[1, 4, "X"]]}, ["{f}:1: span [1, 4)",
                                                                    "covers no token"]),
    "overlap": ({"text": "Laura Okafor", "label": [[0, 12, "PER"], [6, 12, "ORG"]]},
                ["{f}:1: spans [0, 12) 'Laura Okafor' (PER) and [6, 12) 'Okafor' (ORG) overlap"]),
    "outside": ({"text": "Bob", "label": [[0, 9, "PER"]]},
                ["{f}:1: span [0, 9) is not inside the text [0, 3)"]),
    "reversed": ({"text": "Bob", "label": [[2, 1, "PER"]]}, ["{f}:1: span [2, 1)"]),
    "float-offset": ({"text": "Bob", "label": [[0.0, 3, "PER"]]},
                     ["{f}:1: a span's start is 0.0, not a whole number"]),
    "bad-label": ({"text": "Bob", "label": [[0, 3, "NEW PER"]]},
                  ["{f}:1: span [0, 3) has the label \"NEW PER\": an entity type cannot hold "
                   "whitespace; join its words with _"]),
    "tab-label": ({"text": "Bob", "label": [[0, 3, "PER\t"]]},
                  ["{f}:1: span [0, 3) has the label \"PER\\t\": an entity type cannot hold "
                   "whitespace"]),
    "newline-label": ({"text": "Bob", "label": [[0, 3, "P\u2028ER"]]},
                      ["{f}:1: span [0, 3) has the label", "cannot hold whitespace"]),
    "empty-label": ({"text": "Bob", "label": [[0, 3, ""]]},
                    ["{f}:1: span [0, 3) has the label \"\": an entity type cannot be empty"]),
    "number-label": ({"text": "Bob", "label": [[0, 3, 7]]},
                     ["{f}:1: span [0, 3) has the label 7: an entity type is a string"]),
    "O-label": ({"text": "Bob ran", "label": [[0, 3, "O"]]},
                ["{f}:1: span [0, 3) has the label \"O\": O means outside any entity; give an "
                 "entity type such as PER (or drop the span)"]),
    "tag-label": ({"text": "Bob ran", "label": [[0, 3, "B-PER"]]},
                  ["{f}:1: span [0, 3) has the label \"B-PER\": it looks like a tag (a letter "
                   "then '-'); give the entity type alone, e.g. 'PER'"]),
    "lowercase-tag-label": ({"text": "Bob ran", "label": [[0, 3, "i-x"]]},
                            ["{f}:1: span [0, 3) has the label \"i-x\": it looks like a tag"]),
    "NUL-label": ({"text": "Bob ran", "label": [[0, 3, "P\u0000ER"]]},
                  ["{f}:1: span [0, 3) has the label \"P\\u0000ER\": an entity type cannot "
                   "hold the control character U+0000; remove it"]),
    "label-and-entities": ({"text": "Bob ran", "label": [[0, 3, "PER"]], "entities": [
                                {"start_offset": 4, "end_offset": 7, "label": "X"}]},
                           ['{f}:1: both "label" and "entities" hold spans; a doccano record '
                            'has one of them: merge them into one']),
    "text-and-data": ({"text": "Bob ran", "data": "Ann ran", "label": [[0, 3, "PER"]]},
                      ['{f}:1: "text" and "data" hold different texts; a doccano record has '
                       'one of them: keep one']),
    "lone-surrogate": ({"text": "Bob \ud800", "label": [[0, 3, "PER"]]},
                       ["{f}:1: the text holds an unpaired surrogate (U+D800 at offset 4), "
                        "which is no character; fix the record's text"]),
    "no-text": ({"label": [[0, 3, "PER"]]}, ['{f}:1: no "text" string', '"label": [[0, 5']),
    "bad-item": ({"text": "Bob", "label": [[0, 3]]}, ['{f}:1: "label" holds [0, 3]']),
    "not-a-list": ({"text": "Bob", "labels": "PER"}, ['{f}:1: "labels" is not a list']),
    "prodigy-record": ({"text": "Bob", "spans": []}, ["{f}:1: a Prodigy record in a file read "
                                                      "as doccano"]),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_records(tmp_path, name):
    rec, frags = BAD[name]
    p = write(tmp_path, [rec])
    with pytest.raises(NertagError) as ei:
        read_doccano(p)
    for frag in frags:
        assert frag.format(f=p) in ei.value.message
    assert "\n" not in ei.value.message and ei.value.exit_code == 1


@pytest.mark.parametrize("content,frag", [
    ('{"text": "a"}\n{"text": \n', "{f}:2: not valid JSON"),
    ('{"text": "a"}\n[1, 2]\n', "{f}:2: a JSON list, not an object"),
    ("", "{f}: file is empty"),
    ('{"text": "a"}\n\x00\n', "{f}:2: binary data"),
])
def test_bad_lines(tmp_path, content, frag):
    p = tmp_path / "bad.jsonl"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(NertagError, match="^" + frag.format(f=p).replace("[", r"\[")):
        read_prodigy(p)


def test_nertag_jsonl_checks(tmp_path):
    def err(rec):
        with pytest.raises(NertagError) as ei:
            read_nertag_jsonl(write(tmp_path, [rec]))
        return ei.value.message

    # offsets counted from the text instead of the file
    msg = err({"text": "Bob", "start": 10, "entities": [{"start": 0, "end": 3, "label": "PER"}]})
    assert "span [0, 3) is not inside the text [10, 13)" in msg and "tagged file" in msg
    msg = err({"text": "Bob Ann", "start": 0, "entities": [{"start": 4, "end": 7, "label": "PER",
                                                           "text": "Bob"}]})
    assert "entity [4, 7) says 'Bob' but the text there is 'Ann'" in msg
    msg = err({"text": "Bob", "start": 0, "tokens": [{"text": "Bo", "start": 0, "end": 3}],
               "entities": []})
    assert "token 0 'Bo' at [0, 3) does not match the text there ('Bob')" in msg
    msg = err({"text": "Bob", "label": [[0, 3, "PER"]]})
    assert "a doccano record in a file read as nertag jsonl" in msg


def test_byte_order_mark_and_encoding(tmp_path):
    p = tmp_path / "bom.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"text": "Bob", "label": [[0, 3, "PER"]]}).encode())
    assert tagged(read_doccano(p)) == [[("Bob", "B-PER")]]
    p.write_bytes('{"text": "Zürich", "label": [[0, 6, "LOC"]]}'.encode("latin-1"))
    with pytest.raises(NertagError, match="not valid utf-8 text"):
        read_doccano(p)
    assert tagged(read_doccano(p, "latin-1")) == [[("Zürich", "B-LOC")]]


def test_a_record_without_tokens_is_cut_at_line_breaks_as_nertag_tag_cuts(tmp_path):
    """One headline a line (the ``auto`` rule): three sentences, as ``nertag tag`` sees them."""
    import json

    from nertag.text.spans_jsonl import read_doccano

    text = "Obama visits Paris\nMerkel meets Macron\nApple hires Tim Cook"
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"text": text, "label": [[0, 5, "PER"], [13, 18, "LOC"]]}) + "\n",
                 encoding="utf-8")
    assert [s.words for s in read_doccano(p).sentences] == [
        ["Obama", "visits", "Paris"], ["Merkel", "meets", "Macron"], ["Apple", "hires", "Tim", "Cook"]]


def test_label_and_entities_one_of_them_empty_is_fine(tmp_path):
    rec = {"text": "Bob ran", "label": [], "entities": [{"start_offset": 0, "end_offset": 3,
                                                         "label": "PER"}]}
    assert tagged(read_doccano(write(tmp_path, [rec]))) == [[("Bob", "B-PER"), ("ran", "O")]]
    rec["label"] = "POSITIVE"  # a text class beside the spans: not spans
    assert tagged(read_doccano(write(tmp_path, [rec]))) == [[("Bob", "B-PER"), ("ran", "O")]]
    rec = {"text": "Bob ran", "data": "Bob ran", "label": [[0, 3, "PER"]]}
    assert tagged(read_doccano(write(tmp_path, [rec]))) == [[("Bob", "B-PER"), ("ran", "O")]]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r", "\r\r\n"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_every_line_end_separates_records(tmp_path, eol, bom):
    """JSON strings cannot hold a raw CR or LF, so in JSON lines any of them ends a record
    (and CR alone mixed with LF is no ambiguity: blank lines are skipped)."""
    recs = [{"text": "Bob ran", "label": [[0, 3, "PER"]]}, {"text": "Ann", "label": []},
            {"text": "Paris", "label": [[0, 5, "LOC"]]}]
    p = tmp_path / "eol.jsonl"
    p.write_bytes(bom + "".join(json.dumps(r) + eol for r in recs).encode())
    c = read_doccano(p)
    assert tagged(c) == [[("Bob", "B-PER"), ("ran", "O")], [("Ann", "O")], [("Paris", "B-LOC")]]
    step = 2 if eol == "\r\r\n" else 1
    assert [s.line for s in c.sentences] == [1, 1 + step, 1 + 2 * step]
    p.write_bytes(b'{"text": "a", "label": []}\r{"text": \r')
    with pytest.raises(NertagError, match=f"^{p}:2: not valid JSON"):
        read_doccano(p)
