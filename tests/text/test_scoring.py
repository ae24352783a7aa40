"""Tests for nertag.text.scoring: conlleval-compatible entity scoring, checked
against hand-computed values and against seqeval's default (conlleval) mode.
(get_entities, the chunk rules it scores with, is tested in test_tags.py.)"""

from __future__ import annotations

import json
import time
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nertag.errors import NertagError
from nertag.text.scoring import Evaluation, TypeScore, evaluate
from nertag.text.tags import get_entities

seqeval_metrics = pytest.importorskip("seqeval.metrics")
from seqeval.metrics.sequence_labeling import get_entities as seqeval_entities  # noqa: E402

# ------------------------------------------------------ hand-computed cases


def test_conlleval_style_example():
    gold = [
        ["B-PER", "I-PER", "O", "B-LOC", "O"],
        ["B-ORG", "I-ORG", "I-ORG", "O", "B-MISC"],
        ["O", "B-LOC", "B-LOC"],
    ]
    pred = [
        ["B-PER", "I-PER", "O", "B-ORG", "O"],  # PER ok, LOC typed as ORG
        ["B-ORG", "I-ORG", "O", "O", "I-MISC"],  # ORG too short, MISC ok (I- start)
        ["O", "B-LOC", "I-LOC"],  # two LOC merged into one
    ]
    ev = evaluate(gold, pred)
    # gold: PER, LOC, ORG, MISC, LOC, LOC = 6; pred: PER, ORG, ORG, MISC, LOC = 5
    assert (ev.n_gold, ev.n_predicted, ev.n_correct) == (6, 5, 2)
    assert ev.precision == pytest.approx(2 / 5, abs=1e-15)
    assert ev.recall == pytest.approx(2 / 6, abs=1e-15)
    p, r = 2 / 5, 1 / 3
    assert ev.f1 == pytest.approx(2 * p * r / (p + r), abs=1e-15)  # 4/11
    assert ev.f1 == pytest.approx(4 / 11, abs=1e-15)
    assert (ev.n_tokens, ev.n_sentences) == (13, 3)
    assert ev.token_accuracy == pytest.approx(9 / 13, abs=1e-15)
    assert list(ev.per_type) == ["LOC", "MISC", "ORG", "PER"]
    assert ev.per_type["LOC"] == TypeScore(0.0, 0.0, 0.0, support=3, predicted=1, correct=0)
    assert ev.per_type["MISC"] == TypeScore(1.0, 1.0, 1.0, support=1, predicted=1, correct=1)
    assert ev.per_type["ORG"] == TypeScore(0.0, 0.0, 0.0, support=1, predicted=2, correct=0)
    assert ev.per_type["PER"] == TypeScore(1.0, 1.0, 1.0, support=1, predicted=1, correct=1)


def test_type_only_in_predictions_gets_a_row():
    ev = evaluate([["B-PER", "O"]], [["B-PER", "B-ORG"]])
    assert ev.per_type["ORG"] == TypeScore(0.0, 0.0, 0.0, support=0, predicted=1, correct=0)
    assert ev.per_type["PER"].f1 == 1.0
    assert ev.precision == 0.5 and ev.recall == 1.0
    assert ev.f1 == pytest.approx(2 / 3, abs=1e-15)


def test_entities_never_span_sentences():
    # as one flat sequence this would be one PER chunk of length 2
    gold = [["B-PER"], ["I-PER"]]
    ev = evaluate(gold, [["B-PER"], ["B-PER"]])
    assert (ev.n_gold, ev.n_predicted, ev.n_correct) == (2, 2, 2)
    assert ev.f1 == 1.0
    assert ev.token_accuracy == 0.5


@pytest.mark.parametrize(
    "gold, pred, prf",
    [
        ([], [], (0.0, 0.0, 0.0)),
        ([[]], [[]], (0.0, 0.0, 0.0)),
        ([["O", "O"]], [["O", "O"]], (0.0, 0.0, 0.0)),  # nothing to find: 0, not 1
        ([["B-PER"]], [["O"]], (0.0, 0.0, 0.0)),  # nothing predicted
        ([["O"]], [["B-PER"]], (0.0, 0.0, 0.0)),  # nothing to find
        ([["B-PER"]], [["B-LOC"]], (0.0, 0.0, 0.0)),  # P + R = 0
        ([["B-PER", "I-PER"]], [["I-PER", "I-PER"]], (1.0, 1.0, 1.0)),
    ],
)
def test_zero_conventions(gold, pred, prf):
    ev = evaluate(gold, pred)
    assert (ev.precision, ev.recall, ev.f1) == prf
    for row in ev.per_type.values():
        assert 0.0 <= row.precision <= 1.0 and 0.0 <= row.f1 <= 1.0


def test_empty_input_token_accuracy_is_zero():
    ev = evaluate([], [])
    assert ev.token_accuracy == 0.0 and ev.n_tokens == 0 and ev.per_type == {}


