"""Tests for nertag.text.sentences: which line breaks end a sentence (blank, line, auto),
and the tokenizer's sentences in each mode."""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nertag.errors import UsageError
from nertag.text import sentences as sm
from nertag.text.tokenize import split_flat, split_sentences, tokenize

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "example.txt"
ISSUE = "Obama visits Paris\nMerkel meets Macron\nApple hires Tim Cook\n"


def sents(text: str, mode: str) -> list[str]:
    """Each sentence as its tokens joined by spaces."""
    return [" ".join(t.text for t in s) for s in split_sentences(text, 0, mode)]


def hard(lines: str) -> list[bool]:
    return sm.block_breaks(lines.split("\n"))


# ------------------------------------------------------------------ the three modes
def test_the_issues_example_is_three_sentences_in_line_and_auto_mode():
    assert sents(ISSUE, "blank") == ["Obama visits Paris Merkel meets Macron Apple hires Tim Cook"]
    for mode in ("line", "auto"):
        assert sents(ISSUE, mode) == ["Obama visits Paris", "Merkel meets Macron",
                                      "Apple hires Tim Cook"]


def test_blank_mode_never_lists_a_line_break():
    for text in (ISSUE, "a\nb", "a\r\nb\rc", EXAMPLE.read_text(encoding="utf-8")):
        assert sm.line_breaks(text, "blank") == []


def test_line_mode_lists_every_line_break():
    assert sm.line_breaks("ab\ncd\r\nef\rg", "line") == [2, 5, 9]
    assert sm.line_breaks("ab\n\ncd\ne", "line") == [2, 3, 6]  # (paragraph breaks too)
    assert sm.line_breaks("ab\n\ncd", "line") == []  # no single line break: nothing to do
    assert sm.line_breaks("one line only\n", "line") == []  # nothing to cut
    assert sm.line_breaks("para one\n\npara two\n", "line") == []


def test_several_sentences_on_one_line_are_still_split_in_every_mode():
    text = "He left. She stayed!\nThey went home? Yes.\n"
    for mode in sm.MODES:
        assert sents(text, mode) == ["He left .", "She stayed !", "They went home ?", "Yes ."]


def test_an_unknown_mode_is_an_error_naming_the_modes():
    with pytest.raises(UsageError, match=r"sentences: unknown sentence mode 'lines'; use one of "
                                         r"blank, line, auto"):
        split_flat("a\nb", 0, "lines")
    assert sm.check_mode("line") == "line"
    assert sm.DEFAULT == "auto" and sm.MODES == ("blank", "line", "auto")


# ------------------------------------------------------------------ offsets
@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_offsets_are_offsets_into_the_text_with_any_line_end(eol):
    text = ISSUE.replace("\n", eol) + eol + "Acme Inc." + eol + "It rose.  " + eol
    for mode in sm.MODES:
        for s in split_sentences(text, 0, mode):
            for t in s:
                assert text[t.start:t.end] == t.text, (mode, t)
    starts = [s[0].start for s in split_sentences(text, 0, "line")]
    assert starts == [0, 18 + len(eol), 37 + 2 * len(eol), 57 + 4 * len(eol),
                      66 + 5 * len(eol)]
    shifted = split_sentences(text, 100, "auto")
    assert [[(t.start - 100, t.end - 100) for t in s] for s in shifted] == \
        [[(t.start, t.end) for t in s] for s in split_sentences(text, 0, "auto")]


# ------------------------------------------------------------------ abbreviations at a line end
def test_an_abbreviation_ending_a_line_sentence_loses_its_period_as_at_a_paragraph_end():
    text = 'He works for Acme Inc.\nShe joined "Foo Corp."\nBack in the U.S.\nMr. Smith left.'
    assert sents(text, "line") == ["He works for Acme Inc .", 'She joined " Foo Corp . "',
                                   "Back in the U.S .", "Mr. Smith left ."]
    assert sents(text, "auto") == sents(text, "line")
    # each line tagged on its own (end of text) gives the same tokens
    for line, sentence in zip(text.split("\n"), sents(text, "line")):
        assert " ".join(t.text for t in tokenize(line)) == sentence
    # blank mode: one sentence, abbreviations keep their periods inside it
    assert sents(text, "blank")[0].startswith('He works for Acme Inc. She joined " Foo Corp. "')
    flat = split_flat(text, 0, "line")
    assert all(text[a:b] == t for t, a, b in zip(flat.texts, flat.starts, flat.ends))


