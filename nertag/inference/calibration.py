"""Calibrated entity scores: the expected calibration error (ECE) of a model's entity
scores, a reliability table, and the map that makes a raw score mean what it says.

An entity's raw score is the mean probability of its tokens' chosen tags
(:mod:`nertag.tagging.chunks`); a predicted entity is *correct* if the gold data has an
identical entity (same type, first and last token).  Over N predicted entities in 10
equal-width bins of score over [0, 1] (a score of exactly 1 in the last bin),

    ECE = sum over bins b of  n_b / N * |accuracy_b - mean score_b|.

The map is **isotonic regression** (pool-adjacent-violators, :func:`isotonic`) of
correct (0/1) on raw score, stored as increasing knots ``x`` (raw scores) and ``y``
(calibrated scores) and applied with ``np.interp`` (flat beyond the end knots).  Not
temperature scaling: a raw score is a mean of token probabilities, not one softmax,
so a temperature would have to re-decode every token's distribution, and one
parameter cannot fix a reliability curve that is not a power law; isotonic
regression needs only the (score, correct) pairs, keeps the order of the scores
(ranking, and so precision at any threshold, is unchanged) and fits any monotone
curve.  The map is stored in a model directory as ``calibration.json``
(:data:`CALIBRATION_FILE`, read by :func:`read_calibration`) and applied wherever
entities are made.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from nertag.errors import NertagError
from nertag.text.tags import get_entities

#: The file of a model directory that holds its calibration (optional).
CALIBRATION_FILE = "calibration.json"
#: Bins of the ECE and the reliability table.
BINS = 10
#: The attribute of a loaded model that holds its :class:`Calibration` (None: none).
CALIBRATION_ATTR = "score_calibration"


def _bin_of(scores: np.ndarray, bins: int) -> np.ndarray:
    """The bin (0..bins-1) of each score in [0, 1]: equal widths, 1.0 in the last."""
    return np.clip(np.floor(scores * bins).astype(np.int64), 0, bins - 1)


class Bin(NamedTuple):
    """One row of a reliability table: scores in ``[low, high)`` (the last: ``[low, 1]``)."""

    low: float
    high: float
    count: int
    mean_score: float      # nan if the bin is empty
    accuracy: float        # fraction of its entities that are correct (nan if empty)


def reliability(scores, correct, bins: int = BINS) -> list[Bin]:
    """The reliability table of entity ``scores`` (E,) in [0, 1] and whether each entity
    is ``correct`` (E,): count, mean score and accuracy per bin."""
    s = np.asarray(scores, np.float64)
    c = np.asarray(correct, np.float64)
    b = _bin_of(s, bins)
    n = np.bincount(b, minlength=bins)
    sum_s = np.bincount(b, s, minlength=bins)
    sum_c = np.bincount(b, c, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_s, acc = sum_s / n, sum_c / n
    return [Bin(k / bins, (k + 1) / bins, int(n[k]), float(mean_s[k]), float(acc[k]))
            for k in range(bins)]


def ece(scores, correct, bins: int = BINS) -> float:
    """Expected calibration error of entity ``scores`` (E,) against ``correct`` (E,):
    sum over bins of (share of entities) * |accuracy - mean score|; 0.0 for no entities."""
    return table_ece(reliability(scores, correct, bins))


def table_ece(table: Sequence[Bin]) -> float:
    """The expected calibration error of a reliability table (0.0 for no entities)."""
    total = sum(r.count for r in table)
    return float(sum(r.count / total * abs(r.accuracy - r.mean_score)
                     for r in table if r.count)) if total else 0.0


def entity_outcomes(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], conf
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The raw score (E,) of every predicted entity of BIO tags ``pred`` (sentences of
    tags, with per-token confidences ``conf``), in order, and whether it is correct
    (E,): the ``gold`` tags have an identical entity (type, start, end)."""
    scores: list[float] = []
    correct: list[bool] = []
    for g, p, c in zip(gold, pred, conf):
        truth = set(get_entities(g))
        c = np.asarray(c, np.float64)
        for ent in get_entities(p):
            _, i, j = ent
            scores.append(float(c[i:j].sum() / (j - i)))  # as tagging averages them
            correct.append(ent in truth)
    return np.array(scores, np.float64), np.array(correct, bool)


def isotonic(y, weight=None) -> np.ndarray:
    """The non-decreasing fit (least squares, weights ``weight``) to ``y`` (n,) in the
    order given: pool adjacent violators, each pool the weighted mean of its values."""
    y = np.asarray(y, np.float64)
    w = np.ones_like(y) if weight is None else np.asarray(weight, np.float64)
    means: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for v, wt in zip(y.tolist(), w.tolist()):
        means.append(v)
        weights.append(wt)
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:  # a violator: pool the two
            m, wt2, n = means.pop(), weights.pop(), sizes.pop()
            tot = weights[-1] + wt2
            means[-1] = (means[-1] * weights[-1] + m * wt2) / tot
            weights[-1] = tot
            sizes[-1] += n
    return np.repeat(np.array(means, np.float64), sizes)


