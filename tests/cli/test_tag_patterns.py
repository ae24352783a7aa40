"""``nertag tag --patterns FILE --pattern-mode``: the source field, the merged entities in
every format, the same bytes from ``--jobs 2`` as from one process (byte ranges and
batches), ``--tokenized``, a model directory's own patterns.jsonl, and the errors (exit
2, the file's line, nothing written)."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import check_error
from nertag.tagging import chunks as tagging, parallel

PATTERNS = [{"label": "PRODUCT", "pattern": "iPhone 15", "id": "ip15"},
            {"label": "VERSION", "pattern": [{"lower": "python"}, {"shape": "d.dd"}]},
            {"label": "CITY", "pattern": "Paris"}]
TEXT = ("Angela Merkel bought an iPhone 15 in Paris .\n\nPython 3.12 came out in "
        "Berlin on Monday .\n\nNothing to see here .\n")


@pytest.fixture
def pfile(tmp_path):
    f = tmp_path / "patterns.jsonl"
    f.write_text("".join(json.dumps(p) + "\n" for p in PATTERNS), encoding="utf-8")
    return f


@pytest.fixture
def src(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text(TEXT, encoding="utf-8")
    return f


def entities(out: str) -> list[tuple]:
    return [(e["text"], e["label"], e.get("source"), e["score"], e.get("id"))
            for line in out.splitlines() for e in json.loads(line)["entities"]]


def test_sources_scores_and_ids_in_jsonl(cli, small_model, src, pfile):
    r = cli("tag", "-m", small_model, src, "-f", "jsonl", "--patterns", pfile,
            "--pattern-mode", "patterns")
    assert r.exit_code == 0, r.output
    assert entities(r.stdout) == [("iPhone 15", "PRODUCT", "pattern", 1.0, "ip15"),
                                  ("Paris", "CITY", "pattern", 1.0, None),
                                  ("Python 3.12", "VERSION", "pattern", 1.0, None)]
    plain = cli("tag", "-m", small_model, src, "-f", "jsonl").stdout
    assert all(e[2] is None for e in entities(plain))  # no patterns: no source key
    over = entities(cli("tag", "-m", small_model, src, "-f", "jsonl", "--patterns",
                        pfile).stdout)
    assert {e[0] for e in over if e[2] == "pattern"} == {"iPhone 15", "Paris", "Python 3.12"}
    # the model's entities that no match overlaps are the model's, with their scores
    plain_ents = {(e[0], e[3]) for e in entities(plain)}
    assert {(e[0], e[3]) for e in over if e[2] == "model"} <= plain_ents
    assert all(e[2] in ("model", "pattern") for e in over)


def test_conll_inline_and_html_show_the_merged_entities(cli, small_model, src, pfile):
    args = ("tag", "-m", small_model, src, "--patterns", pfile, "--pattern-mode", "patterns")
    conll = cli(*args, "-f", "conll").stdout.splitlines()
    assert conll[:9] == ["Angela\tO", "Merkel\tO", "bought\tO", "an\tO", "iPhone\tB-PRODUCT",
                         "15\tI-PRODUCT", "in\tO", "Paris\tB-CITY", ".\tO"]
    inline = cli(*args, "-f", "inline").stdout
    assert inline == TEXT.replace("iPhone 15", "<PRODUCT>iPhone 15</PRODUCT>").replace(
        "Paris", "<CITY>Paris</CITY>").replace("Python 3.12", "<VERSION>Python 3.12</VERSION>")
    html = cli(*args, "-f", "html").stdout
    assert '<mark data-label="CITY" title="CITY 1.00 (pattern)">Paris' in html
    assert '<mark data-label="PRODUCT">PRODUCT</mark>' in html  # in the legend


@pytest.mark.parametrize("split", [True, False], ids=["byte-ranges", "batches"])
def test_jobs_2_writes_what_one_process_writes(cli, small_model, tmp_path, pfile, monkeypatch,
                                               split):
    monkeypatch.setattr(tagging, "CHUNK_CHARS", 300)
    monkeypatch.setattr(tagging, "BATCH_CHARS", 1500)
    monkeypatch.setattr(parallel, "SPLIT_MIN_BYTES", 0 if split else 1 << 40)
    monkeypatch.setattr(parallel, "RANGE_MIN_BYTES", 1000)
    src = tmp_path / "big.txt"
    src.write_text(TEXT * 60, encoding="utf-8")
    outs = []
    for jobs in ("1", "2"):
        outs.append(tmp_path / f"out{jobs}.jsonl")
        r = cli("tag", "-m", small_model, src, "-f", "jsonl", "-o", outs[-1], "--jobs", jobs,
                "--patterns", pfile)
        assert r.exit_code == 0, r.output
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert outs[0].read_text().count('"source": "pattern"') == 180


def test_tokenized_tags_follow_the_merge(cli, small_model, tmp_path, pfile):
    conll = tmp_path / "in.conll"
    conll.write_text("I\nlove\nParis\n\nPython\n3.12\n", encoding="utf-8")
    r = cli("tag", "-m", small_model, "--tokenized", conll, "--patterns", pfile)
    assert r.stdout.splitlines() == ["I O", "love O", "Paris B-CITY", "", "Python B-VERSION",
                                     "3.12 I-VERSION", ""]


def test_a_model_directory_carries_its_patterns(cli, model_copy, src, pfile, tmp_path):
    from nertag.api import add_patterns

    add_patterns(model_copy, pfile)
    manifest = json.loads((model_copy / "manifest.json").read_text())
    assert "patterns.jsonl" in manifest
    own = cli("tag", "-m", model_copy, src, "-f", "jsonl").stdout
    assert ("Paris", "CITY", "pattern", 1.0, None) in entities(own)
    other = tmp_path / "other.jsonl"
    other.write_text('{"label": "DAY", "pattern": "Monday"}\n', encoding="utf-8")
    given = entities(cli("tag", "-m", model_copy, src, "-f", "jsonl", "--patterns", other,
                         "--pattern-mode", "patterns").stdout)
    assert given == [("Monday", "DAY", "pattern", 1.0, None)]  # --patterns replaces them


def test_an_unlisted_patterns_file_in_a_model_is_refused(cli, model_copy, src, pfile):
    shutil.copy(pfile, model_copy / "patterns.jsonl")
    check_error(cli("tag", "-m", model_copy, src), 1, "patterns.jsonl: not listed in "
                "manifest.json; add it with nertag.api.add_patterns")


def test_a_bad_line_exits_2_and_writes_nothing(cli, small_model, src, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"label": "A", "pattern": "a"}\n{"label": "B", "pattern": [{"regex": '
                   '"("}]}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    check_error(cli("tag", "-m", small_model, src, "-o", out, "--patterns", bad), 2,
                f"{bad}:2: token 1: bad regex '('", "(--patterns FILE)")
    assert not out.exists()


def test_usage_errors(cli, small_model, src, pfile):
    check_error(cli("tag", "-m", small_model, src, "--pattern-mode", "fill"), 2,
                "there are no patterns to merge")
    check_error(cli("tag", "-m", small_model, src, "--engine", "dask", "--patterns", pfile,
                    "-f", "jsonl"), 2, "--patterns and --pattern-mode are not available "
                "with --engine dask")
    r = cli("tag", "--help")
    assert "--pattern-mode" in r.stdout and "override|fill|patterns" in r.stdout
