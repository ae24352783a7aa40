"""``nertag tag --tokenized`` in every format: CoNLL columns out as before; jsonl, inline,
html, pretty and ``--per document`` over a text rebuilt from the words (each sentence
detokenized on a line, as ``nertag convert`` writes jsonl), with honest offsets into it
and the input's words as the tokens, one for one."""

from __future__ import annotations

import json
import re

import pytest

from nertag.resources import sample_dev
from nertag.text.spans_jsonl import read_nertag_jsonl


@pytest.fixture
def conll(tmp_path):
    """The sample dev set's first 60 sentences (columns: word POS chunk gold)."""
    text = sample_dev().read_text(encoding="utf-8").split("\n\n")
    p = tmp_path / "dev60.conll"
    p.write_text("\n\n".join(text[:60]) + "\n", encoding="utf-8")
    return p


def tagged_columns(cli, model, conll):
    r = cli("tag", "-m", model, "--tokenized", conll)  # the default: CoNLL columns
    assert r.exit_code == 0, r.stderr
    sents = [[line.split(" ") for line in block.splitlines()]
             for block in r.stdout.split("\n\n") if block.strip()]
    return r.stdout, sents


def test_conll_is_still_the_default_and_keeps_the_columns(cli, small_model, conll):
    out, sents = tagged_columns(cli, small_model, conll)
    given = [line.split() for line in conll.read_text().splitlines() if line.strip()
             and not line.startswith("-DOCSTART-")]
    assert [row[:-1] for s in sents for row in s] == given
    assert cli("tag", "-m", small_model, "--tokenized", conll, "-f", "conll").stdout == out


def test_jsonl_offsets_point_into_the_rebuilt_text(cli, small_model, conll):
    _, sents = tagged_columns(cli, small_model, conll)
    r = cli("tag", "-m", small_model, "--tokenized", conll, "-f", "jsonl")
    assert r.exit_code == 0, r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(objs) == len(sents)
    pos = 0
    for obj, rows in zip(objs, sents):
        assert obj["start"] == pos  # one sentence a line: the k earlier lines before it
        pos += len(obj["text"]) + 1
        text, base = obj["text"], obj["start"]
        assert [t["text"] for t in obj["tokens"]] == [row[0] for row in rows]  # one for one
        assert [t["tag"] for t in obj["tokens"]] == [row[-1] for row in rows]
        for t in obj["tokens"]:
            assert text[t["start"] - base:t["end"] - base] == t["text"]
        for e in obj["entities"]:
            assert text[e["start"] - base:e["end"] - base] == e["text"]
            assert 0 < e["score"] <= 1
    assert sum(len(o["entities"]) for o in objs) > 20


def test_jsonl_is_convert_of_the_tagged_columns_plus_scores(cli, small_model, conll,
                                                            tmp_path):
    """tag --tokenized -f jsonl == convert (tag --tokenized -f conll) --to jsonl, scores
    aside; and it reads back as training data with the words and predicted tags."""
    cols = tmp_path / "tagged.conll"
    assert cli("tag", "-m", small_model, "--tokenized", conll, "-o", cols).exit_code == 0
    converted = tmp_path / "converted.jsonl"
    r = cli("convert", cols, converted, "--to", "jsonl")
    assert r.exit_code == 0, r.stderr
    out = tmp_path / "tagged.jsonl"
    assert cli("tag", "-m", small_model, "--tokenized", conll, "-f", "jsonl",
               "-o", out).exit_code == 0
    mine = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    for obj in mine:
        for e in obj["entities"]:
            del e["score"]
    assert mine == [json.loads(x) for x in converted.read_text(encoding="utf-8").splitlines()]
    back = read_nertag_jsonl(out)
    _, sents = tagged_columns(cli, small_model, conll)
    assert [s.words for s in back.sentences] == [[r[0] for r in s] for s in sents]
    assert [s.tags for s in back.sentences] == [[r[-1] for r in s] for s in sents]


