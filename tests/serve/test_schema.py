"""nertag.serve.schema: the /tag request checks (any JSON at all gives a request or an
ApiError, never another exception) and the response objects."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nertag.serve.schema import (FIELDS, ApiError, TagRequest, check_content_type,
                                 error_body, json_type, parse_tag_request, sentence_json)

DECODERS = ("greedy", "constrained", "viterbi")


def parse(obj, max_texts=10, modes=("blank", "line", "auto")):
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return parse_tag_request(body, max_texts=max_texts, decoders=DECODERS,
                             sentence_modes=modes)


def test_a_good_request():
    assert parse({"text": "Paris."}) == TagRequest(["Paris."])
    assert parse({"texts": ["a", ""], "decoder": "greedy", "sentences": "blank",
                  "tokens": True}) == TagRequest(["a", ""], "greedy", "blank", True)
    assert parse({"texts": []}).texts == []
    assert parse({"text": "x", "decoder": None}).decoder is None


def test_sentences_is_auto_by_default_and_takes_the_three_modes():
    assert parse({"text": "x"}).sentences == "auto" == TagRequest(["x"]).sentences
    for mode in ("blank", "line", "auto"):
        assert parse({"text": "x", "sentences": mode}).sentences == mode
    for bad in ("para", "", None, 1, ["line"]):
        with pytest.raises(ApiError) as e:
            parse({"text": "x", "sentences": bad})
        assert e.value.status == 422
        assert e.value.message.startswith("field 'sentences' must be one of blank, line, auto")


def test_sentence_modes_the_tagger_does_not_have_are_refused_by_name():
    with pytest.raises(ApiError) as e:
        parse({"text": "x", "sentences": "line"}, modes=("blank",))
    assert e.value.status == 422
    assert e.value.message == ("field 'sentences': 'line' is not available in this version "
                               "of nertag; use 'blank'")
    assert parse({"text": "x"}, modes=("blank",)).sentences == "blank"  # its one mode


def test_too_many_texts_is_413_with_the_limit():
    assert len(parse({"texts": ["a"] * 10}).texts) == 10
    with pytest.raises(ApiError) as e:
        parse({"texts": ["a"] * 11})
    assert e.value.status == 413 and "the limit is 10" in e.value.message


@pytest.mark.parametrize("header", ["application/json", "application/json; charset=utf-8",
                                    "Application/JSON"])
def test_json_content_types(header):
    check_content_type(header)


@pytest.mark.parametrize("header", [None, "", "text/plain", "application/jsonx",
                                    "multipart/form-data; boundary=x"])
def test_other_content_types_are_415(header):
    with pytest.raises(ApiError) as e:
        check_content_type(header)
    assert e.value.status == 415


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
requests = st.dictionaries(st.sampled_from(FIELDS + ("other",)), json_values, max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, requests, st.binary(max_size=40)))
def test_any_body_gives_a_request_or_a_clear_refusal(value):
    body = value if isinstance(value, bytes) else json.dumps(value).encode()
    try:
        req = parse(body)
    except ApiError as e:
        assert e.status in (400, 413, 422) and e.message and "\n" not in e.message
        assert json.loads(error_body(e.message)) == {"error": e.message}
    else:
        assert all(isinstance(t, str) for t in req.texts) and isinstance(req.tokens, bool)


def test_json_type_names():
    assert [json_type(v) for v in (None, True, 1, 1.5, "", [], {})] == \
        ["null", "a boolean", "a number", "a number", "a string", "an array", "an object"]


def test_sentence_json_is_a_jsonl_line_with_optional_tokens(tagger):
    doc = tagger("Laura Okafor flew to Geneva.")
    s = doc.sentences[0]
    assert list(sentence_json(s, False)) == ["text", "start", "entities"]
    full = sentence_json(s, True)
    assert list(full) == ["text", "start", "tokens", "entities"]
    assert full["tokens"][0] == {"text": "Laura", "start": 0, "end": 5, "tag": "B-PER"}
    assert full["entities"][1]["text"] == "Geneva"