def test_as_dict_is_json_serialisable():
    ev = evaluate([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "B-ORG"]])
    d = ev.as_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["per_type"]["PER"] == {
        "precision": 1.0, "recall": 1.0, "f1": 1.0,
        "support": 1, "predicted": 1, "correct": 1,
    }
    assert list(d["per_type"]) == ["LOC", "ORG", "PER"]
    assert set(d) == {
        "precision", "recall", "f1", "per_type", "token_accuracy", "n_tokens",
        "n_sentences", "n_gold", "n_predicted", "n_correct",
    }
    assert d["precision"] == 0.5 and d["n_sentences"] == 1
    assert isinstance(ev, Evaluation)


def test_mismatched_sentence_count():
    with pytest.raises(NertagError, match="2 gold sentences but 1 predicted") as exc:
        evaluate([["O"], ["O"]], [["O"]])
    assert exc.value.exit_code == 1


def test_mismatched_sentence_length_names_the_sentence():
    gold = [["O"], ["O", "B-PER"], ["O"]]
    pred = [["O"], ["O"], ["O"]]
    with pytest.raises(NertagError) as exc:
        evaluate(gold, pred)
    msg = str(exc.value)
    assert "sentence index 1" in msg
    assert "2 gold tags but 1 predicted tags" in msg


def test_accepts_tuples_and_generators_of_tags():
    ev = evaluate([("B-PER", "I-PER")], (tuple(["B-PER", "I-PER"]),))
    assert ev.f1 == 1.0


def test_speed_50k_tokens():
    sent_g = ["B-PER", "I-PER", "O", "O", "B-LOC", "O", "I-ORG", "I-ORG", "O", "O"]
    sent_p = ["B-PER", "O", "O", "B-MISC", "B-LOC", "O", "B-ORG", "I-ORG", "O", "O"]
    gold, pred = [sent_g] * 5000, [sent_p] * 5000
    t0 = time.perf_counter()
    ev = evaluate(gold, pred)
    assert time.perf_counter() - t0 < 2.0  # typically ~0.05 s
    assert ev.n_tokens == 50_000


# ------------------------------------------------------- against seqeval

TYPES = ["PER", "LOC", "MISC-X"]


@st.composite
def gold_and_pred(draw):
    """Random (often ill-formed) gold and predicted sentences of equal shape.

    Predictions are mostly gold with some tags replaced, so that there are
    plenty of exact matches as well as near-misses."""
    types = TYPES[: draw(st.integers(2, 3))]
    pool = ["O"] + [f"{p}-{t}" for t in types for p in draw(st.sampled_from(["BI", "BIES"]))]
    tag = st.sampled_from(pool)
    lengths = draw(st.lists(st.integers(0, 12), min_size=1, max_size=8))  # seqeval needs >= 1
    gold, pred = [], []
    for n in lengths:
        g = draw(st.lists(tag, min_size=n, max_size=n))
        noise = draw(st.lists(st.one_of(st.none(), tag), min_size=n, max_size=n))
        gold.append(g)
        pred.append([a if b is None else b for a, b in zip(g, noise)])
    return gold, pred


def _seqeval_scores(gold, pred):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UndefinedMetricWarning on 0/0
        p = seqeval_metrics.precision_score(gold, pred)
        r = seqeval_metrics.recall_score(gold, pred)
        f = seqeval_metrics.f1_score(gold, pred)
        report = seqeval_metrics.classification_report(gold, pred, output_dict=True)
    return p, r, f, report


@settings(max_examples=200, deadline=None)
@given(gold_and_pred())
def test_matches_seqeval(data):
    gold, pred = data
    ev = evaluate(gold, pred)
    p, r, f, report = _seqeval_scores(gold, pred)
    assert ev.precision == pytest.approx(p, abs=1e-12)
    assert ev.recall == pytest.approx(r, abs=1e-12)
    assert ev.f1 == pytest.approx(f, abs=1e-12)
    per_type_report = {k: v for k, v in report.items() if not k.endswith(" avg")}
    assert list(ev.per_type) == sorted(per_type_report)
    for type_, row in ev.per_type.items():
        ref = per_type_report[type_]
        assert row.precision == pytest.approx(ref["precision"], abs=1e-12)
        assert row.recall == pytest.approx(ref["recall"], abs=1e-12)
        assert row.f1 == pytest.approx(ref["f1-score"], abs=1e-12)
        assert row.support == ref["support"]
    micro = report["micro avg"]
    assert ev.n_gold == micro["support"]
    assert ev.f1 == pytest.approx(micro["f1-score"], abs=1e-12)
    for g, q in zip(gold, pred):
        for seq in (g, q):
            assert get_entities(seq) == [(t, s, e + 1) for t, s, e in seqeval_entities(seq)]
    if ev.n_gold == 0 or ev.n_predicted == 0:
        # seqeval's zero_division='warn' gives 0, which is conlleval's convention
        assert (ev.precision if ev.n_predicted == 0 else ev.recall) == 0.0
        assert ev.f1 == 0.0 == f


def test_seqeval_all_empty_cases_are_zero():
    """seqeval warns (and returns 0) where conlleval silently returns 0."""
    for gold, pred in (([["O"]], [["O"]]), ([["B-PER"]], [["O"]]), ([["O"]], [["S-LOC"]])):
        p, r, f, _ = _seqeval_scores(gold, pred)
        ev = evaluate(gold, pred)
        assert (ev.precision, ev.recall, ev.f1) == (p, r, f) == (0.0, 0.0, 0.0)
