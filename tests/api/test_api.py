"""The Python API (nertag.load / Tagger / Doc / train / evaluate): the same results as
the commands, exact offsets, pickling, errors that fit Python, a light ``import
nertag``. The examples of the README and docs/python.md run in tests/test_readme.py."""

from __future__ import annotations

import ast
import itertools
import json
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nertag
from nertag import api
from nertag.api import tagger as api_tagger
from nertag.errors import NertagError
from nertag.resources import sample_dev

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "example.txt"
SENTENCE = ("Laura Okafor, chief executive of Northwind Holdings Inc., flew from Chicago to "
            "Geneva on Monday.")
NON_ASCII = ("Angela Merkel met François Hollande in Köln 😀 and Zürich.\r\n"
             "Łódź is in Poland.")


@pytest.fixture(scope="module")
def tagger():
    return nertag.load()


@pytest.fixture
def fresh():
    """A Tagger that has tagged nothing yet, as the model of one ``nertag tag`` command.

    A score's last float32 bits depend on the batch a token is scored in and on the
    batch in which its word type was first seen (the word-type cache), so a Tagger
    gives the command's bytes exactly when both tag the same text from the same start;
    tags never depend on it."""
    return nertag.load()


def cli_lines(cli, *args, input=None) -> list[dict]:
    r = cli("tag", *args, input=input)
    assert r.exit_code == 0, r.output
    return [json.loads(line) for line in r.stdout.splitlines()]


def ents(doc) -> list[tuple]:
    return [(e.text, e.label, e.start, e.end, round(e.score, 4)) for e in doc.ents]


def assert_same(a, b) -> None:
    """Docs equal in everything, scores to float32 rounding (see :func:`fresh`)."""
    assert (a.text, a.tokens, [(s.start, s.end) for s in a.sentences]) == \
        (b.text, b.tokens, [(s.start, s.end) for s in b.sentences])
    assert [(e.text, e.label, e.start, e.end) for e in a.ents] == \
        [(e.text, e.label, e.start, e.end) for e in b.ents]
    assert [e.score for e in a.ents] == pytest.approx([e.score for e in b.ents], abs=1e-6)


# ---------------------------------------------------------------------- tagging
def test_entities_of_a_known_sentence(fresh, cli):
    doc = fresh(SENTENCE)
    assert ents(doc) == [("Laura Okafor", "PER", 0, 12, 0.9779),  # calibrated scores
                         ("Northwind Holdings Inc.", "ORG", 33, 56, 0.9755),
                         ("Chicago", "LOC", 68, 75, 0.9894), ("Geneva", "LOC", 79, 85, 0.9755)]
    (line,) = cli_lines(cli, "-", "-f", "jsonl", input=SENTENCE)
    assert [(e["text"], e["label"], e["start"], e["end"], e["score"])
            for e in line["entities"]] == ents(doc)
    assert [(t["text"], t["start"], t["end"], t["tag"]) for t in line["tokens"]] == doc.tokens
    assert doc.text == SENTENCE and len(doc) == 18
    assert repr(doc) == ("<Doc 'Laura Okafor, chief executive of Northwind Holdings Inc., f…' "
                         "(1 sentence, 18 tokens, 4 entities)>")
    (s,) = doc.sentences
    assert (s.start, s.end, s.text, s.tokens, s.ents) == (0, 96, SENTENCE, doc.tokens, doc.ents)
    assert repr(s).startswith("<Span 0:96 'Laura Okafor,")


@pytest.mark.parametrize("text", [EXAMPLE.read_text(encoding="utf-8"), NON_ASCII, "",
                                  " \n\n\t"])
def test_to_json_is_the_cli_per_document_object(text, fresh, cli, tmp_path):
    f = tmp_path / "in.txt"
    f.write_bytes(text.encode("utf-8"))
    r = cli("tag", f, "-f", "jsonl", "--per", "document") if text else \
        cli("tag", "-", "-f", "jsonl", "--per", "document", input="")
    assert r.exit_code == 0, r.output
    want = json.loads(r.stdout)
    doc = fresh(text)
    assert doc.to_json(source=want["source"]) == want
    assert list(want)[0] == "source"
    del want["source"]
    assert doc.to_json() == want


