"""Rich output shared by the commands: the console, evaluation and training tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from nertag.text.scoring import Evaluation


def console(stderr: bool = True) -> Console:
    """Where a command prints: standard error (progress, summaries) or standard output."""
    return Console(stderr=stderr, highlight=False)


def _pct(x: float) -> str:
    return f"{100 * x:6.2f}"


def evaluation_table(ev: Evaluation, title: str = "") -> Table:
    """Entity-level P/R/F1 per type and overall, plus token accuracy (conlleval's figures)."""
    t = Table(title=title or None, title_justify="left")
    for col in ("type", "precision", "recall", "F1", "gold", "predicted", "correct"):
        t.add_column(col, justify="left" if col == "type" else "right")
    for name, s in ev.per_type.items():
        t.add_row(name or "(none)", _pct(s.precision), _pct(s.recall), _pct(s.f1),
                  str(s.support), str(s.predicted), str(s.correct))
    t.add_section()
    t.add_row("overall", _pct(ev.precision), _pct(ev.recall), _pct(ev.f1), str(ev.n_gold),
              str(ev.n_predicted), str(ev.n_correct), style="bold")
    t.caption = f"token accuracy {_pct(ev.token_accuracy).strip()}%  ·  {ev.n_tokens} tokens"
    return t


def history_table(history: list[dict]) -> Table:
    """One row per epoch: loss, learning rate, speed, dev scores."""
    t = Table(title="training", title_justify="left")
    for col in ("epoch", "loss", "lr", "tokens/s", "dev P", "dev R", "dev F1", ""):
        t.add_column(col, justify="right")
    for r in history:
        dev = r.get("dev") or {}
        t.add_row(str(r["epoch"]), f"{r['loss']:.4f}", f"{r['lr']:.4g}",
                  f"{r['tokens_per_s']:,.0f}", _pct(dev["precision"]) if dev else "-",
                  _pct(dev["recall"]) if dev else "-", _pct(dev["f1"]) if dev else "-",
                  "best" if r.get("best") else "")
    return t


def _param_order(name: str) -> tuple:
    """W, b, U, c, then the embedding tables by name, then the CRF's A, start, end."""
    core, crf = ("W", "b", "U", "c"), ("A", "start", "end")
    if name in core:
        return (0, core.index(name), "")
    return (2, crf.index(name), "") if name in crf else (1, 0, name)


def grad_norm_tables(history: list[dict], width: int = 100) -> list[Table]:
    """Mean ‖∇J‖ per parameter (columns) per epoch (rows), in as many tables as it takes
    for each to fit ``width`` columns (each repeats the epoch column)."""
    names = sorted({k for r in history for k in r.get("grad_norms", {})}, key=_param_order)
    cells = {n: [f"{r.get('grad_norms', {}).get(n, float('nan')):#.3g}" for r in history]
             for n in names}
    epoch_w = max(5, *(len(str(r["epoch"])) for r in history)) if history else 5
    budget = width - (epoch_w + 4)  # the epoch column, its padding and the outer edges
    groups: list[list[str]] = [[]]
    used = 0
    for n in names:
        w = max(len(n), *(len(c) for c in cells[n])) + 3  # padding and a separator
        if groups[-1] and used + w > budget:
            groups.append([])
            used = 0
        groups[-1].append(n)
        used += w
    tables = []
    for i, group in enumerate(g for g in groups if g):
        title = "gradient norms ‖∇J‖ (mean over each epoch's batches)" if i == 0 else None
        t = Table(title=title, title_justify="left")
        t.add_column("epoch", justify="right")
        for n in group:
            t.add_column(n, justify="right")
        for j, r in enumerate(history):
            t.add_row(str(r["epoch"]), *(cells[n][j] for n in group))
        tables.append(t)
    return tables
