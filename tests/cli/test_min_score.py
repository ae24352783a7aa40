"""``--min-score``: tag (every format, --tokenized, --jobs), the API (load(min_score=), a
call's min_score=) and serve (--min-score, a request's min_score) drop the model's
entities whose *calibrated* score is below it; their tokens become O."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from conftest import check_error
from nertag.errors import UsageError
from nertag.inference.calibration import model_calibration, use_calibration
from nertag.modelio import load_model
from nertag.tagging import chunks as tagging
from nertag.tagging import parallel

TEXT = ("EU rejects German call to boycott British lamb .\n\nPeter Blackburn visited "
        "Brussels on Monday .\n\nThe European Commission said on Thursday it disagreed "
        "with German advice to consumers to shun British lamb .\n\nGermany 's "
        "representative to the European Union 's veterinary committee Werner Zwingmann "
        "said on Wednesday consumers should buy sheepmeat from countries other than "
        "Britain .\n\nJapan beat Syria 2-1 in the Asian Cup in Al Ain on Friday .\n")


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def threshold(small_model):
    """A threshold that keeps other entities by calibrated score than by raw score (the
    entity whose calibration moves its score most straddles it)."""
    import nertag

    ents = nertag.load(small_model)(TEXT).ents
    uncalibrated = nertag.load(small_model)
    assert model_calibration(uncalibrated._model) is not None
    use_calibration(uncalibrated._model, None)
    raw = np.array([e.score for e in uncalibrated(TEXT).ents])
    score = np.array([e.score for e in ents])
    i = int(np.argmax(np.abs(raw - score)))
    x = round(float(raw[i] + score[i]) / 2, 6)
    kept = [e for e in ents if e.score >= x]
    assert 0 < len(kept) < len(ents)
    assert [e for e, r in zip(ents, raw) if r >= x] != kept  # raw scores would keep others
    return x, ents, kept


def test_tag_drops_entities_below_the_calibrated_score(cli, small_model, tmp_path, threshold):
    x, ents, kept = threshold
    src = tmp_path / "in.txt"
    src.write_text(TEXT, encoding="utf-8")
    full = _jsonl(cli("tag", "-m", small_model, src, "-f", "jsonl").stdout)
    r = cli("tag", "-m", small_model, src, "-f", "jsonl", "--min-score", x)
    assert r.exit_code == 0, r.output
    some = _jsonl(r.stdout)
    got = [e for s in some for e in s["entities"]]
    assert [(e["start"], e["end"], e["label"]) for e in got] == \
        [(e.start, e.end, e.label) for e in kept]
    assert all(e["score"] >= round(x, 4) for e in got)
    for a, b in zip(full, some):  # the dropped entities' tokens are O, the rest unchanged
        starts = {e["start"] for e in b["entities"]}
        for ta, tb in zip(a["tokens"], b["tokens"]):
            inside = any(e["start"] <= ta["start"] < e["end"] for e in b["entities"])
            assert tb["tag"] == (ta["tag"] if inside else "O"), (ta, tb, starts)
    conll = cli("tag", "-m", small_model, src, "-f", "conll", "--min-score", x).stdout
    assert sum(line.split()[-1].startswith("B-") for line in conll.splitlines() if line) == \
        len(kept)
    inline = cli("tag", "-m", small_model, src, "-f", "inline", "--min-score", x).stdout
    assert inline.count("</") == len(kept)


def test_tokenized_input_drops_them_too(cli, small_model, tmp_path, threshold):
    x, _, _ = threshold
    words = TEXT.split()
    conll = tmp_path / "in.conll"
    conll.write_text("".join(f"{w}\n\n" if w == "." else f"{w}\n" for w in words),
                     encoding="utf-8")
    full = cli("tag", "-m", small_model, "--tokenized", conll, "-f", "jsonl").stdout
    ents = [e for s in _jsonl(full) for e in s["entities"]]
    keep = [e for e in ents if e["score"] >= x]
    assert 0 < len(keep) < len(ents)
    r = cli("tag", "-m", small_model, "--tokenized", conll, "--min-score", x)
    tags = [line.split()[-1] for line in r.stdout.splitlines() if line]
    assert sum(t.startswith("B-") for t in tags) == len(keep)
    got = _jsonl(cli("tag", "-m", small_model, "--tokenized", conll, "-f", "jsonl",
                     "--min-score", x).stdout)
    assert [e["score"] for s in got for e in s["entities"]] == [e["score"] for e in keep]


def test_jobs_2_writes_what_one_process_writes(cli, small_model, tmp_path, monkeypatch,
                                               threshold):
    monkeypatch.setattr(tagging, "CHUNK_CHARS", 300)
    monkeypatch.setattr(tagging, "BATCH_CHARS", 1500)
    monkeypatch.setattr(parallel, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "RANGE_MIN_BYTES", 1000)
    src = tmp_path / "big.txt"
    src.write_text(TEXT * 20, encoding="utf-8")
    outs = []
    for jobs in ("1", "2"):
        outs.append(tmp_path / f"out{jobs}.jsonl")
        r = cli("tag", "-m", small_model, src, "-f", "jsonl", "-o", outs[-1], "--jobs", jobs,
                "--min-score", threshold[0])
        assert r.exit_code == 0, r.output
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert outs[0].read_text().count('"label"') == 20 * len(threshold[2])


@pytest.mark.parametrize("value,fragment", [
    ("1.5", "--min-score"), ("-0.1", "--min-score"), ("nan", "--min-score"),
    ("high", "--min-score")])
def test_bad_min_score_values(cli, small_model, tmp_path, value, fragment):
    src = tmp_path / "in.txt"
    src.write_text(TEXT, encoding="utf-8")
    check_error(cli("tag", "-m", small_model, src, "--min-score", value), 2, fragment)
    check_error(cli("serve", "-m", small_model, "--min-score", value, "--port", "0"), 2,
                fragment)


def test_min_score_is_not_for_dask(cli, small_model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text(TEXT, encoding="utf-8")
    check_error(cli("tag", "-m", small_model, src, "--engine", "dask", "--min-score", "0.5"),
                2, "--min-score is not available with --engine dask")


# ---------------------------------------------------------------------- the API
def test_api_min_score(small_model, threshold):
    import nertag

    x, ents, kept = threshold
    tagger = nertag.load(small_model, min_score=x)
    assert tagger.min_score == x and f"min_score={x!r}" in repr(tagger)
    assert tagger(TEXT).ents == kept
    assert tagger(TEXT, min_score=0).ents == ents  # a call's own wins
    assert nertag.load(small_model)(TEXT, min_score=x).ents == kept
    assert [d.ents for d in tagger.pipe([TEXT, TEXT])] == [kept, kept]
    assert [d.ents for d in tagger.pipe([TEXT], min_score=0.0)] == [ents]
    doc = tagger(TEXT)
    assert [t.tag for t in doc].count("O") > [t.tag for t in nertag.load(small_model)(TEXT)
                                              ].count("O")
    again = pickle.loads(pickle.dumps(tagger))
    assert again.min_score == x and again(TEXT).ents == kept


@pytest.mark.parametrize("bad", [1.5, -0.01, float("nan"), "0.5", True])
def test_api_bad_min_score(small_model, bad):
    import nertag

    with pytest.raises(UsageError, match="min_score: must be a number from 0 to 1"):
        nertag.load(small_model, min_score=bad)
    tagger = nertag.load(small_model)
    with pytest.raises(UsageError, match=r"tagger\(text\): min_score: must be a number"):
        tagger("Peter visited Paris.", min_score=bad)
    with pytest.raises(UsageError, match=r"tagger.pipe\(\): min_score: must be a number"):
        tagger.pipe(["Peter visited Paris."], min_score=bad)


def test_the_shared_model_is_not_changed_by_a_tagger(small_model, threshold):
    import nertag

    nertag.load(small_model, min_score=threshold[0])
    assert tagging.model_min_score(load_model(small_model)) is None