def test_a_wrapped_line_ending_with_an_abbreviation_keeps_it():
    text = ("Delegates met Mrs. Marchetti and Mr.\nWhitcombe of the Environmental "
            "Protection\nAgency in Geneva on Thursday, the agency said.")
    assert sents(text, "auto") == sents(text, "blank") == [
        "Delegates met Mrs. Marchetti and Mr. Whitcombe of the Environmental Protection "
        "Agency in Geneva on Thursday , the agency said ."]


# ------------------------------------------------------------------ the auto rule
def test_auto_keeps_hard_wrapped_prose_together_at_any_width_and_wrapper():
    paragraphs = [p for p in EXAMPLE.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    plain = "\n\n".join(paragraphs)
    for width in (30, 40, 60, 72, 80, 100):
        for wrap in (lambda p: "\n".join(textwrap.wrap(p, width, break_on_hyphens=False)),
                     lambda p: "\n".join(_fold(p, width))):
            wrapped = "\n\n".join(wrap(p) for p in paragraphs)
            assert sents(wrapped, "auto") == sents(plain, "auto") == sents(plain, "blank"), width


def _fold(text: str, width: int) -> list[str]:
    """``fold -s -w width``: break after the last space that fits (the space stays)."""
    out = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width) + 1 or width
        out.append(text[:cut])
        text = text[cut:]
    return out + [text]


def test_auto_cuts_a_list_of_headlines_tweets_and_rows():
    assert all(hard("Obama visits Paris\nMerkel meets Macron\nApple hires Tim Cook"))
    assert all(hard("Stocks rally as Fed holds rates steady for a third month\n"
                    "Storm batters the coast\nOil prices slip after OPEC talks end "
                    "without a deal"))
    assert all(hard("just landed in paris!! so tired\nlol this match is insane\n"
                    "cannot believe what the minister said about the budget today\n"
                    "coffee first"))
    assert all(hard("2024-01-02,Apple,Cupertino,1200\n2024-01-03,Google,Mountain View,1300\n"
                    "2024-01-04,Acme Corp,Springfield,1250"))


def test_auto_joins_a_sentence_wrapped_over_two_lines():
    # filled first line, and evidence: a lowercase start / a function word / one sentence
    assert hard("The president arrived in Paris on Monday for talks with German\n"
                "officials.") == [False]
    assert hard("The president arrived in Paris on Monday for talks with the\n"
                "German Chancellor Angela Merkel.") == [False]
    assert hard("The president arrived in Paris on Monday for talks with German\n"
                "Chancellor Angela Merkel.") == [False]
    # the same shape without evidence is two items
    assert hard("The president arrived in Paris on Monday for talks with German\n"
                "Chancellor Angela Merkel") == [True]


def test_auto_cuts_a_headline_and_the_ends_of_paragraphs_inside_a_wrapped_block():
    text = ("Storm hits coast\n"
            "A powerful storm struck the eastern coast on Sunday, cutting power to\n"
            "thousands of homes and forcing the closure of several major roads, the\n"
            "regional authorities said in a statement\n"
            "Rescue teams were sent to the worst affected towns on Monday morning as\n"
            "the winds eased and the rain moved out to sea, and the coastguard said\n"
            "that no one was missing.")
    assert hard(text) == [True, False, False, True, False, False]
    assert sents(text, "auto")[0] == "Storm hits coast"
    assert len(sents(text, "auto")) == 3


def test_auto_cuts_after_a_headline_in_capitals_as_long_as_the_lines_after_it():
    prose = ("Everton's Duncan Ferguson, who scored twice against Manchester United on\n"
             "Wednesday, was picked on Thursday for the Scottish squad after a 20-month\n"
             "absence, the Scottish Football Association said.")
    head = "SOCCER - FERGUSON BACK IN SCOTTISH SQUAD AFTER 20 MONTHS"
    assert hard(head + "\n" + prose) == [True, False, False]
    assert hard("Soccer - Ferguson back in Scottish squad after 20 months\n" + prose) == \
        [False, False, False]  # (sentence case: no sign of a headline)
    # a block all in capitals (a telex) is wrapped prose like any other
    assert hard(prose.upper()) == [False, False]
    assert hard(head + "\n" + prose.upper()) == [False, False, False]


