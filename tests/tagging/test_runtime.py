"""Tagging files end to end (nertag.tagging.runtime, run as ``nertag tag``): offsets
point into the original input (CRLF, tabs, non-ASCII), inline marks removed give the input
back, CoNLL tokens are the tokenizer's, --jobs 2 writes exactly what --jobs 1 writes, html
is one self-contained page, --per document, atomic -o, --tokenized input."""

from __future__ import annotations

import html
import json
import os
import random
import re

import pytest
from typer.testing import CliRunner

from conftest import TRICKY
from nertag.cli import app
from nertag.tagging import chunks as tagging
from nertag.text.tokenize import split_sentences, tokenize


def run(*args):
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.output


def big_text(n_paragraphs: int = 300, seed: int = 0) -> str:
    rng = random.Random(seed)
    paras = [p for p in TRICKY.replace("\r\n", "\n").split("\n\n") if p.strip()]
    out = []
    for _ in range(n_paragraphs):
        out.append(rng.choice(paras) + rng.choice(["\n\n", "\r\n\r\n", "\n \n"]))
    return "".join(out)


def test_jsonl_offsets_point_into_the_input(model_dir, tricky, tmp_path):
    out = tmp_path / "o.jsonl"
    run("tag", "-m", model_dir, tricky, "-f", "jsonl", "-o", out)
    text = tricky.read_bytes().decode("utf-8")
    n_tok, n_ent = 0, 0
    for line in out.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        assert text[obj["start"]:obj["start"] + len(obj["text"])] == obj["text"]
        for t in obj["tokens"]:
            assert text[t["start"]:t["end"]] == t["text"]
            n_tok += 1
        for e in obj["entities"]:
            assert text[e["start"]:e["end"]] == e["text"]
            assert e["label"] in ("PER", "LOC", "ORG", "MISC") and 0 < e["score"] <= 1
            n_ent += 1
    assert n_tok == len(tokenize(text)) and n_ent > 0


def test_inline_without_marks_is_the_input(model_dir, tricky, tmp_path):
    out = tmp_path / "o.txt"
    run("tag", "-m", model_dir, tricky, "-f", "inline", "-o", out)
    marked = out.read_bytes().decode("utf-8")
    assert re.search(r"<(PER|LOC|ORG|MISC)>", marked)
    assert re.sub(r"</?(PER|LOC|ORG|MISC)>", "", marked) == TRICKY


@pytest.mark.parametrize("mode", [None, "blank", "line", "auto"])
def test_conll_tokens_are_the_tokenizers(model_dir, tricky, mode):
    out = run("tag", "-m", model_dir, tricky, "-f", "conll",
              *(["--sentences", mode] if mode else []))
    blocks = [b for b in out.split("\n\n") if b.strip()]
    sents = split_sentences(TRICKY, 0, mode or "auto")  # auto: the default
    assert len(blocks) == len(sents)
    for block, sent in zip(blocks, sents):
        rows = [line.split("\t") for line in block.strip("\n").split("\n")]
        assert [r[0] for r in rows] == [t.text for t in sent]
        assert all(re.fullmatch(r"O|[BI]-(PER|LOC|ORG|MISC)", r[1]) for r in rows)


@pytest.mark.parametrize("fmt", ["jsonl", "conll", "inline", "html"])
def test_jobs_2_writes_what_jobs_1_writes(model_dir, tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(tagging, "BATCH_CHARS", 2000)   # many batches
    monkeypatch.setattr(tagging, "CHUNK_CHARS", 500)
    src = tmp_path / "big.txt"
    src.write_bytes(big_text().encode("utf-8"))
    o1, o2 = tmp_path / "j1", tmp_path / "j2"
    run("tag", "-m", model_dir, src, "-f", fmt, "-o", o1)
    run("tag", "-m", model_dir, src, "-f", fmt, "-o", o2, "--jobs", "2")
    assert o1.read_bytes() == o2.read_bytes()
    if fmt == "jsonl":
        assert len(o1.read_text(encoding="utf-8").splitlines()) > 100


def test_html_is_one_self_contained_page(model_dir, tricky, tmp_path):
    second = tmp_path / "b.txt"
    second.write_text("Angela Merkel visited <Paris> & \"London\".\n", encoding="utf-8")
    run("tag", "-m", model_dir, tricky, second, "-f", "html", "-o", tmp_path / "o.html")
    page = (tmp_path / "o.html").read_bytes().decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<html") == 1
    assert page.rstrip().endswith("</html>") and page.count("</html>") == 1
    assert page.count("<body>") == 1 and 'class="legend"' in page
    for label in ("PER", "LOC", "ORG", "MISC"):
        assert f">{label}</mark>" in page.split('class="legend"')[1].split("</p>")[0]
    assert not re.search(r"""(src|href)\s*=|<script|<link|@import|url\(""", page)
    # a section per file, its name as the heading
    sections = re.findall(r'<section><h2 class="file">(.*?)</h2><div class="text">(.*?)'
                          r'</div></section>', page, re.S)
    assert [name for name, _ in sections] == [str(tricky), str(second)]
    texts = (TRICKY, "Angela Merkel visited <Paris> & \"London\".\n")
    for (_, body), text in zip(sections, texts):
        plain = re.sub(r'<mark [^>]*>(.*?)<span class="l">[^<]*</span></mark>', r"\1", body)
        assert "<" not in plain                         # every other character escaped
        assert html.unescape(plain) == text


def test_per_document(model_dir, tricky, tmp_path):
    second = tmp_path / "b.txt"
    second.write_text("Angela Merkel visited Paris.\n\nShe left.", encoding="utf-8")
    lines = run("tag", "-m", model_dir, tricky, second, "--per", "document").splitlines()
    assert len(lines) == 2
    for line, path in zip(lines, (tricky, second)):
        doc = json.loads(line)
        text = path.read_bytes().decode("utf-8")
        assert doc["source"] == str(path) and doc["text"] == text
        for t in doc["tokens"]:
            assert text[t["start"]:t["end"]] == t["text"]
        for e in doc["entities"]:
            assert text[e["start"]:e["end"]] == e["text"]
        starts = [s["start"] for s in doc["sentences"]]
        assert starts == sorted(starts)


def test_output_is_written_atomically(model_dir, tricky, tmp_path):
    out = tmp_path / "o.jsonl"
    out.write_text("old\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Good line about Paris.\n\n" * 2000 + b"\xff\xfe broken\n")
    r = CliRunner().invoke(app, ["tag", "-m", str(model_dir), str(bad), "-o", str(out)])
    assert r.exit_code == 1 and "not valid utf-8" in r.output
    assert out.read_text() == "old\n"                      # untouched
    assert sorted(os.listdir(tmp_path)) == ["bad.txt", "o.jsonl"]  # no temp file left
    run("tag", "-m", model_dir, tricky, "-o", out)
    assert out.read_text(encoding="utf-8").startswith('{"text": ')


def test_tokenized_input(model_dir, tmp_path):
    src = tmp_path / "in.conll"
    src.write_text("EU NNP\nrejects VBZ\nGerman JJ\n\nPeter NNP\nBlackburn NNP\n",
                   encoding="utf-8")
    out = run("tag", "-m", model_dir, src, "--tokenized", "-f", "conll")
    rows = [line.split(" ") for line in out.splitlines() if line]
    assert [r[:2] for r in rows] == [["EU", "NNP"], ["rejects", "VBZ"], ["German", "JJ"],
                                     ["Peter", "NNP"], ["Blackburn", "NNP"]]
