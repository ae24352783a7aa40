"""``nertag gradcheck``: three independent gradients that must agree, shown to a user."""

from __future__ import annotations

import json
import time
from enum import Enum
from typing import List, Optional

import typer

from nertag.errors import UsageError

#: The most entries per parameter ``--samples`` may ask for (0 asks for all).
MAX_SAMPLES = 10_000


class Head(str, Enum):
    """The small random model's output layer (or all three, one after the other)."""

    softmax = "softmax"
    binary = "binary"
    crf = "crf"
    all = "all"


HEADS = tuple(h.value for h in Head if h is not Head.all)


def _positive(value: float) -> float:
    """Option check for --eps and --tol (typer's ``min`` cannot exclude 0)."""
    if not value > 0:  # NaN too
        raise typer.BadParameter(f"{value:g} is not greater than 0")
    return value


def command(
    config: Optional[str] = typer.Option(None, "--config", "-c", metavar="NAME|FILE",
                                         help="check this config's architecture"),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="DIR",
                                        help="check at a saved model's parameters "
                                             "('default': the shipped model)"),
    overrides: List[str] = typer.Option([], "--set", metavar="KEY=VALUE",
                                        help="override a config value, e.g. model.hidden=50 "
                                             "(of the default config without --config)"),
    head: Head = typer.Option(Head.softmax, "--head",
                              help="the head of the small random model checked without "
                                   "--config or --model"),
    eps: float = typer.Option(1e-4, "--eps", metavar="H", callback=_positive,
                              help="central-difference step h (> 0)"),
    tol: float = typer.Option(1e-6, "--tol", metavar="TOL", callback=_positive,
                              help="largest relative error that passes (> 0)"),
    samples: Optional[int] = typer.Option(None, "--samples", min=0, max=MAX_SAMPLES,
                                          metavar="N",
                                          help="random entries per parameter (0 = all; "
                                               "default: all, 100 with --config or --model)"),
    ops: bool = typer.Option(False, "--ops", help="also check every graph op's backward alone"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    seed: int = typer.Option(0, "--seed", metavar="N",
                             help="seed of the random model and minibatch"),
):
    """Check hand-derived and graph gradients against central differences.

    Without --config or --model: a small random model (with each --head).

    \b
    Examples:
      nertag gradcheck --head all --ops
      nertag gradcheck -m default --samples 20
      nertag gradcheck --set model.head=crf
    """
    if config and model:
        raise UsageError("give either --config or --model, not both")
    if model is not None and overrides:
        raise UsageError("--set changes a config, and --model is checked with its own; "
                         "use --config NAME|FILE with --set")
    if overrides and not config:
        config = "default"  # --set alone changes the default config
    from nertag.cli.tables import console  # (rich: only when the command runs)

    code = run_gradcheck(config=config, model_dir=model, overrides=list(overrides),
                         head=head.value, eps=eps, tol=tol, samples=samples, ops=ops,
                         as_json=as_json, seed=seed, console=console(stderr=False))
    raise typer.Exit(code)


def _fmt(e) -> str:
    return "—" if e is None else f"{e:.1e}"


def _status(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[bold red]FAIL[/bold red]"


def report_table(checks, tol: float):
    """A rich Table of ParamChecks or OpChecks (not printed)."""
    # here, not at the top: rich and NumPy would slow down every `nertag --help`
    from rich.table import Table

    from nertag.nn import gradcheck as gc

    if checks and isinstance(checks[0], gc.OpCheck):
        table = Table(title=f"graph ops: backward vs central differences (tol {tol:g})")
        for col in ("op", "input", "shape", "max rel. error", ""):
            table.add_column(col, justify="right" if col.startswith("max") else "left")
        for c in checks:
            table.add_row(c.op, c.input, str(c.shape), _fmt(c.max_rel_error),
                          _status(c.passed(tol)))
        return table
    table = Table(title=f"gradient check: largest relative errors (tol {tol:g})")
    table.add_column("parameter")
    table.add_column("shape")
    for col in ("entries", "hand vs numeric", "graph vs numeric", "hand vs graph"):
        table.add_column(col, justify="right")
    table.add_column("")
    for c in checks:
        table.add_row(c.name, "×".join(map(str, c.shape)), str(c.entries_checked),
                      _fmt(c.hand_vs_numeric), _fmt(c.graph_vs_numeric),
                      _fmt(c.hand_vs_graph), _status(c.passed(tol)))
    return table


def run_gradcheck(*, config, model_dir, overrides, head, eps, tol, samples, ops, as_json,
                  seed, console) -> int:
    # here, not at the top: NumPy and the model code would slow down every `nertag --help`
    import numpy as np
    from rich.markup import escape

    from nertag.config import load_config
    from nertag.nn import gradcheck as gc
    from nertag.training import gradcheck as real

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    problems = []
    if config or model_dir:
        if model_dir:
            m, what = real.saved_model(model_dir), f"model {model_dir}"
        else:
            m, what = real.config_model(load_config(config, overrides)), f"config {config}"
        if samples is None:
            samples = 100
        problems.append((what, real.model_problem(m, rng)))
    else:
        heads = HEADS if head == "all" else (head,)
        for h in heads:
            problems.append((f"a small random model, {h} head", gc.default_problem(seed, head=h)))
    results = []
    for what, p in problems:
        checks = gc.check_model(p.params, p.X, p.y, p.arch, masks=p.masks, lengths=p.lengths,
                                eps=eps, samples=samples or None, rng=rng)
        results.append((what, checks))
    op_checks = gc.check_ops(rng) if ops else []
    passed = all(c.passed(tol) for _, cs in results for c in cs) and \
        all(c.passed(tol) for c in op_checks)
    seconds = time.perf_counter() - t0
    if as_json:
        out = {"passed": passed, "tol": tol, "eps": eps, "seconds": round(seconds, 3),
               "models": [{"model": w, **gc.to_json(cs, tol)} for w, cs in results]}
        if ops:
            out["ops"] = gc.to_json(op_checks, tol)
        print(json.dumps(out, indent=2))
    else:
        for what, checks in results:
            t = report_table(checks, tol)
            t.title = f"{escape(what)}: largest relative errors (tol {tol:g}, h = {eps:g}" + \
                (f", {samples} sampled entries per parameter)" if samples else ", all entries)")
            console.print(t)
        if ops:
            console.print(report_table(op_checks, tol))
        verdict = "[green]PASS[/]" if passed else "[bold red]FAIL[/]"
        console.print(f"{verdict}: hand-derived, graph and numeric gradients "
                      f"{'agree' if passed else 'disagree'} ({seconds:.2f}s)")
    return 0 if passed else 1