@dataclass(frozen=True)
class Calibration:
    """A monotone map of raw entity scores to calibrated ones: knots ``x`` (K,)
    strictly increasing and ``y`` (K,) non-decreasing, both in [0, 1]; ``info``: how it
    was fitted (data, entities, ECE before and after)."""

    x: np.ndarray
    y: np.ndarray
    info: dict = field(default_factory=dict)

    def __call__(self, scores) -> np.ndarray:
        """The calibrated scores of raw ``scores`` (any shape)."""
        return np.interp(np.asarray(scores, np.float64), self.x, self.y)

    def to_json(self) -> str:
        return json.dumps({"method": "isotonic", "bins": BINS, "x": self.x.tolist(),
                           "y": self.y.tolist(), "fitted_on": self.info}, indent=1)


def fit(scores, correct) -> Calibration:
    """The isotonic calibration of raw entity ``scores`` (E,) to ``correct`` (E,):
    equal scores pooled first; each pool of the fit kept as its lowest and highest
    score (knots), so the map is flat on a pool and linear between pools."""
    s = np.asarray(scores, np.float64)
    if len(s) == 0:
        raise NertagError("no predicted entities to calibrate the scores on; use data "
                          "on which the model finds entities")
    xs, inverse = np.unique(s, return_inverse=True)
    n = np.bincount(inverse, minlength=len(xs)).astype(np.float64)
    hits = np.bincount(inverse, np.asarray(correct, np.float64), minlength=len(xs))
    fitted = isotonic(hits / n, n)
    # knots: the first and last x of each run of equal fitted values
    edge = np.flatnonzero(np.diff(fitted)) if len(xs) > 1 else np.zeros(0, np.int64)
    keep = np.unique(np.r_[0, edge, edge + 1, len(xs) - 1])
    before = ece(s, correct)
    cal = Calibration(xs[keep], fitted[keep])
    info = {"entities": int(len(s)), "ece_before": before,
            "ece_after": ece(cal(s), correct)}
    return Calibration(cal.x, cal.y, info)


def read_calibration(path: str | Path) -> Calibration:
    """The calibration in ``path`` (a model directory's ``calibration.json``), checked."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = ""  # (not JSON)
    return calibration_from_json(text, path)


def calibration_from_json(text: str, path: str | Path) -> Calibration:
    """The calibration :meth:`Calibration.to_json` wrote as ``text`` (read from ``path``,
    which errors name), checked."""
    fix = "re-run nertag calibrate, or remove the file"
    try:
        obj = json.loads(text)
    except ValueError:
        raise NertagError(f"{path}: corrupted (not valid JSON); {fix}") from None
    if not isinstance(obj, dict) or obj.get("method") != "isotonic":
        raise NertagError(f"{path}: not an isotonic calibration (method {obj.get('method')!r}"
                          f" where 'isotonic' is expected); {fix}" if isinstance(obj, dict)
                          else f"{path}: not a JSON object; {fix}")
    knots = []
    for key in ("x", "y"):
        v = obj.get(key)
        if not isinstance(v, list) or not v or not all(
                isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t)
                and 0 <= t <= 1 for t in v):
            raise NertagError(f"{path}: {key!r} must be a non-empty list of numbers in [0, 1]; "
                              f"{fix}")
        knots.append(np.array(v, np.float64))
    x, y = knots
    if len(x) != len(y) or np.any(np.diff(x) <= 0) or np.any(np.diff(y) < 0):
        raise NertagError(f"{path}: 'x' must increase and 'y' must not decrease, with as many "
                          f"of each; {fix}")
    info = obj.get("fitted_on")
    return Calibration(x, y, info if isinstance(info, dict) else {})


def calibrated(model, raw: np.ndarray) -> np.ndarray:
    """Raw entity scores (E,) as ``model`` gives them: through its calibration, if any
    (else ``raw`` itself, unchanged)."""
    cal = model_calibration(model)
    return raw if cal is None else cal(raw)


def model_calibration(model) -> Calibration | None:
    """The calibration applied to ``model``'s entity scores (None: raw scores)."""
    return getattr(model, CALIBRATION_ATTR, None)


def use_calibration(model, calibration: Calibration | None) -> None:
    """Calibrate ``model``'s entity scores with ``calibration`` from now on (None: none)."""
    setattr(model, CALIBRATION_ATTR, calibration)