def test_offsets_of_non_ascii_text(tagger):
    doc = tagger(NON_ASCII)
    assert [(e.text, e.label) for e in doc.ents] == [
        ("Angela Merkel", "PER"), ("François Hollande", "PER"), ("Köln", "ORG"),
        ("Zürich", "LOC"), ("Łódź", "LOC"), ("Poland", "LOC")]
    assert all(NON_ASCII[e.start:e.end] == e.text for e in doc.ents)
    assert all(NON_ASCII[t.start:t.end] == t.text for t in doc.tokens)
    assert all(NON_ASCII[s.start:s.end] == s.text for s in doc.sentences)
    assert len(doc.sentences) == 2 and doc.sentences[1].text == "Łódź is in Poland."


@pytest.mark.parametrize("text", ["", "   ", "\n\n \r\n\t"])
def test_empty_and_blank_texts(text, tagger):
    doc = tagger(text)
    assert (doc.text, doc.ents, doc.tokens, doc.sentences, len(doc)) == (text, [], [], [], 0)
    assert doc.to_json() == {"text": text, "start": 0, "sentences": [], "tokens": [],
                             "entities": []}


def test_pipe_keeps_order_and_equals_one_call_per_text(tagger):
    texts = [SENTENCE, "", NON_ASCII, "  ", "Paris.", EXAMPLE.read_text(encoding="utf-8")]
    one_by_one = [tagger(t) for t in texts]
    for size in (1, 2, 4, 1000):
        docs = list(tagger.pipe(texts, batch_size=size))
        assert [d.text for d in docs] == texts
        for a, b in zip(docs, one_by_one):
            assert_same(a, b)
    assert list(tagger.pipe(texts[:1])) == [one_by_one[0]]  # all seen: the same bits


def test_pipe_is_lazy(tagger):
    endless = (f"Text {i} from Geneva." for i in itertools.count())
    docs = list(itertools.islice(tagger.pipe(endless, batch_size=2), 3))
    assert [d.text for d in docs] == [f"Text {i} from Geneva." for i in range(3)]


def test_pipe_over_paragraphs_tags_as_the_cli_does_over_the_file(tagger, cli):
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = cli_lines(cli, EXAMPLE, "-f", "jsonl")
    want = [(e["text"], e["label"], e["start"], e["end"], e["score"])
            for line in lines for e in line["entities"]]
    got, offset = [], 0
    for para, doc in zip(text.split("\n\n"), tagger.pipe(text.split("\n\n"), batch_size=2)):
        got += [(t, lab, a + offset, b + offset, sc) for t, lab, a, b, sc in ents(doc)]
        offset += len(para) + 2
    assert [g[:4] for g in got] == [w[:4] for w in want] and len(got) > 30
    assert [g[4] for g in got] == pytest.approx([w[4] for w in want], abs=1.01e-4)


def test_decoder_on_load_or_call_as_the_cli(tagger, cli):
    text = "Kiptoo, who trains with the Nairobi Athletics Club, said he hadn't planned to attack."
    (line,) = cli_lines(cli, "-", "-f", "jsonl", "--decoder", "greedy", input=text)
    greedy = [(e["text"], e["label"], e["start"], e["end"], e["score"])
              for e in line["entities"]]
    assert [e[:2] for e in greedy] == [("Kiptoo", "PER"), ("Nairobi", "ORG"), ("Athletics", "LOC"),
                                       ("Club", "ORG")]
    assert ents(nertag.load(decoder="greedy")(text)) == greedy  # a fresh model: exact
    assert [e[:4] for e in ents(tagger(text, decoder="greedy"))] == [e[:4] for e in greedy]
    assert ents(list(tagger.pipe([text], decoder="greedy"))[0]) == \
        ents(tagger(text, decoder="greedy"))
    assert [e.text for e in tagger(text).ents] == ["Kiptoo", "Nairobi Athletics Club"]
    assert tagger.decoder == "viterbi"  # the shipped model's own, unchanged by the calls


