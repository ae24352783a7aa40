"""Entity-score calibration (nertag/inference/calibration.py): the ECE, the reliability
table, the entity outcomes, pool-adjacent-violators and the stored map, against values
worked out by hand; monotone and bounded for any data (hypothesis)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nertag.errors import NertagError
from nertag.inference import calibration as C

# five entities: bin 0 (0.05, right), bin 1 (0.15 wrong, 0.15 right), bin 9 (0.95 right,
# 1.0 wrong: a score of 1 is in the last bin)
SCORES = [0.05, 0.15, 0.15, 0.95, 1.0]
CORRECT = [True, False, True, True, False]


def test_ece_by_hand():
    # 1/5 |1 - 0.05| + 2/5 |0.5 - 0.15| + 2/5 |0.5 - 0.975| = 0.19 + 0.14 + 0.19
    assert C.ece(SCORES, CORRECT) == pytest.approx(0.52, abs=1e-12)
    assert C.ece([], []) == 0.0
    assert C.ece([0.3, 0.35], [False, True]) == pytest.approx(abs(0.5 - 0.325), abs=1e-12)


def test_reliability_table_by_hand():
    table = C.reliability(SCORES, CORRECT)
    assert len(table) == 10 and [r.count for r in table] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert (table[0].low, table[0].high, table[9].low, table[9].high) == (0.0, 0.1, 0.9, 1.0)
    assert table[1].mean_score == pytest.approx(0.15) and table[1].accuracy == 0.5
    assert table[9].mean_score == pytest.approx(0.975) and table[9].accuracy == 0.5
    assert np.isnan(table[4].mean_score) and np.isnan(table[4].accuracy)
    assert C.table_ece(table) == pytest.approx(0.52, abs=1e-12)


def test_entity_outcomes_match_type_and_both_ends():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG"]]
    conf = [np.array([0.9, 0.7, 1.0, 0.6], np.float32), np.array([0.5, 0.25], np.float32)]
    scores, correct = C.entity_outcomes(gold, pred, conf)
    # PER 0:2 right (mean 0.8), ORG 3:4 wrong type, ORG 0:2 wrong end (gold 0:1)
    np.testing.assert_allclose(scores, [0.8, 0.6, 0.375], rtol=1e-7)
    assert correct.tolist() == [True, False, False]


def test_pool_adjacent_violators_by_hand():
    np.testing.assert_allclose(C.isotonic([1, 0, 0, 1]), [1 / 3, 1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(C.isotonic([0.2, 0.1, 0.5]), [0.15, 0.15, 0.5])
    np.testing.assert_allclose(C.isotonic([1, 0], [3, 1]), [0.75, 0.75])  # weighted
    assert C.isotonic([0, 0.5, 1]).tolist() == [0, 0.5, 1]  # already increasing


def test_fit_keeps_each_pools_ends_as_knots():
    cal = C.fit([0.2, 0.4, 0.6, 0.8], [True, False, False, True])
    # the fit is 1/3, 1/3, 1/3, 1: knots at the first pool's ends and the last point
    np.testing.assert_allclose(cal.x, [0.2, 0.6, 0.8])
    np.testing.assert_allclose(cal.y, [1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(cal([0.1, 0.5, 0.7, 0.9]), [1 / 3, 1 / 3, 2 / 3, 1])
    assert cal.info["entities"] == 4
    assert cal.info["ece_before"] == pytest.approx(C.ece([0.2, 0.4, 0.6, 0.8],
                                                        [True, False, False, True]))
    assert cal.info["ece_after"] == pytest.approx(0.0, abs=1e-12)


def test_equal_scores_are_pooled_first():
    cal = C.fit([0.5, 0.5, 0.5], [True, False, True])
    assert cal.x.tolist() == [0.5] and cal.y == pytest.approx([2 / 3])
    assert cal([0.0, 1.0]).tolist() == pytest.approx([2 / 3, 2 / 3])


def test_fit_without_entities_is_an_error():
    with pytest.raises(NertagError, match="no predicted entities"):
        C.fit([], [])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=80),
       st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_the_map_is_monotone_bounded_and_calibrates_its_own_data(pairs, probe):
    scores = np.array([s for s, _ in pairs])
    correct = np.array([c for _, c in pairs])
    cal = C.fit(scores, correct)
    assert np.all(np.diff(cal.x) > 0) and np.all(np.diff(cal.y) >= 0)
    assert cal.y.min() >= 0 and cal.y.max() <= 1
    out = cal(np.sort(probe))
    assert np.all(np.diff(out) >= 0) and out.min() >= 0 and out.max() <= 1
    # each pool of the fit lands in one bin with its accuracy as score: ECE 0 in-sample
    assert C.ece(cal(scores), correct) < 1e-9
    again = C.calibration_from_json(cal.to_json(), "calibration.json")
    assert np.array_equal(again.x, cal.x) and np.array_equal(again.y, cal.y)


def test_stored_calibration_round_trip(tmp_path):
    cal = C.fit([0.2, 0.4, 0.6, 0.8], [True, False, False, True])
    cal.info["data"] = "dev.txt"
    path = tmp_path / C.CALIBRATION_FILE
    path.write_text(cal.to_json(), encoding="utf-8")
    back = C.read_calibration(path)
    assert back.x.tolist() == cal.x.tolist() and back.y.tolist() == cal.y.tolist()
    assert back.info == cal.info and json.loads(path.read_text())["method"] == "isotonic"


@pytest.mark.parametrize("content,fragment", [
    ("{", "corrupted (not valid JSON)"),
    ("[]", "not a JSON object"),
    ('{"method": "platt", "x": [0.5], "y": [0.5]}', "not an isotonic calibration"),
    ('{"method": "isotonic", "x": [], "y": []}', "'x' must be a non-empty list of numbers"),
    ('{"method": "isotonic", "x": [0.5], "y": [1.5]}', "'y' must be a non-empty list"),
    ('{"method": "isotonic", "x": [0.5, 0.4], "y": [0.1, 0.2]}', "'x' must increase"),
    ('{"method": "isotonic", "x": [0.4, 0.5], "y": [0.2, 0.1]}', "'y' must not decrease"),
    ('{"method": "isotonic", "x": [0.4, 0.5], "y": [0.2]}', "with as many"),
])
def test_a_damaged_calibration_file_is_named(tmp_path, content, fragment):
    path = tmp_path / C.CALIBRATION_FILE
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NertagError) as e:
        C.read_calibration(path)
    assert str(path) in e.value.message and fragment in e.value.message
    assert "nertag calibrate" in e.value.message
