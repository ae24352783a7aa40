"""``nertag tag`` output invariants: offsets point into the original input (CRLF, tabs,
non-ASCII), inline marks removed give the input back, CoNLL tokens are the tokenizer's,
--jobs 2 writes exactly what --jobs 1 writes, html is one self-contained page, --per
document, atomic -o; and the vectorised pieces equal the simple ones they replace."""

from __future__ import annotations

import html
import json
import os
import random
import re

import pytest
from typer.testing import CliRunner

from nertag.inference import formats

from nertag.inference import tagging
from nertag.cli import app
from nertag.config import load_config
from nertag.text.tags import get_entities
from nertag.text.tokenize import split_sentences, tokenize
from nertag.training.loop import train

TRICKY = ("EU rejects German call to boycott British lamb .\r\n"
          "Peter Blackburn\tmet Angela Merkel in Zürich and São Paulo on Monday.\r\n\r\n"
          "\tBRUSSELS 1996-08-22\n"
          "The European Commission said on Thursday it disagreed with German advice "
          "to consumers to shun British lamb until scientists determine whether mad cow "
          "disease can be transmitted to sheep.\n\n\n"
          "Ölkonzern Royal Dutch/Shell — “Großbritannien” ☃ said: “I’m fine,” "
          "Mr. Łukasz Żółć told Reuters in Paris 's office.\r\n"
          "Café Dupont Inc. and Société Générale SA 50% of $5 U.S. stocks...\n"
          "no newline at the end, Germany")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tag") / "model"
    train(load_config("default", ["model.hidden=50", "train.epochs=2"]), output=out)
    return out


@pytest.fixture(scope="module")
def tricky(tmp_path_factory):
    p = tmp_path_factory.mktemp("in") / "tricky.txt"
    p.write_bytes(TRICKY.encode("utf-8"))
    return p


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


def test_conll_tokens_are_the_tokenizers(model_dir, tricky):
    out = run("tag", "-m", model_dir, tricky, "-f", "conll")
    blocks = [b for b in out.split("\n\n") if b.strip()]
    sents = split_sentences(TRICKY)
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
    body = page.split('<div class="text">', 1)[1].rsplit("</div>", 1)[0]
    plain = re.sub(r'<mark [^>]*>(.*?)<span class="l">[^<]*</span></mark>', r"\1", body)
    assert "<" not in plain                             # every other character escaped
    assert html.unescape(plain) == TRICKY + "Angela Merkel visited <Paris> & \"London\".\n"


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


def test_tag_chunks_covers_every_token(model_dir):
    import io

    from nertag.modelio import load_model

    model = load_model(model_dir)
    sents = [s for b in tagging.batches(io.StringIO(TRICKY, newline=""))
             for c in tagging.tag_chunks(model, b) for s in c.sentences]
    assert [t.text for s in sents for t in s.tokens] == [t.text for t in tokenize(TRICKY)]
    for s in sents:
        for e in s.entities:
            assert TRICKY[e.start:e.end] == e.text


@pytest.mark.parametrize("scheme,decoder", [("bioes", "constrained"), ("bioes", "greedy"),
                                            ("bio", "greedy")])
def test_tag_chunks_like_the_sentence_by_sentence_path(tmp_path_factory, tricky, scheme,
                                                       decoder):
    from nertag.modelio import load_model

    out = tmp_path_factory.mktemp(scheme) / "model"
    train(load_config("default", ["model.hidden=30", "train.epochs=1",
                                  f"model.tag_scheme={scheme}"]), output=out)
    model = load_model(out)
    model.cfg.model.decoder = decoder
    model.fast_inference = True
    text = tricky.read_bytes().decode("utf-8") * 3
    chunks = [(0, text)]
    fast = tagging.tag_chunks(model, chunks)
    # the reference: sentence by sentence, BIO tags from predict, chunks from get_entities
    sents = [s for s in split_sentences(text, 0) if s]
    tags, conf = model.predict([[t.text for t in s] for s in sents])
    assert len(fast[0].sentences) == len(sents)
    for a, s, tg, cf in zip(fast[0].sentences, sents, tags, conf):
        assert a.tags == tg and a.tokens == s
        want = [(s[b].start, s[e - 1].end, label, text[s[b].start:s[e - 1].end],
                 float(cf[b:e].mean())) for label, b, e in get_entities(tg)]
        assert [(e.start, e.end, e.label, e.text) for e in a.entities] == [w[:4] for w in want]
        for ea, w in zip(a.entities, want):
            assert abs(ea.score - w[4]) < 1e-5


def test_jsonl_strings_equal_json_dumps():
    text = 'He said "hi\\there"\t\x01 naïve 😀 ' + "Zürich.\u2028x"
    toks = tokenize(text, 100)
    ents = [tagging.Entity(toks[0].start, toks[1].end, 'P"ER', text[0:7], 0.123456),
            tagging.Entity(toks[-2].start, toks[-2].end, "LOC", toks[-2].text, 1.0)]
    sent = tagging.TaggedSentence(toks[0].start, toks[-1].end, toks,
                                  ["O"] * (len(toks) - 1) + ["B-X\\"], ents)
    chunk = tagging.TaggedChunk(100, text, [sent])
    for source in (None, 'dir/"odd".txt'):
        obj = {"text": text[sent.start - 100:sent.end - 100], "start": sent.start}
        if source is not None:
            obj["source"] = source
        obj["tokens"] = [{"text": t.text, "start": t.start, "end": t.end, "tag": g}
                         for t, g in zip(toks, sent.tags)]
        obj["entities"] = [e.as_dict() for e in ents]
        assert formats.jsonl(chunk, source) == json.dumps(obj, ensure_ascii=False) + "\n"
