"""How ``evaluate`` and ``calibrate`` show the calibration of entity scores: the expected
calibration error in a line, the reliability table, and both as JSON."""

from __future__ import annotations

import math

from rich.table import Table

from nertag.inference.calibration import BINS, Bin, table_ece


def ece_line(table: list[Bin], what: str) -> str:
    """``expected calibration error 0.0123 (entity level, 10 bins, 4321 entities; WHAT)``."""
    n = sum(r.count for r in table)
    return (f"expected calibration error {table_ece(table):.4f} (entity level, {BINS} bins, "
            f"{n} {'entity' if n == 1 else 'entities'}; {what})")


def _num(x: float, fmt: str) -> str:
    return "-" if math.isnan(x) else format(x, fmt)


def reliability_table(tables: dict[str, list[Bin]], title: str = "reliability") -> Table:
    """One row per score bin: its range, then each table's count, mean score and
    accuracy (``tables``: name → rows, e.g. ``before``/``after`` a calibration; with
    several, a column of counts is headed by its table's name)."""
    t = Table(title=title, title_justify="left")
    t.add_column("score", justify="left")
    several = len(tables) > 1
    for name in tables:
        cols = (f"{name}\nentities", "\nscore", "\naccuracy") if several else \
            ("entities", "mean score", "accuracy")
        for col in cols:
            t.add_column(col, justify="right")
    for k, row in enumerate(next(iter(tables.values()))):
        cells = [f"{row.low:.1f}–{row.high:.1f}"]
        for rows in tables.values():
            r = rows[k]
            cells += [str(r.count), _num(r.mean_score, ".3f"), _num(r.accuracy, ".3f")]
        t.add_row(*cells)
    return t


def reliability_json(table: list[Bin]) -> list[dict]:
    """The table's rows as JSON objects (an empty bin's mean score and accuracy: null)."""
    return [{"low": r.low, "high": r.high, "count": r.count,
             "mean_score": None if math.isnan(r.mean_score) else round(r.mean_score, 6),
             "accuracy": None if math.isnan(r.accuracy) else round(r.accuracy, 6)}
            for r in table]
