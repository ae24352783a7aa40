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


def history_table(history: list[dict], show_grad_norms: bool = False) -> Table:
    """One row per epoch: loss, learning rate, speed, dev scores (and gradient norms)."""
    t = Table(title="training", title_justify="left")
    for col in ("epoch", "loss", "lr", "tokens/s", "dev P", "dev R", "dev F1", ""):
        t.add_column(col, justify="right")
    names = sorted({k for r in history for k in r.get("grad_norms", {})}) if show_grad_norms else []
    for n in names:
        t.add_column(f"‖∇{n}‖", justify="right")
    for r in history:
        dev = r.get("dev") or {}
        row = [str(r["epoch"]), f"{r['loss']:.4f}", f"{r['lr']:.4g}", f"{r['tokens_per_s']:,.0f}",
               _pct(dev["precision"]) if dev else "-", _pct(dev["recall"]) if dev else "-",
               _pct(dev["f1"]) if dev else "-", "best" if r.get("best") else ""]
        row += [f"{r['grad_norms'].get(n, 0):.3g}" for n in names]
        t.add_row(*row)
    return t
