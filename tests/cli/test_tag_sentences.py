"""nertag tag --sentences blank|line|auto: which line breaks end a sentence, with the
shipped model (the issue's headlines, hard-wrapped prose, CRLF offsets, bad values)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from nertag.text.sentences import MODES

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "example.txt"
HEADLINES = "Obama visits Paris\nMerkel meets Macron\nApple hires Tim Cook\n"


def jsonl(cli, *args, input=None) -> list[dict]:
    r = cli("tag", *args, "-f", "jsonl", input=input)
    assert r.exit_code == 0, (r.output, r.exception)
    return [json.loads(line) for line in r.stdout.splitlines()]


def entities(objs: list[dict]) -> list[tuple[str, str]]:
    """(text with its line breaks as spaces, label) of every entity, in order."""
    return [(" ".join(e["text"].split()), e["label"]) for o in objs for e in o["entities"]]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_the_issues_headlines_are_three_sentences_by_default(cli, eol):
    text = HEADLINES.replace("\n", eol)
    for args in ([], ["--sentences", "auto"], ["--sentences", "line"]):
        objs = jsonl(cli, "-", *args, input=text)
        assert [o["text"] for o in objs] == ["Obama visits Paris", "Merkel meets Macron",
                                            "Apple hires Tim Cook"]
        for o in objs:  # no entity crosses a line; offsets are offsets into the input
            assert text[o["start"]:].startswith(o["text"])
            for e in o["entities"]:
                assert "\n" not in e["text"] and "\r" not in e["text"]
                assert text[e["start"]:e["end"]] == e["text"]
            for t in o["tokens"]:
                assert text[t["start"]:t["end"]] == t["text"]
    (one,) = jsonl(cli, "-", "--sentences", "blank", input=text)  # as before: one sentence
    assert one["text"] == text.rstrip()


def test_conll_has_a_blank_line_after_each_headline(cli):
    r = cli("tag", "-", "-f", "conll", input=HEADLINES)
    assert r.exit_code == 0
    assert [[row.split("\t")[0] for row in block.split("\n")]
            for block in r.stdout.strip("\n").split("\n\n")] == [
        ["Obama", "visits", "Paris"], ["Merkel", "meets", "Macron"],
        ["Apple", "hires", "Tim", "Cook"]]


def test_hard_wrapped_prose_gives_the_entities_of_the_unwrapped_text(cli, tmp_path):
    plain = EXAMPLE.read_text(encoding="utf-8")
    paragraphs = [p for p in plain.split("\n\n") if p.strip()]
    wrapped = tmp_path / "wrapped.txt"
    wrapped.write_text("\n\n".join("\n".join(textwrap.wrap(p, 72)) for p in paragraphs)
                       + "\n", encoding="utf-8")
    want = jsonl(cli, EXAMPLE)
    got = jsonl(cli, wrapped)  # auto, the default
    assert entities(got) == entities(want) and len(entities(want)) > 40
    assert [" ".join(o["text"].split()) for o in got] == [o["text"] for o in want]
    assert entities(jsonl(cli, wrapped, "--sentences", "blank")) == entities(want)
    cut = jsonl(cli, wrapped, "--sentences", "line")  # every line a sentence
    assert len(cut) > len(want) and all("\n" not in o["text"] for o in cut)


def test_per_document_lists_the_sentences_of_the_mode(cli):
    for mode, n in (("line", 3), ("blank", 1)):
        (doc,) = jsonl(cli, "-", "--per", "document", "--sentences", mode, input=HEADLINES)
        assert len(doc["sentences"]) == n


def test_bad_values_and_combinations_are_usage_errors(cli, expect_error):
    r = cli("tag", "-", "--sentences", "para", input=HEADLINES)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "'para' is not one of" in r.output and all(f"'{m}'" in r.output for m in MODES)
    expect_error(cli("tag", "-", "--tokenized", "--sentences", "line", input="a\n"), 2,
                 "--sentences splits raw text; --tokenized input is already in sentences")


def test_help_lists_the_modes_with_examples(cli):
    r = cli("tag", "--help")
    assert "--sentences" in r.output and "<blank|line|auto>" in r.output
    assert "--sentences line" in r.output


def test_a_period_inside_a_token_ends_no_sentence(cli):
    """The issue's ticker: ``(NWD.DE)`` was cut into two sentences at ``NWD.|DE`` and both
    halves tagged as entities; ``e.g.``, ``U.S.``, ``3.5`` and ``example.com`` stay whole."""
    text = ("Shares of Nordwind (NWD.DE) rose 3.5 percent, e.g. in the U.S. market, the "
            "firm said on example.com on Monday.\n")
    (obj,) = jsonl(cli, "-", input=text)  # one sentence
    tokens = [t["text"] for t in obj["tokens"]]
    for whole in ("NWD.DE", "3.5", "e.g.", "U.S.", "example.com"):
        assert whole in tokens
    assert not {"NWD", "DE", "example", "com"} & {e["text"] for e in obj["entities"]}
