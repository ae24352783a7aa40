"""``nertag evaluate --errors``: every wrong entity with its sentence, and the gold ×
predicted confusion table, printed with rich (the classification itself is
:mod:`nertag.text.error_analysis`)."""

from __future__ import annotations

from typing import Callable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nertag.text.error_analysis import (MISSED, SPURIOUS, WRONG_BOTH, WRONG_BOUNDARY,
                                        WRONG_TYPE, ErrorAnalysis, Match)

STYLE = {MISSED: "red", SPURIOUS: "yellow", WRONG_TYPE: "magenta", WRONG_BOUNDARY: "cyan",
         WRONG_BOTH: "blue"}
CONTEXT = 8  # words shown on each side of an error


def _entity(e, words: Sequence[str]) -> str:
    return "-" if e is None else f"{e[0]} '{' '.join(words[e[1]:e[2]])}'"


def context(m: Match, words: Sequence[str]) -> Text:
    """The sentence around an error, the words of the gold and predicted entities in
    brackets and bold, at most :data:`CONTEXT` words on each side."""
    a, b = m.start, m.end
    lo, hi = max(0, a - CONTEXT), min(len(words), b + CONTEXT)
    t = Text("… " if lo > 0 else "")
    t.append(" ".join(words[lo:a]) + (" " if a > lo else ""))
    t.append("[" + " ".join(words[a:b]) + "]", style="bold")
    t.append((" " if hi > b else "") + " ".join(words[b:hi]) + (" …" if hi < len(words) else ""))
    return t


Locate = Callable[[Match], str]  # an error's file:line (the line of its entity's first token)


def print_errors(console: Console, analysis: ErrorAnalysis, words: Sequence[Sequence[str]],
                 where: Locate) -> None:
    """One line per error, in file order: where, kind, gold, predicted, context."""
    counts = analysis.counts()
    total = sum(counts.values())
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    console.print(Text(f"{total} errors ({summary}); {analysis.correct} entities correct",
                       style="bold"), soft_wrap=True)
    if not total:
        return
    console.print(Text("where: FILE:LINE of the entity's first token", style="dim"),
                  soft_wrap=True)
    rows = [(where(m), m, _entity(m.gold, words[m.sentence]),
             _entity(m.pred, words[m.sentence])) for m in analysis.errors]
    w_where = min(max(len(r[0]) for r in rows), 72)  # a longer path breaks the columns
    w_gold = min(max(len(r[2]) for r in rows), 36)
    w_pred = min(max(len(r[3]) for r in rows), 36)
    kind_w = max(len(k) for k in STYLE)
    console.print(Text(f"{'where':<{w_where}}  {'error':<{kind_w}}  {'gold':<{w_gold}}  "
                       f"{'predicted':<{w_pred}}  context", style="dim"), soft_wrap=True)
    for loc, m, gold, pred in rows:
        line = Text(f"{loc:<{w_where}}  ")
        line.append(f"{m.kind:<{kind_w}}", style=STYLE[m.kind])
        line.append(f"  {gold:<{w_gold}}  {pred:<{w_pred}}  ")
        line.append_text(context(m, words[m.sentence]))
        console.print(line, soft_wrap=True)


def confusion_table(analysis: ErrorAnalysis) -> Table:
    """Gold type (rows) × predicted type (columns), "none" on both axes."""
    axis = analysis.types() + [None]
    t = Table(title="gold type (rows) × predicted type (columns)", title_justify="left")
    t.add_column("gold \\ predicted")
    for p in axis:
        t.add_column(p or "none", justify="right")
    for g in axis:
        cells = []
        for p in axis:
            n = analysis.confusion.get((g, p), 0)
            cell = "" if (g, p) == (None, None) else str(n)
            cells.append(f"[bold]{cell}[/]" if g == p and g is not None else cell)
        t.add_row(g or "none", *cells)
    return t


def errors_json(analysis: ErrorAnalysis, words: Sequence[Sequence[str]], where: Locate) -> dict:
    """:meth:`ErrorAnalysis.as_dict`, each error with its ``where`` and entity texts."""
    out = analysis.as_dict()
    for m, d in zip(analysis.errors, out["errors"]):
        d["where"] = where(m)
        for key in ("gold", "pred"):
            if d[key] is not None:
                d[key]["text"] = " ".join(words[m.sentence][d[key]["start"]:d[key]["end"]])
    return out