HEADLINES = "Obama visits Paris\nMerkel meets Macron\nApple hires Tim Cook\n"


def test_sentences_option_as_the_cli(tagger, cli):
    """``sentences=`` as ``nertag tag --sentences``: the issue's headlines are three
    sentences by default (auto) and in line mode, no entity over a line break; blank
    mode is one sentence; the same sentences and entities as the command."""
    for mode, n in ((None, 3), ("auto", 3), ("line", 3), ("blank", 1)):
        kw = {"sentences": mode} if mode else {}
        doc = tagger(HEADLINES, **kw)
        assert [s.text for s in doc.sentences] == (
            ["Obama visits Paris", "Merkel meets Macron", "Apple hires Tim Cook"] if n == 3
            else [HEADLINES.rstrip("\n")])
        if n == 3:
            assert all("\n" not in e.text for e in doc.ents)
        lines = cli_lines(cli, "-", "-f", "jsonl", *(["--sentences", mode] if mode else []),
                          input=HEADLINES)
        assert [line["text"] for line in lines] == [s.text for s in doc.sentences]
        assert [(e["text"], e["label"], e["start"], e["end"]) for line in lines
                for e in line["entities"]] == [e[:4] for e in ents(doc)]
        (piped,) = tagger.pipe([HEADLINES], **kw)
        assert piped == doc
    # a paragraph wrapped at 72 columns: one sentence per sentence in auto and blank mode
    para = EXAMPLE.read_text(encoding="utf-8").split("\n\n")[0]
    wrapped = "\n".join(textwrap.wrap(para, 72))
    for mode in ("auto", "blank"):
        got = tagger(wrapped, sentences=mode).ents
        assert [(e.text.replace("\n", " "), e.label) for e in got] == \
            [(e.text, e.label) for e in tagger(para).ents]
    assert len(tagger(wrapped, sentences="line").sentences) > len(tagger(para).sentences)
    with pytest.raises(NertagError, match=r"tagger\(text\): sentences: unknown sentence mode "
                                          r"'lines'; use one of blank, line, auto"):
        tagger(HEADLINES, sentences="lines")
    with pytest.raises(NertagError, match=r"tagger.pipe\(\): sentences: unknown sentence"):
        tagger.pipe([HEADLINES], sentences="para")


def test_tagger_pickles_small_and_reloads(tagger, fresh, monkeypatch):
    monkeypatch.setattr(api_tagger, "_unpickled", {})  # no model kept from an earlier unpickling
    data = pickle.dumps(tagger)
    assert len(data) < 1000
    again = pickle.loads(data)
    assert again is not tagger and (again.path, again.decoder) == (tagger.path, tagger.decoder)
    assert again._model is not tagger._model
    assert again(NON_ASCII) == fresh(NON_ASCII)  # reloaded: as fresh as a new load
    greedy = pickle.loads(pickle.dumps(nertag.load(decoder="greedy")))
    assert greedy.decoder == "greedy"