def test_every_text_format_and_per_document(cli, small_model, conll, tmp_path):
    docs = cli("tag", "-m", small_model, "--tokenized", conll, "-f", "jsonl", "--per",
               "document")
    assert docs.exit_code == 0, docs.stderr
    # --per document means jsonl (no -f needed, even where --tokenized defaults to conll)
    assert cli("tag", "-m", small_model, "--tokenized", conll, "--per", "document").stdout \
        == docs.stdout
    doc = json.loads(docs.stdout)
    assert doc["source"] == str(conll) and doc["text"].count("\n") == len(doc["sentences"])
    for e in doc["entities"]:
        assert doc["text"][e["start"]:e["end"]] == e["text"]
    inline = cli("tag", "-m", small_model, "--tokenized", conll, "-f", "inline").stdout
    assert re.sub(r"</?[A-Z]+>", "", inline) == doc["text"]  # marks removed: the text
    assert len(re.findall(r"<[A-Z]+>", inline)) == len(doc["entities"])
    page = cli("tag", "-m", small_model, "--tokenized", conll, "-f", "html").stdout
    assert page.count("<mark data-label=") == len(doc["entities"]) + 4  # + the legend
    pretty = cli("tag", "-m", small_model, "--tokenized", conll, "-f", "pretty").stdout
    labelled = re.sub(r"<([A-Z]+)>(.*?)</\1>", r"[\2 \1]", inline)
    assert pretty == labelled


def test_several_tokenized_inputs_name_their_source(cli, small_model, conll, tmp_path):
    other = tmp_path / "other.conll"
    other.write_text("Angela NNP\nMerkel NNP\nvisited VBD\nParis NNP\n", encoding="utf-8")
    r = cli("tag", "-m", small_model, "--tokenized", conll, other, "-f", "jsonl")
    objs = [json.loads(x) for x in r.stdout.splitlines()]
    assert {o["source"] for o in objs} == {str(conll), str(other)}
    last = objs[-1]
    assert last["start"] == 0 and last["text"] == "Angela Merkel visited Paris"


# ------------------------------------------------------------ running text refused
PROSE = ("Shares of Nordwind rose 3 percent on Monday.\n"
         "The company said profits would double\n\n"
         "Obama visited Paris.\n")


@pytest.mark.parametrize("fmt", ["conll", "jsonl"])
def test_running_text_is_refused_naming_the_line(cli, small_model, tmp_path, expect_error,
                                                 fmt):
    """Prose given to --tokenized was tagged as one 'word' a line (the rest of the line
    taken for columns): refused before anything is written, with what to do."""
    p = tmp_path / "news.txt"
    p.write_text(PROSE, encoding="utf-8")
    r = cli("tag", "-m", small_model, "--tokenized", p, "-f", fmt)
    expect_error(r, 1, f"{p}:1: 8 words on one line, the last 'Monday.'",
                 "one token a line", "if this is running text, drop --tokenized")
    assert r.stdout == ""
    # a line without a final period: the column count tells (line 2 has 6 where 1 has 8)
    p.write_text(PROSE.replace("Monday.", "Monday"), encoding="utf-8")
    expect_error(cli("tag", "-m", small_model, "--tokenized", p, "-f", fmt), 1,
                 f"{p}:2: 6 columns where line 1 has 8", "drop --tokenized")


def test_a_line_with_other_columns_is_refused(cli, small_model, conll, expect_error):
    lines = conll.read_text(encoding="utf-8").splitlines()
    k = next(i for i, line in enumerate(lines) if i > 20 and line.strip()
             and not line.startswith("-DOCSTART-"))
    lines[k] += " extra"
    conll.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expect_error(cli("tag", "-m", small_model, "--tokenized", conll), 1,
                 f"{conll}:{k + 1}: 5 columns where line ", " has 4")


@pytest.mark.parametrize("text", [
    "U.S.\nofficials\nsaid\n.\n\nInc.\n",                 # one column: words only
    "EU B-ORG\nrejects O\nU.S. B-LOC\nplan O\n. O\n",     # word and tag
    "Acme NNP B-ORG\nInc. NNP I-ORG\n. . O\n",            # POS '.' and a word 'Inc.'
])
def test_columns_that_end_in_periods_are_columns(cli, small_model, tmp_path, text):
    p = tmp_path / "in.conll"
    p.write_text(text, encoding="utf-8")
    r = cli("tag", "-m", small_model, "--tokenized", p)
    assert r.exit_code == 0, r.stderr
    assert [line.split()[:-1] for line in r.stdout.splitlines() if line] == \
        [line.split() for line in text.splitlines() if line]
