"""Entity patterns: the file's checks (every bad line named), matching (phrase and token
patterns, leftmost-longest, within sentences) and the merge rules of each mode."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nertag.errors import NertagError
from nertag.text.patterns import (MODES, merge_keep, parse_patterns, patterns_from,
                                  read_patterns)


def spans(p, words, lengths=None):
    b, e, i = p.match(words, lengths)
    return [(int(x), int(y), p.labels[k]) for x, y, k in zip(b, e, i)]


def test_phrase_patterns_match_exact_tokens_leftmost_longest():
    p = patterns_from([{"label": "PRODUCT", "pattern": "iPhone"},
                       {"label": "PRODUCT15", "pattern": "iPhone 15"},
                       {"label": "ORG", "pattern": "Apple"},
                       {"label": "X", "pattern": "15 Pro"}])
    words = "Apple sells the iPhone 15 Pro and the IPHONE and an iPhone .".split()
    # the longest at "iPhone" (iPhone 15) wins, and "15 Pro" then starts inside it
    assert spans(p, words) == [(0, 1, "ORG"), (3, 5, "PRODUCT15"), (11, 12, "PRODUCT")]


def test_matches_never_cross_sentences():
    p = patterns_from([{"label": "LOC", "pattern": "New York"}])
    words = ["in", "New", "York", ".", "New", "York"]
    assert spans(p, words, [3, 3]) == [(1, 3, "LOC"), (4, 6, "LOC")]
    assert spans(p, words, [2, 4]) == [(4, 6, "LOC")]  # "New | York" cut by the boundary
    assert spans(p, words, [5, 1]) == [(1, 3, "LOC")]


def test_phrase_cut_by_the_tokenizer_both_ways():
    p = patterns_from([{"label": "ORG", "pattern": "Acme Inc."}])
    # inside a sentence the tokenizer keeps "Inc."; at the end of a text it splits it
    assert spans(p, ["Acme", "Inc.", "said"]) == [(0, 2, "ORG")]
    assert spans(p, ["Acme", "Inc", "."]) == [(0, 3, "ORG")]


def test_token_patterns_keys_and_spacy_spellings():
    p = patterns_from([
        {"label": "VERSION", "pattern": [{"LOWER": "python"}, {"SHAPE": "d.dd"}]},
        {"label": "CODE", "pattern": [{"TEXT": {"REGEX": "[A-Z]{3}-\\d+"}}]},
        {"label": "LOWRE", "pattern": [{"lower": {"REGEX": "ab+c"}}]},
        {"label": "EXACT", "pattern": [{"orth": "Foo"}, {"text": "bar", "regex": "b.r"}]},
    ])
    words = "PYTHON 3.12 and python 3.1 ABC-12 xABC-1 ABBC Foo bar foo bar".split()
    assert spans(p, words) == [(0, 2, "VERSION"), (5, 6, "CODE"), (7, 8, "LOWRE"),
                               (8, 10, "EXACT")]


def test_a_longer_match_wins_and_a_tie_goes_to_the_earlier_line():
    p = patterns_from([{"label": "TOK", "pattern": [{"lower": "big"}, {"lower": "apple"}]},
                       {"label": "PHRASE", "pattern": "big apple"},
                       {"label": "LONG", "pattern": "big apple pie"}])
    assert spans(p, ["big", "apple"]) == [(0, 2, "TOK")]
    assert spans(p, ["big", "apple", "pie"]) == [(0, 3, "LONG")]
    q = patterns_from([{"label": "A", "pattern": "big apple"},
                       {"label": "B", "pattern": [{"lower": "big"}, {"lower": "apple"}]},
                       {"label": "C", "pattern": "big apple"}])  # a duplicate: the first wins
    assert spans(q, ["big", "apple"]) == [(0, 2, "A")]


def test_ten_thousand_phrases_match_as_a_few_do():
    items = [{"label": f"L{i % 7}", "pattern": f"w{i} x{i % 13}"} for i in range(10_000)]
    p = patterns_from(items)
    words = ["w9999", "x2", "w5", "x5", "w5", "x6", "x2"]
    assert spans(p, words) == [(0, 2, "L3"), (2, 4, "L5")]
    assert len(p) == 10_000


def test_ids_pickling_and_modes():
    p = patterns_from([{"label": "ORG", "pattern": "Acme", "id": "acme"}], mode="fill")
    q = pickle.loads(pickle.dumps(p))
    assert (q.ids, q.labels, q.mode, q.digest) == (["acme"], ["ORG"], "fill", p.digest)
    assert p.with_mode("patterns").mode == "patterns" and p.mode == "fill"
    assert MODES == ("override", "fill", "patterns")
    with pytest.raises(NertagError, match="unknown pattern mode 'both'; use one of override"):
        p.with_mode("both")


def test_merge_keep_each_mode():
    model = (np.array([0, 4, 8]), np.array([2, 6, 9]))   # [0,2) [4,6) [8,9)
    pats = (np.array([1, 6]), np.array([3, 8]))          # [1,3) overlaps [0,2); [6,8) none
    got = {m: tuple(a.tolist() for a in merge_keep(m, model, pats, 10)) for m in MODES}
    assert got == {"override": ([False, True, True], [True, True]),
                   "fill": ([True, True, True], [False, True]),
                   "patterns": ([False, False, False], [True, True])}


BAD = [
    ("not json", "not JSON (Expecting value)"),
    ("[1, 2]", "an array, not a pattern object"),
    ('{"pattern": "x"}', "no 'label'"),
    ('{"label": "", "pattern": "x"}', "'label' must be a non-empty string without spaces"),
    ('{"label": "A B", "pattern": "x"}', "'label' must be a non-empty string without spaces"),
    ('{"label": "A"}', "no 'pattern'"),
    ('{"label": "A", "pattern": "  "}', "is an empty phrase (no tokens)"),
    ('{"label": "A", "pattern": []}', "'pattern' is an empty list"),
    ('{"label": "A", "pattern": 3}', "'pattern' must be a string (a phrase) or a list"),
    ('{"label": "A", "pattern": "x", "ID": 1}', "unknown key 'ID'"),
    ('{"label": "A", "pattern": "x", "id": 1}', "'id' must be a string, got a number"),
    ('{"label": "A", "pattern": [{"lower": "a"}, {}]}', "token 2: an empty object"),
    ('{"label": "A", "pattern": ["a"]}', "token 1: a string; give e.g."),
    ('{"label": "A", "pattern": [{"OP": "+"}]}', "token 1: unknown key 'OP'"),
    ('{"label": "A", "pattern": [{"regex": "a("}]}', "token 1: bad regex 'a(':"),
    ('{"label": "A", "pattern": [{"TEXT": {"IN": ["a"]}}]}',
     "token 1: 'TEXT': an object may only be {\"REGEX\": \"...\"}"),
    ('{"label": "A", "pattern": [{"lower": "Python"}]}', "has capital letters, so it never"),
    ('{"label": "A", "pattern": [{"shape": 4}]}', "token 1: 'shape' must be a non-empty string"),
]


@pytest.mark.parametrize("line, message", BAD)
def test_every_bad_line_names_file_and_line(tmp_path, line, message):
    f = tmp_path / "p.jsonl"
    f.write_text('{"label": "ORG", "pattern": "Acme"}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(NertagError) as e:
        read_patterns(f)
    assert e.value.message.startswith(f"{f}:3: ") and message in e.value.message, e.value.message
    assert e.value.exit_code == 2 and "\n" not in e.value.message


def test_file_level_errors(tmp_path):
    with pytest.raises(NertagError, match="patterns file not found"):
        read_patterns(tmp_path / "missing.jsonl")
    with pytest.raises(NertagError, match=r"p.jsonl:2: not UTF-8 text \(byte 0xff\)"):
        parse_patterns(b'{"label": "A", "pattern": "a"}\n\xff\n', "p.jsonl")
    with pytest.raises(NertagError, match="p.jsonl: no patterns in the file"):
        parse_patterns(b"\n \n", "p.jsonl")
    with pytest.raises(NertagError, match=r"^patterns\[1\]: no 'label'"):
        patterns_from([{"label": "A", "pattern": "a"}, {"pattern": "b"}])
    ok = parse_patterns(b'\xef\xbb\xbf{"label": "A", "pattern": "a"}\r\n', "p.jsonl")
    assert ok.labels == ["A"] and json.loads(ok.file_bytes[3:]) == {"label": "A", "pattern": "a"}


TRICKY_PHRASES = ["Acme Inc.", "the U.S.", "J. Smith", "No. 1", "AT&T Inc.", "O'Brien's",
                  "don't", "3. Name", "-3.5 pct", "e-mail me@x.org", "multi- media", "'s",
                  "\"Quoted.\"", "Mr. Smith Jr.", "www.example.com.", "1/2 cup", "U.N.-backed",
                  "Köln", "  spaced  out  ", "Co.", "etc."]


def test_phrases_are_cut_as_the_tokenizer_cuts_each_alone_and_inside_a_text():
    from nertag.text.patterns_file import entries_from
    from nertag.text.tokenize import token_arrays

    entries, _ = entries_from({"label": "X", "pattern": p} for p in TRICKY_PHRASES)
    for phrase, e in zip(TRICKY_PHRASES, entries):
        alone = tuple(token_arrays(phrase)[0])
        inside = tuple(token_arrays(phrase + " x")[0][:-1])
        assert e.phrases == ((alone,) if inside == alone else (alone, inside)), phrase


@pytest.mark.parametrize("line", ['{"label": "A", "pattern": "x"}', ' \t{"a": [1, 2.5e3, null]} \r',
                                  '"s"', "NaN", "-Infinity", "[1", "{} x", "1 2", "\ufeff{}",
                                  '"\\ud800"', '"tab\tinside"', '{"a": 1}}', "", "  ", "tru"])
def test_a_line_decodes_as_json_loads_does(line):
    from nertag.text.patterns_file import _json_line

    try:
        want = ("value", json.loads(line))
    except ValueError as e:
        want = ("error", type(e), getattr(e, "msg", str(e)))
    try:
        got = ("value", _json_line(line))
    except ValueError as e:
        got = ("error", type(e), getattr(e, "msg", str(e)))
    if want[0] == "value" and want[1] != want[1]:  # NaN
        assert got[0] == "value" and got[1] != got[1]
    else:
        assert got == want


@given(st.lists(st.text(st.sampled_from("aZé日Ωß09_²ⅷ٣ ")  # word characters and spaces
                        | st.characters(categories=("L", "Zs", "Mn", "Nd", "No", "Nl", "Pd",
                                                    "Pc", "Po", "Sc", "Sm")),
                        min_size=1, max_size=12), min_size=1, max_size=6))
@example(["Acme Inc", "No 1", "AT T", "x² 1996", "do nt", "C3PO Zq12 Xv5", "ﬁle ١٢٣",
          "snake_case", "Mr", "U S A", "www example com", "1 2"])
@settings(max_examples=500, deadline=None)
def test_phrases_cut_as_the_tokenizer_cuts_them(phrases):
    """The plain-word shortcut of _cut_all cuts every phrase as one tokenizer call does."""
    from nertag.text.patterns_file import _cut_all
    from nertag.text.tokenize import token_arrays

    phrases = [p for p in phrases if p.strip()] or ["x"]
    assert _cut_all(phrases) == [tuple(token_arrays(p)[0]) for p in phrases]


@given(st.lists(st.integers(0, 4), max_size=40))
def test_leftmost_longest_is_the_greedy_scan(best):
    """Leftmost-longest (shared with the name lists): the scan left to right, each match
    taken if it starts where the last taken one ended or later."""
    from nertag.text.gazetteer import _leftmost_longest

    want, end = [], -1
    for s, n in enumerate(best):
        if n and s >= end:
            want.append((s, n))
            end = s + n
    starts, lens = _leftmost_longest(np.array(best, np.int64))
    assert list(zip(starts.tolist(), lens.tolist())) == want


def test_token_keys_hold_for_the_words_they_name():
    """_holds (all distinct words at once) against each key's meaning, word by word."""
    import re

    from nertag.text.features import shape
    from nertag.text.patterns import _holds
    from nertag.text.patterns_file import Spec

    words = ["Python", "python", "PYTHON", "3.11", "İstanbul", "istanbul", "Ünïcode", "x",
             "version", "Version", "$5", "1996", "", "ß", "SS"]
    index = {w: i for i, w in enumerate(words)}
    specs = [Spec("text", "Python"), Spec("text", "absent"), Spec("lower", "python"),
             Spec("lower", "i̇stanbul"), Spec("lower", "ß"), Spec("shape", "d.dd"),
             Spec("shape", "Xxxxx"), Spec("shape", "dddd"),
             Spec("regex", re.compile(r"\$\d+")), Spec("regex", re.compile(r"ver.*")),
             Spec("regex", re.compile(r"ver.*"), on_lower=True)]
    forms: dict = {}
    for spec in specs:
        want = [w == spec.value if spec.kind == "text" else
                w.lower() == spec.value if spec.kind == "lower" else
                shape(w) == spec.value if spec.kind == "shape" else
                spec.value.fullmatch(w.lower() if spec.on_lower else w) is not None
                for w in words]
        got = _holds(spec, words, index, forms)
        assert got.dtype == bool and got.tolist() == want, spec
    assert _holds(Spec("lower", "x"), [], {}, {}).tolist() == []
