"""nertag's scorer against seqeval (default, conlleval-compatible mode) on a real model's
output: in Python (scoring.evaluate) and through ``nertag evaluate --json``."""

from __future__ import annotations

import json
import warnings

import pytest

seqeval = pytest.importorskip("seqeval")
from seqeval.metrics import (classification_report, f1_score, precision_score,  # noqa: E402
                             recall_score)
from typer.testing import CliRunner  # noqa: E402

from nertag import modelio
from nertag.cli import app  # noqa: E402
from nertag.config import load_config  # noqa: E402
from nertag.text.conll import read_conll  # noqa: E402
from nertag.resources import sample_dev  # noqa: E402
from nertag.text.scoring import evaluate  # noqa: E402
from nertag.training.loop import train  # noqa: E402

EXACT = 1e-12


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "model"
    model, history = train(load_config("default", ["model.hidden=50", "train.epochs=2"]),
                           output=out)
    return model, history, out


@pytest.fixture(scope="module")
def dev():
    return read_conll(sample_dev())


def seqeval_scores(gold, pred):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = classification_report(gold, pred, output_dict=True, digits=12)
        return (precision_score(gold, pred), recall_score(gold, pred), f1_score(gold, pred),
                report)


def assert_matches_seqeval(ev, gold, pred):
    p, r, f, report = seqeval_scores(gold, pred)
    assert abs(ev.precision - p) < EXACT
    assert abs(ev.recall - r) < EXACT
    assert abs(ev.f1 - f) < EXACT
    types = {k for k in report if not k.endswith(" avg")}
    assert types == set(ev.per_type)
    for t in types:
        ts, rs = ev.per_type[t], report[t]
        assert abs(ts.precision - rs["precision"]) < EXACT, t
        assert abs(ts.recall - rs["recall"]) < EXACT, t
        assert abs(ts.f1 - rs["f1-score"]) < EXACT, t
        assert ts.support == rs["support"], t
    micro = report["micro avg"]
    assert abs(ev.f1 - micro["f1-score"]) < EXACT and ev.n_gold == micro["support"]


@pytest.mark.parametrize("decoder", ["constrained", "greedy"])
def test_evaluate_equals_seqeval_on_real_predictions(trained, dev, decoder):
    model, _, _ = trained
    gold = [s.tags for s in dev.sentences]
    pred, _ = model.predict([s.words for s in dev.sentences], decoder)
    ev = evaluate(gold, pred)
    # a real, imperfect model: some right, some wrong, several types
    assert 0.3 < ev.f1 < 1.0 and len(ev.per_type) >= 3
    assert 0 < ev.n_correct < min(ev.n_gold, ev.n_predicted)
    assert_matches_seqeval(ev, gold, pred)


def test_greedy_output_contains_ill_formed_bio_and_still_matches(trained, dev):
    """Greedy decoding produces O I-X starts; conlleval/seqeval count them as entities."""
    model, _, _ = trained
    gold = [s.tags for s in dev.sentences]
    pred, _ = model.predict([s.words for s in dev.sentences], "greedy")
    ill = sum(1 for s in pred for prev, t in zip(["O"] + s, s)
              if t.startswith("I-") and prev[2:] != t[2:])
    if ill == 0:
        pytest.skip("this model's greedy output happens to be well-formed")
    assert_matches_seqeval(evaluate(gold, pred), gold, pred)


def test_cli_evaluate_json_equals_seqeval(trained, dev):
    model, history, out = trained
    result = CliRunner().invoke(app, ["evaluate", str(out), str(sample_dev()), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    calibration = got.pop("calibration")  # (the entity scores' ECE: tests/cli/test_calibrate.py)
    assert calibration["calibrated"] is True and calibration["bins"] == 10
    gold = [s.tags for s in dev.sentences]
    pred, _ = modelio.load_model(out).predict([s.words for s in dev.sentences])
    p, r, f, report = seqeval_scores(gold, pred)
    assert abs(got["precision"] - p) < EXACT
    assert abs(got["recall"] - r) < EXACT
    assert abs(got["f1"] - f) < EXACT
    for t, ts in got["per_type"].items():
        assert abs(ts["f1"] - report[t]["f1-score"]) < EXACT
        assert abs(ts["precision"] - report[t]["precision"]) < EXACT
        assert abs(ts["recall"] - report[t]["recall"]) < EXACT
        assert ts["support"] == report[t]["support"]
    assert set(got["per_type"]) == {k for k in report if not k.endswith(" avg")}
    # and equal to the score recorded for the saved (best) epoch
    best = [rec for rec in history if rec["best"]][-1]
    assert got == json.loads(json.dumps(best["dev"]))
    assert got["n_sentences"] == len(dev.sentences) and got["n_tokens"] == dev.n_tokens


def test_cli_evaluate_greedy_decoder_equals_seqeval(trained, dev):
    _, _, out = trained
    result = CliRunner().invoke(app, ["evaluate", str(out), str(sample_dev()), "--json",
                                      "--decoder", "greedy"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    gold = [s.tags for s in dev.sentences]
    pred, _ = modelio.load_model(out).predict([s.words for s in dev.sentences], "greedy")
    p, r, f, _ = seqeval_scores(gold, pred)
    assert max(abs(got["precision"] - p), abs(got["recall"] - r), abs(got["f1"] - f)) < EXACT


# ------------------------------------------------------------------ data formats, rough edges
def test_evaluate_reads_every_format_to_the_same_scores(trained, tmp_path):
    from nertag.text.datasets import FORMATS, convert

    _, _, out = trained
    ref = CliRunner().invoke(app, ["evaluate", str(out), str(sample_dev()), "--json"])
    for fmt in FORMATS:
        data = tmp_path / f"dev.{fmt}"
        convert(sample_dev(), data, to=fmt)
        r = CliRunner().invoke(app, ["evaluate", str(out), str(data), "--json"])
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout) == json.loads(ref.stdout), fmt


def test_evaluate_on_a_file_without_sentences_is_an_error(small_model, tmp_path, cli,
                                                          expect_error):
    for name, content in (("docstart.conll", "-DOCSTART- -X- -X- O\n\n"),
                          ("empty-texts.jsonl", '{"text": "", "label": []}\n'),
                          ("blank.jsonl", '{"text": "  ", "spans": []}\n')):
        p = tmp_path / name
        p.write_text(content, encoding="utf-8")
        expect_error(cli("evaluate", small_model, p), 1, f"{p}: no sentences to score")
        expect_error(cli("evaluate", small_model, p, "--json"), 1, f"{p}: no sentences")


def test_gold_types_the_model_does_not_predict_are_named(small_model, tmp_path, cli):
    p = tmp_path / "stanford.tsv"
    p.write_text("Laura\tPERSON\nOkafor\tPERSON\nin\tO\nParis\tLOCATION\n\n"
                 "Bob\tPERSON\nin\tO\nOslo\tLOC\n\n", encoding="utf-8")
    r = cli("evaluate", small_model, p, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.strip() == (f"warning: {p} has entity types the model does not predict: "
                                f"PERSON (2), LOCATION (1); they count as missed (the model "
                                f"predicts LOC, MISC, ORG, PER)")
    assert json.loads(r.stdout)["n_gold"] == 4
    r = cli("evaluate", small_model, sample_dev())
    assert "warning" not in r.stderr
