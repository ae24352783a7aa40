"""nertag.text.error_analysis: exact classification of every entity and the confusion
counts, on hand-made sentences; counting invariants on random tag sequences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nertag.errors import NertagError
from nertag.text.error_analysis import (CORRECT, KINDS, MISSED, SPURIOUS, WRONG_BOTH,
                                        WRONG_BOUNDARY, WRONG_TYPE, Match, analyse, classify)
from nertag.text.scoring import evaluate
from nertag.text.tags import get_entities


def kinds(gold, pred):
    return [(m.kind, m.gold, m.pred) for m in classify(gold, pred)]


def test_correct_missed_spurious():
    assert kinds([("PER", 0, 2)], [("PER", 0, 2)]) == [(CORRECT, ("PER", 0, 2), ("PER", 0, 2))]
    assert kinds([("PER", 0, 2)], []) == [(MISSED, ("PER", 0, 2), None)]
    assert kinds([], [("LOC", 3, 4)]) == [(SPURIOUS, None, ("LOC", 3, 4))]
    # no overlap: a missed and a spurious, not a pair
    assert kinds([("PER", 0, 2)], [("PER", 2, 3)]) == [(MISSED, ("PER", 0, 2), None),
                                                       (SPURIOUS, None, ("PER", 2, 3))]


def test_wrong_type_same_span():
    assert kinds([("ORG", 1, 3)], [("LOC", 1, 3)]) == [(WRONG_TYPE, ("ORG", 1, 3), ("LOC", 1, 3))]


def test_wrong_boundary_same_type():
    assert kinds([("PER", 0, 2)], [("PER", 1, 2)]) == [
        (WRONG_BOUNDARY, ("PER", 0, 2), ("PER", 1, 2))]
    assert kinds([("PER", 1, 2)], [("PER", 0, 3)]) == [
        (WRONG_BOUNDARY, ("PER", 1, 2), ("PER", 0, 3))]


def test_other_type_and_other_boundaries_is_its_own_kind():
    assert kinds([("ORG", 0, 3)], [("LOC", 2, 4)]) == [
        (WRONG_BOTH, ("ORG", 0, 3), ("LOC", 2, 4))]


def test_a_prediction_over_two_gold_entities_pairs_with_the_larger_overlap():
    # gold: New York (LOC) | Yankees (ORG) ... predicted: New York Yankees (ORG)
    gold = [("LOC", 0, 2), ("ORG", 2, 3)]
    pred = [("ORG", 0, 3)]
    assert kinds(gold, pred) == [(WRONG_BOTH, ("LOC", 0, 2), ("ORG", 0, 3)),
                                 (MISSED, ("ORG", 2, 3), None)]
    # equal overlaps: the same type wins
    gold = [("LOC", 0, 1), ("ORG", 1, 2)]
    assert kinds(gold, [("ORG", 0, 2)]) == [(MISSED, ("LOC", 0, 1), None),
                                            (WRONG_BOUNDARY, ("ORG", 1, 2), ("ORG", 0, 2))]
    # equal overlaps, both other types: the earlier gold entity
    assert kinds(gold, [("PER", 0, 2)]) == [(WRONG_BOTH, ("LOC", 0, 1), ("PER", 0, 2)),
                                            (MISSED, ("ORG", 1, 2), None)]


def test_a_gold_entity_split_in_two_predictions():
    gold = [("ORG", 0, 4)]
    pred = [("ORG", 0, 1), ("ORG", 1, 4)]
    assert kinds(gold, pred) == [(SPURIOUS, None, ("ORG", 0, 1)),
                                 (WRONG_BOUNDARY, ("ORG", 0, 4), ("ORG", 1, 4))]


def test_correct_entities_are_never_paired_again():
    gold = [("PER", 0, 1), ("PER", 1, 3)]
    pred = [("PER", 0, 1), ("PER", 1, 2)]
    assert kinds(gold, pred) == [(CORRECT, ("PER", 0, 1), ("PER", 0, 1)),
                                 (WRONG_BOUNDARY, ("PER", 1, 3), ("PER", 1, 2))]


def test_analyse_counts_and_confusion():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"], ["O", "B-MISC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["O", "B-ORG", "O"], ["B-LOC", "O"]]
    a = analyse(gold, pred)
    assert a.correct == 1
    assert [(m.kind, m.sentence) for m in a.errors] == [
        (WRONG_TYPE, 0), (WRONG_BOUNDARY, 1), (SPURIOUS, 2), (MISSED, 2)]
    assert a.counts() == {MISSED: 1, SPURIOUS: 1, WRONG_TYPE: 1, WRONG_BOUNDARY: 1,
                          WRONG_BOTH: 0}
    assert dict(a.confusion) == {("PER", "PER"): 1, ("LOC", "ORG"): 1, ("ORG", "ORG"): 1,
                                 (None, "LOC"): 1, ("MISC", None): 1}
    assert a.types() == ["LOC", "MISC", "ORG", "PER"]
    d = a.as_dict()
    assert d["confusion"] == {"LOC": {"ORG": 1}, "MISC": {"none": 1}, "ORG": {"ORG": 1},
                              "PER": {"PER": 1}, "none": {"LOC": 1}}
    assert d["errors"][0] == {"kind": WRONG_TYPE, "sentence": 0, "gold": {"type": "LOC",
                              "start": 3, "end": 4}, "pred": {"type": "ORG", "start": 3, "end": 4}}


def test_analyse_reads_entities_as_the_scorer_does():
    # I-X after O starts an entity (conlleval); BIOES tags work too
    a = analyse([["O", "I-PER", "I-PER"]], [["O", "B-PER", "I-PER"]])
    assert a.correct == 1 and not a.errors
    a = analyse([["S-LOC", "B-PER", "E-PER"]], [["S-LOC", "S-PER", "O"]])
    assert a.correct == 1 and [m.kind for m in a.errors] == [WRONG_BOUNDARY]


def test_analyse_refuses_mismatched_input():
    with pytest.raises(NertagError, match="2 gold sentences but 1"):
        analyse([["O"], ["O"]], [["O"]])
    with pytest.raises(NertagError, match="sentence index 0 has 2 gold tags but 1"):
        analyse([["O", "O"]], [["O"]])


TAGS = st.sampled_from(["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 12).flatmap(
    lambda n: st.tuples(st.lists(TAGS, min_size=n, max_size=n),
                        st.lists(TAGS, min_size=n, max_size=n))), max_size=6))
def test_every_entity_is_counted_once(pairs):
    gold = [g for g, _ in pairs]
    pred = [p for _, p in pairs]
    a = analyse(gold, pred)
    ev = evaluate(gold, pred)
    paired = sum(1 for m in a.errors if m.gold is not None and m.pred is not None)
    counts = a.counts()
    assert a.correct == ev.n_correct
    assert a.correct + paired + counts[MISSED] == ev.n_gold
    assert a.correct + paired + counts[SPURIOUS] == ev.n_predicted
    assert sum(a.confusion.values()) == a.correct + len(a.errors)
    for m in a.errors:
        assert m.kind in KINDS
        if m.gold is not None and m.pred is not None:  # a pair overlaps, and is not equal
            assert min(m.gold[2], m.pred[2]) > max(m.gold[1], m.pred[1]) and m.gold != m.pred
    # unpaired leftovers never overlap each other
    for k in range(len(gold)):
        missed = [m.gold for m in a.errors if m.sentence == k and m.kind == MISSED]
        spurious = [m.pred for m in a.errors if m.sentence == k and m.kind == SPURIOUS]
        assert not any(min(g[2], p[2]) > max(g[1], p[1]) for g in missed for p in spurious)
        assert len(get_entities(gold[k])) >= len(missed)


def test_match_span():
    m = Match(WRONG_BOUNDARY, ("PER", 2, 4), ("PER", 1, 3))
    assert (m.start, m.end) == (1, 4)


def test_error_lines_are_the_lines_of_the_entities_first_tokens():
    from nertag.text.error_analysis import error_lines

    gold = [["O", "B-PER", "I-PER", "O"], ["B-LOC", "O"]]
    pred = [["O", "O", "B-PER", "O"], ["O", "B-ORG"]]
    analysis = analyse(gold, pred)
    assert [(m.kind, m.sentence, m.start) for m in analysis.errors] == [
        ("wrong boundary", 0, 1), ("missed", 1, 0), ("spurious", 1, 1)]
    assert list(error_lines(analysis, [3, 9], per_token=True).values()) == [4, 9, 10]
    assert list(error_lines(analysis, [3, 9], per_token=False).values()) == [3, 9, 9]