def test_tagger_unpickled_in_another_process(tagger, fresh):
    code = ("import json, pickle, sys; t = pickle.loads(sys.stdin.buffer.read()); "
            "print(json.dumps(t(sys.argv[1]).to_json()))")
    r = subprocess.run([sys.executable, "-c", code, NON_ASCII], input=pickle.dumps(tagger),
                       capture_output=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads(r.stdout) == fresh(NON_ASCII).to_json()


def test_unpickling_refuses_a_changed_model(model_copy):
    data = pickle.dumps(nertag.load(model_copy))
    manifest = model_copy / "manifest.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text())), encoding="utf-8")
    with pytest.raises(NertagError, match="changed since the Tagger was pickled"):
        pickle.loads(data)


# ---------------------------------------------------------------------- train, evaluate
def _scores(out: str) -> dict:
    """``evaluate --json`` without the entity scores' calibration error (not a score of
    :func:`nertag.evaluate`)."""
    obj = json.loads(out)
    assert set(obj.pop("calibration")) == {"ece", "bins", "entities", "calibrated"}
    return obj


def test_evaluate_equals_the_cli_json(small_model, tagger, cli):
    for args, kwargs in [((), {}), (("--decoder", "greedy"), {"decoder": "greedy"})]:
        r = cli("evaluate", small_model, sample_dev(), "--json", *args)
        assert r.exit_code == 0, r.output
        assert nertag.evaluate(small_model, sample_dev(), **kwargs).as_dict() == \
            _scores(r.stdout)
    r = cli("evaluate", "models/default", sample_dev(), "--json")
    ev = nertag.evaluate(tagger, str(sample_dev()))
    assert ev.as_dict() == _scores(r.stdout)
    assert set(ev.per_type) == {"LOC", "MISC", "ORG", "PER"} and 0.5 < ev.f1 <= 1


def test_train_returns_the_model_directory(tmp_path):
    events = []
    out = nertag.train(overrides={"train.epochs": 1, "model.hidden": 20},
                       output=tmp_path / "a", callback=lambda e, info: events.append(e))
    assert out == tmp_path / "a" and (out / "manifest.json").is_file()
    assert events[0] == "start" and events[-1] == "end" and "epoch" in events
    same = nertag.train(None, ["train.epochs=1", "model.hidden=20"], str(tmp_path / "b"))
    other = nertag.train(overrides={"train.epochs": 1, "model.hidden": 20},
                         output=tmp_path / "c", seed=7)
    weights = {d: np.load(d / "weights.npz") for d in (out, same, other)}
    assert all(np.array_equal(weights[out][k], weights[same][k]) for k in weights[out].files)
    assert not np.array_equal(weights[out]["W"], weights[other]["W"])
    assert nertag.load(out).labels == ["LOC", "MISC", "ORG", "PER"]
    cfg = (other / "config.yaml").read_text(encoding="utf-8")
    assert "seed: 7" in cfg and "hidden: 20" in cfg
    again = nertag.train(overrides={"train.epochs": 1, "model.hidden": 20}, output=out,
                         force=True)
    assert again == out


# ---------------------------------------------------------------------- errors
def no_cli_flags(message: str) -> str:
    assert not re.search(r"(^|\s)--\w", message), message
    return message


def test_missing_model_directory(tmp_path):
    missing = tmp_path / "nomodel"
    with pytest.raises(NertagError) as e:
        nertag.load(missing)
    assert no_cli_flags(str(e.value)) == (
        f"{missing}: model directory not found; give the path of a trained model directory")
    with pytest.raises(NertagError, match="not a directory") as e:
        nertag.load(EXAMPLE)
    no_cli_flags(str(e.value))
    with pytest.raises(NertagError, match=f"{re.escape(str(missing))}: model directory not "
                                          f"found") as e:
        nertag.evaluate(missing, sample_dev())
    no_cli_flags(str(e.value))


@pytest.mark.parametrize("call,fragment", [
    (lambda t: nertag.load(decoder="beam"), "unknown decoder 'beam'"),
    (lambda t: t("x", decoder="beam"), "unknown decoder 'beam'"),
    (lambda t: t.pipe(["x"], batch_size=0), "batch_size must be an integer >= 1"),
    (lambda t: nertag.evaluate(t, sample_dev(), encoding="klingon"), "unknown encoding"),
    (lambda t: nertag.evaluate(t, "no/such.conll"), "no/such.conll: data file not found"),
    (lambda t: nertag.train(overrides={"train.epoch": 1}),
     "unknown key 'train.epoch'; did you mean 'train.epochs'?"),
    (lambda t: nertag.train(overrides={"train.epochs": "many"}),
     "'train.epochs' must be an integer, got 'many'"),
    (lambda t: nertag.train(overrides=["epochs=3"]), "expected 'SECTION.KEY=VALUE'"),
    (lambda t: nertag.train(overrides={"epochs": 3}), "expected SECTION.KEY"),
    (lambda t: nertag.train(config="conll2004"), "did you mean 'conll2003'?"),
])
def test_errors_fit_python(call, fragment, tagger):
    with pytest.raises(NertagError) as e:
        call(tagger)
    assert fragment in no_cli_flags(str(e.value))


def test_training_into_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(NertagError) as e:
        nertag.train(overrides={"train.epochs": 1}, output=tmp_path)
    assert no_cli_flags(str(e.value)) == (f"{tmp_path}: directory exists and is not empty; "
                                          f"choose another output directory, or replace it")
    assert (tmp_path / "keep.txt").exists()


def test_wrong_types_are_type_errors(tagger):
    with pytest.raises(TypeError, match="a text must be a str, got bytes"):
        tagger(b"Paris")
    with pytest.raises(TypeError, match="not one str"):
        tagger.pipe("Paris")
    with pytest.raises(TypeError, match="a text must be a str, got int"):
        list(tagger.pipe(["Paris", 3]))


# ---------------------------------------------------------------------- the package
def test_import_nertag_is_light_and_exposes_the_api():
    code = ("import sys, nertag; heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numpy', 'yaml', 'typer', 'rich') or m in ('nertag.api', 'nertag.cli')); "
            "print(heavy)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=60)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
    from nertag import errors, version

    assert set(nertag.__all__) == {"load", "Tagger", "Doc", "train", "evaluate", "NertagError",
                                   "__version__"}
    assert set(nertag.__all__) <= set(dir(nertag))
    assert nertag.__version__ == version.__version__
    assert nertag.NertagError is errors.NertagError
    assert (nertag.load, nertag.Tagger, nertag.Doc, nertag.train, nertag.evaluate) == \
        (api.load, api.Tagger, api.Doc, api.train, api.evaluate)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nertag.nope  # noqa: B018


def test_api_imports_neither_the_package_root_nor_the_cli():
    names = []
    for path in (ROOT / "nertag" / "api").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert "nertag" not in names
    assert not [n for n in names if n and n.startswith("nertag.cli")]


def test_a_doc_is_the_sequence_of_its_tokens(tagger):
    doc = tagger("Laura Okafor flew to Geneva. She met Acme Corp.")
    tokens = doc.tokens
    assert list(doc) == tokens and len(doc) == len(tokens) == 11
    assert doc[0] == tokens[0] == ("Laura", 0, 5, "B-PER") and doc[-1] == tokens[-1]
    assert doc[1:3] == tokens[1:3] and [t.text for t in doc[1:3]] == ["Okafor", "flew"]
    assert doc[0] in doc and list(reversed(doc)) == tokens[::-1]
    with pytest.raises(IndexError):
        doc[11]
    doc.tokens.append(None)  # a copy: the Doc does not change
    assert len(list(doc)) == 11


def test_doc_sents_are_its_sentence_spans_and_reprs_count_right(tagger):
    doc = tagger("Laura Okafor flew to Geneva. She met Acme Corp.")
    assert [s.text for s in doc.sents] == ["Laura Okafor flew to Geneva.", "She met Acme Corp."]
    assert [(s.start, s.end) for s in doc.sents] == [(s.start, s.end) for s in doc.sentences]
    assert repr(doc.sents[1]) == "<Span 29:47 'She met Acme Corp.' (5 tokens, 1 entity)>"
    assert repr(tagger("Paris")) == "<Doc 'Paris' (1 sentence, 1 token, 1 entity)>"
    assert repr(tagger("")) == "<Doc '' (0 sentences, 0 tokens, 0 entities)>"


def test_load_takes_default_and_refuses_an_empty_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert nertag.load("default").path == nertag.load().path
    with pytest.raises(NertagError, match="the model directory is an empty path"):
        nertag.load("")
    with pytest.raises(NertagError, match="the model directory is an empty path"):
        nertag.evaluate("", sample_dev())
