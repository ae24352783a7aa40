"""Tests for nertag.text.tokenize: the tokenizer and the sentence splitter."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nertag.text.tokenize as tk
from nertag.text.tokenize import split_sentences, tokenize
from nertag.text.tokens import Token, TokenSpans


def words(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


def sents(text: str) -> list[list[str]]:
    return [[t.text for t in s] for s in split_sentences(text)]


def check_invariants(text: str, tokens: list[Token], offset: int = 0) -> None:
    prev = offset
    for t in tokens:
        assert isinstance(t, Token)
        assert t.text, t
        assert text[t.start - offset:t.end - offset] == t.text, t
        assert prev <= t.start < t.end, t
        assert not any(c.isspace() for c in t.text), t
        prev = t.end


# ---------------------------------------------------------------- token rules
@pytest.mark.parametrize("text, expected", [
    # punctuation split off
    ("Hello, world!", ["Hello", ",", "world", "!"]),
    ("Wait; what: now?", ["Wait", ";", "what", ":", "now", "?"]),
    ("a,b", ["a", ",", "b"]),
    ("Really?!", ["Really", "?", "!"]),
    ("Note:see", ["Note", ":", "see"]),
    # abbreviations and initials keep their period
    ("The U.S. and U.K. agreed", ["The", "U.S.", "and", "U.K.", "agreed"]),
    ("Acme Inc. and Foo Corp. said", ["Acme", "Inc.", "and", "Foo", "Corp.", "said"]),
    ("Mr. and Mrs. Smith met Dr. Who", ["Mr.", "and", "Mrs.", "Smith", "met", "Dr.", "Who"]),
    ("J. R. R. Tolkien", ["J.", "R.", "R.", "Tolkien"]),
    ("e.g. this, i.e. that, at 5 p.m. on Jan. 3", ["e.g.", "this", ",", "i.e.", "that", ",", "at",
                                                   "5", "p.m.", "on", "Jan.", "3"]),
    ("Bayern vs. Ajax, U.S.-led, Mo.-based", ["Bayern", "vs.", "Ajax", ",", "U.S.-led", ",", "Mo.-based"]),
    ("No. 1 and No.2", ["No.", "1", "and", "No.2"]),
    # ... but a sentence-final period is split off
    ("He lives in Paris.", ["He", "lives", "in", "Paris", "."]),
    ("I said no.", ["I", "said", "no", "."]),
    ("He works for Acme Inc.", ["He", "works", "for", "Acme", "Inc", "."]),     # CoNLL style
    ("It's in the U.S.", ["It", "'s", "in", "the", "U.S", "."]),
    ('They said "Acme Corp."', ["They", "said", '"', "Acme", "Corp", ".", '"']),
    ("Born in (the U.S.)", ["Born", "in", "(", "the", "U.S.", ")"]),
    # numbers
    ("1,000 3.5 .496 -3.5 +44", ["1,000", "3.5", ".496", "-3.5", "+44"]),
    ("on 1996-08-22 at 10:30", ["on", "1996-08-22", "at", "10:30"]),
    ("1/2 11/1/96 2,343.00/43.50", ["1/2", "11/1/96", "2,343.00", "/", "43.50"]),
    ("50% and 3.5 % of $5 or US$5.5m", ["50", "%", "and", "3.5", "%", "of", "$", "5", "or", "US$",
                                       "5.5m"]),
    ("rose 1,000.", ["rose", "1,000", "."]),
    ("3. Aliuska Lopez (Cuba) 12.92", ["3.", "Aliuska", "Lopez", "(", "Cuba", ")", "12.92"]),
    ("1= Igor Trandenkov", ["1=", "Igor", "Trandenkov"]),
    # hyphenated words stay whole
    ("an e-mail from a well-known 20-year-old", ["an", "e-mail", "from", "a", "well-known",
                                                "20-year-old"]),
    ("won 6-2 3-1 in Nagorno-Karabakh", ["won", "6-2", "3-1", "in", "Nagorno-Karabakh"]),
    ("multi- ethnic, three-, five-", ["multi-", "ethnic", ",", "three-", ",", "five-"]),
    ("AT&T and S&P but Marks & Spencer", ["AT&T", "and", "S&P", "but", "Marks", "&", "Spencer"]),
    # URLs and e-mail addresses stay whole
    ("see https://example.com/a?b=1&c=2, or www.reuters.com.",
     ["see", "https://example.com/a?b=1&c=2", ",", "or", "www.reuters.com", "."]),
    ("(http://x.org/path)", ["(", "http://x.org/path", ")"]),
    ("mail jeffrey.hodgson@reuters.com.", ["mail", "jeffrey.hodgson@reuters.com", "."]),
    # words joined by a period with no space stay whole, as CoNLL-2003 writes them
    ("Shares of Nordwind (NWD.DE) rose", ["Shares", "of", "Nordwind", "(", "NWD.DE", ")",
                                          "rose"]),
    ("on example.com, RABN.CN and Govt.Fcast.", ["on", "example.com", ",", "RABN.CN", "and",
                                                 "Govt.Fcast", "."]),
    ("example.com's 30.AUG.96 v1.2.3", ["example.com", "'s", "30.AUG.96", "v1.2.3"]),
    ("St.Louis, Co.Ltd, wait...what", ["St.", "Louis", ",", "Co.", "Ltd", ",", "wait", "...",
                                       "what"]),
    # clitics
    ("Paris's mayor", ["Paris", "'s", "mayor"]),
    ("don't can't won't DON'T", ["do", "n't", "ca", "n't", "wo", "n't", "DO", "N'T"]),
    ("I'm they're we've she'll he'd", ["I", "'m", "they", "'re", "we", "'ve", "she", "'ll", "he", "'d"]),
    ("the players' union", ["the", "players", "'", "union"]),
    ("SILVA'S EXCUSE", ["SILVA", "'S", "EXCUSE"]),
    ("O'Brien's d'affaires", ["O'Brien", "'s", "d'affaires"]),
    ("Microsoft Corp.'s", ["Microsoft", "Corp.", "'s"]),
    # curly apostrophes behave like straight ones; text is never normalised
    ("Paris’s don’t O’Neill’s", ["Paris", "’s", "do", "n’t", "O’Neill", "’s"]),
    ("the players’ union", ["the", "players", "’", "union"]),
    # quotes and brackets
    ('"Hi," he said.', ['"', "Hi", ",", '"', "he", "said", "."]),
    ("“Hi” ‘there’ «yes»", ["“", "Hi", "”", "‘", "there", "’", "«", "yes", "»"]),
    ("(a) [b] {c} 'd'", ["(", "a", ")", "[", "b", "]", "{", "c", "}", "'", "d", "'"]),
    ("``quoted''", ["``", "quoted", "'", "'"]),
    # ellipsis and dashes
    ("Wait... what …", ["Wait", "...", "what", "…"]),
    ("yes--no -- maybe — or – so", ["yes", "--", "no", "--", "maybe", "—", "or", "–", "so"]),
    ("CRICKET - LEICESTERSHIRE", ["CRICKET", "-", "LEICESTERSHIRE"]),
    # non-ASCII letters are letters (also with combining marks)
    ("Zürich São Paulo Müller naïve", ["Zürich", "São", "Paulo", "Müller", "naïve"]),
    ("Cafe\u0301 Ελλάδα Москва 東京", ["Cafe\u0301", "Ελλάδα", "Москва", "東京"]),
    # any Unicode whitespace separates, never part of a token
    ("a\tb\r\nc\u00a0d\u2028e\u2003f\u200bg\ufeffh\u3000i\x0bj\x1ck",
     ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]),
    ("", []),
    (" \n\t\u00a0 ", []),
])
def test_token_rules(text, expected):
    toks = tokenize(text)
    check_invariants(text, toks)
    assert [t.text for t in toks] == expected


def test_offsets_crlf_tabs_curly_non_ascii():
    text = "Zürich’s\r\n\tcafé  “ok”"
    assert tokenize(text) == [
        Token("Zürich", 0, 6), Token("’s", 6, 8), Token("café", 11, 15),
        Token("“", 17, 18), Token("ok", 18, 20), Token("”", 20, 21)]
    assert tokenize(text, offset=100)[2] == Token("café", 111, 115)


def test_weird_input_never_raises():
    for text in ["\ud800\udfff x\udc00y", "\x00\x01\x7f", "\u0301\u0301", "'" * 50, "...." * 10,
                 "http://", "@@", "-" * 30, "\r" * 5, "U.S" + "." * 10]:
        check_invariants(text, tokenize(text))
        assert [t for s in split_sentences(text) for t in s] == tokenize(text)


@pytest.mark.parametrize("unit", ["a", "a.", "1,", "'", "a'", "n't", "-a", "A&", "x@y.", "Inc.",
                                  "http://.", "1/", "+1", "\u0301"])
def test_long_inputs_without_spaces(unit):
    text = unit * (400_000 // len(unit))
    toks = tokenize(text)
    assert "".join(t.text for t in toks) == text
    assert toks[-1].end == len(text)


def test_ten_megabyte_word_and_huge_sentence():
    text = "x" * 10_000_000
    assert tokenize(text) == [Token(text, 0, len(text))]
    text = "word, " * 100_000
    (sentence,) = split_sentences(text)
    assert len(sentence) == 200_000


# ---------------------------------------------------------- sentence splitting
@pytest.mark.parametrize("text, expected", [
    ("He left. She stayed.", [["He", "left", "."], ["She", "stayed", "."]]),
    ("Why? Because! 3 men came... Then left.",
     [["Why", "?"], ["Because", "!"], ["3", "men", "came", "..."], ["Then", "left", "."]]),
    ("Wait... and see.", [["Wait", "...", "and", "see", "."]]),
    ("It rose 3.5 percent. Prices fell.", [["It", "rose", "3.5", "percent", "."],
                                            ["Prices", "fell", "."]]),
    ("lower case. after", [["lower", "case", ".", "after"]]),
    # abbreviations and initials do not end a sentence
    ("Mr. Smith met Dr. Jones.", [["Mr.", "Smith", "met", "Dr.", "Jones", "."]]),
    ("Ask Prof. Li at St. Paul on Jan. 5 or Oct. 6.",
     [["Ask", "Prof.", "Li", "at", "St.", "Paul", "on", "Jan.", "5", "or", "Oct.", "6", "."]]),
    ("J. R. Smith of Acme Inc. Bought it.", [["J.", "R.", "Smith", "of", "Acme", "Inc.", "Bought",
                                               "it", "."]]),
    ("in the U.S. He said", [["in", "the", "U.S.", "He", "said"]]),
    # no sentence ends at a terminator with no space after it
    ("Shares of Nordwind (NWD.DE) rose 3 percent.",
     [["Shares", "of", "Nordwind", "(", "NWD.DE", ")", "rose", "3", "percent", "."]]),
    ("See e.g. the U.S. site example.com. It rose 3.5 percent.",
     [["See", "e.g.", "the", "U.S.", "site", "example.com", "."],
      ["It", "rose", "3.5", "percent", "."]]),
    ("Yahoo!Inc rose. Stop!Now", [["Yahoo", "!", "Inc", "rose", "."], ["Stop", "!", "Now"]]),
    ('He said "no."Then left.', [["He", "said", '"', "no", ".", '"', "Then", "left", "."]]),
    ("我爱北京。他来了。", [["我爱北京", "。"], ["他来了", "。"]]),  # (CJK needs no space)
    ("apples, pears, etc. Then more.", [["apples", ",", "pears", ",", "etc."], ["Then", "more", "."]]),
    # closing quotes/brackets stay with the sentence; opening ones start the next
    ('He said "Go." Then left.', [["He", "said", '"', "Go", ".", '"'], ["Then", "left", "."]]),
    ("(It works.) Yes.", [["(", "It", "works", ".", ")"], ["Yes", "."]]),
    ("“No!” she said.", [["“", "No", "!", "”", "she", "said", "."]]),
    ('Done. "Next," he said.', [["Done", "."], ['"', "Next", ",", '"', "he", "said", "."]]),
    ("Done. (Next) one.", [["Done", "."], ["(", "Next", ")", "one", "."]]),
    ("Done. 'Quote' here.", [["Done", "."], ["'", "Quote", "'", "here", "."]]),
    # a single newline does not end a sentence, a blank line always does
    ("one line\nnext line", [["one", "line", "next", "line"]]),
    ("no stop\n\nnew para", [["no", "stop"], ["new", "para"]]),
    ("Mr.\n\nSmith", [["Mr", "."], ["Smith"]]),
    ("a\r\n\r\nb\r\rc\n \t\nd\n\n\n", [["a"], ["b"], ["c"], ["d"]]),
    ("a\r\nb\rc", [["a", "b", "c"]]),
    ("", []),
])
def test_sentence_splitting(text, expected):
    assert sents(text) == expected


def test_split_sentences_offset():
    (s1, s2) = split_sentences("A b. C d.", offset=10)
    assert s1[0] == Token("A", 10, 11) and s2[-1] == Token(".", 18, 19)


# ------------------------------------------------------------ text read in chunks
def chunked_sentences(text: str, chunk_chars: int = 1) -> list:
    """The sentences of ``text`` read as tagging reads it: chunks cut after blank lines
    (every blank line, with ``chunk_chars`` = 1), each split on its own."""
    from unittest import mock

    from nertag.tagging import chunks as tagging

    with mock.patch.object(tagging, "CHUNK_CHARS", chunk_chars):
        chunks = list(tagging.iter_chunks(io.StringIO(text, newline="")))
    assert "".join(c for _, c in chunks) == text
    return [s for off, c in chunks for s in split_sentences(c, off)]


def test_sentences_of_chunks_equal_sentences_of_the_whole_text():
    text = ("Mr. Smith went to Washington. He said \"Hi.\"\r\n\r\nThe U.S.\n\n"
            "Acme Inc.\n  \nNext para... (it's 3 p.m.) Done!\rEnd\r\r") * 20
    whole = split_sentences(text)
    for chunk_chars in (1, 50, 1000, 1 << 20):
        assert chunked_sentences(text, chunk_chars) == whole


# -------------------------------------------------------------- properties
_PIECES = ["Mr.", "U.S.", "Inc.", "J.", "e.g.", "etc.", "No.", "1.", "3.5", "1,000", "'s", "n't",
           "’", "'", '"', "“", "”", "(", ")", "...", ".", "!", "?", "-", "--", "—", "$", "%", "@",
           "http://a.b/c", "www.x.org", "a@b.co", "\n", "\r\n", "\r", "\n\n", " ", "\t", "\u00a0",
           "\u2028", "\u200b", "\ufeff", "Paris", "don", "t", "x", "É", "\u0301", "ü", "1", "/", ":",
           "+", "=", "&", "A", "\ud800"]
_mixed = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


def _check_all(text: str) -> None:
    toks = tokenize(text)
    check_invariants(text, toks)
    sentences = split_sentences(text)
    assert all(sentences)
    assert [t for s in sentences for t in s] == toks
    assert tokenize(text, 7) == [Token(t.text, t.start + 7, t.end + 7) for t in toks]
    assert chunked_sentences(text) == sentences
    # the offsets computed from the separators are the regex's own match offsets
    assert [(t.text, t.start, t.end) for t in toks] == \
        [(m.group(), m.start(), m.end()) for m in tk._TOKEN_RE.finditer(text)]
    texts, starts, ends, cuts = tk.split_flat(text, 3)
    assert [list(TokenSpans(texts[a:b], starts[a:b].tolist(), ends[a:b].tolist()))
            for a, b in zip(cuts, cuts[1:])] == split_sentences(text, 3)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text())
def test_property_arbitrary_text(text):
    _check_all(text)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_mixed)
def test_property_mixed_text(text):
    _check_all(text)


def test_separator_table_is_the_regex_separator_class():
    """token_arrays finds offsets from a table of the code points that separate tokens:
    exactly those of the regex's separator class (Unicode whitespace, ZWSP, BOM)."""
    sep = re.compile(f"[{tk._SEP}]")
    table = tk._SEP_TABLE
    for c in range(0x110000):
        assert bool(sep.match(chr(c))) == table[min(c, len(table) - 1)], c


def test_token_arrays_fall_back_to_the_match_offsets(monkeypatch):
    """If the tokens did not cover the non-separators exactly (a broken separator table
    here), the offsets come from the regex's matches instead."""
    text = "He said:\tParis\u00a0(U.S.) isn't 1,000 km away.\r\n\r\nNew\u200bline"
    want = tokenize(text, 5)
    monkeypatch.setattr(tk, "_SEP_TABLE", np.zeros_like(tk._SEP_TABLE))
    texts, starts, ends = tk.token_arrays(text, 5)
    assert list(zip(texts, starts.tolist(), ends.tolist())) == want