def test_auto_decides_each_block_between_blank_lines_on_its_own():
    headlines = "Obama visits Paris\nMerkel meets Macron"
    prose = "\n".join(textwrap.wrap(EXAMPLE.read_text(encoding="utf-8").split("\n\n")[1], 60))
    text = headlines + "\n\n" + prose + "\n"
    breaks = sm.line_breaks(text, "auto")
    assert breaks == [len("Obama visits Paris")]


def _line(n: int, last: str = "Zed") -> str:
    """A line of exactly ``n`` characters: capitalised words, ending with ``last``."""
    body = ("Word " * n)[:n - len(last) - 1].rstrip()
    return body + " " * (n - len(body) - len(last)) + last


def test_auto_thresholds_at_the_edges():
    # W = 50 (line 1); the next line's first word "Word" has 4 characters:
    # need0 = L0 + 1 + 4; filled: need > 0.85 * 50 = 42.5
    for l0, filled in ((37, False), (38, True)):
        lines = [_line(l0), _line(50, "of"), "Word end."]  # break 1 continues ("of")
        assert len(lines[0]) == l0 and len(lines[1]) == 50
        # both breaks filled: a wrapped block, joined; one filled break alone is no run
        assert sm.block_breaks(lines) == ([False, False] if filled else [True, True])
    # inside a wrapped block (9 of 10 breaks filled), the unfilled break ends a sentence
    # only if short: need <= 0.8 * 50 = 40
    for l0, cut in ((35, True), (36, False)):
        lines = [_line(50, "of")] * 5 + [_line(l0)] + [_line(50, "of")] * 4 + ["Word end."]
        got = sm.block_breaks(lines)
        assert got == [False] * 5 + [cut] + [False] * 4


def test_auto_needs_two_filled_breaks_in_a_row_inside_a_mixed_block():
    head = "Storm hits coast"
    for run, joined in ((1, False), (2, True)):
        lines = [head] + [_line(60, "the")] * run + ["Word end."] + ["Short item"] * 4
        got = sm.block_breaks(lines)
        assert got[1:1 + run] == [not joined] * run


# ------------------------------------------------------------------ properties
_PIECES = ["Paris", "paris", "the", "Mr.", "Inc.", "U.S.", ".", ",", "!", '"', "”", "-", " ",
           "  ", "\n", "\r\n", "\r", "\n\n", "\n \n", "\t", "\u2028", "\u200b", "1996", "and",
           "x" * 30, "Obama visits Paris", "a", "É"]
_text = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)


def _chunked(text: str, mode: str) -> list:
    from nertag.tagging import chunks as tagging

    with mock.patch.object(tagging, "CHUNK_CHARS", 1):
        chunks = list(tagging.iter_chunks(io.StringIO(text, newline="")))
    return [s for off, c in chunks for s in split_sentences(c, off, mode)]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(_text)
def test_property_every_mode(text):
    blank = split_sentences(text)
    assert split_sentences(text, 0, "blank") == blank
    joined = "".join(t.text for s in blank for t in s)
    for mode in sm.MODES:
        got = split_sentences(text, 0, mode)
        assert all(got)
        assert "".join(t.text for s in got for t in s) == joined  # the same characters
        for s in got:
            for t in s:
                assert text[t.start:t.end] == t.text
            if mode == "line":  # no sentence goes over a line break
                assert not re.search(r"[\r\n]", text[s[0].start:s[-1].end])
        # cut at blank lines first (as tagging reads text): the same sentences
        assert _chunked(text, mode) == got
        if not sm._has_single_break(text):
            assert got == blank
    lines = re.split(r"\r\n|\r|\n", text)
    content = [line.strip() != "" for line in lines]
    assert sm._has_single_break(text) == any(a and b for a, b in zip(content, content[1:]))
