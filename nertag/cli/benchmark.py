"""``nertag benchmark``: run :func:`nertag.benchmark.run_benchmark`, print a rich table
(or JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

#: The most measurements per figure ``--repeats`` may ask for.
MAX_REPEATS = 100


def command(
    config: Optional[str] = typer.Option("default", "--config", "-c", metavar="NAME|FILE",
                                         help="bundled config name or YAML file"),
    train_file: Optional[Path] = typer.Option(None, "--train", metavar="FILE",
                                              help="training data (default: sample corpus)"),
    dev_file: Optional[Path] = typer.Option(None, "--dev", metavar="FILE",
                                            help="sentences for the inference part"),
    text: Optional[Path] = typer.Option(None, "--text", metavar="FILE",
                                        help="raw text for the tagging part "
                                             "(default: data/example.txt repeated to ~1 MB)"),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="DIR",
                                        help="model directory ('default': the shipped model; "
                                             "without --model: untrained, from the config)"),
    overrides: List[str] = typer.Option([], "--set", metavar="KEY=VALUE",
                                        help="override a config value, e.g. model.hidden=50"),
    repeats: int = typer.Option(5, "--repeats", "-r", min=1, max=MAX_REPEATS, metavar="N",
                                help="measurements per figure"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, metavar="N",
                             help="also time tagging with N worker processes (at most one "
                                  "per CPU: more are lowered, with a warning)"),
    quick: bool = typer.Option(False, "--quick", help="short runs (rough figures, for a smoke "
                                                      "test)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
):
    """Measure training, inference and tagging throughput, GEMM rate and peak memory.

    \b
    Examples:
      nertag benchmark --quick
      nertag benchmark -m default -j 2 --json > bench.json
    """
    from nertag.cli.tables import console
    from nertag.tagging.workers import cap_workers

    jobs, note = cap_workers("--jobs", jobs)
    if note:
        typer.echo(f"warning: {note}", err=True)
    if model is not None:
        from nertag.modelio import model_path  # ('default': the shipped model, from anywhere)

        model = str(model_path(model))
    run_benchmark_cli(config=config, train=train_file, dev=dev_file, text=text, model_dir=model,
                      repeats=repeats, jobs=jobs, as_json=as_json, quick=quick,
                      overrides=list(overrides), console=console())


def _fmt(s: dict, scale: float = 1.0, digits: int = 0, unit: str = "") -> str:
    """median (min–max) of a measurement."""
    f = f"{{:,.{digits}f}}"
    med, lo, hi = (f.format(s[k] * scale) for k in ("median", "min", "max"))
    return f"{med}{unit}  ({lo}–{hi})" if s["runs"] > 1 else f"{med}{unit}"


def result_table(r: dict):
    from rich.table import Table

    m = r["model"]
    feats = ", ".join(f"{n} {v['vocab']:,}×{v['dim']}" for n, v in m["features"].items())
    t = Table(title=f"nertag benchmark — config {r['config']}, model {m['source']}",
              title_justify="left", caption=(
                  f"medians of {r['repeats']} runs (min–max) · {r['machine']['cpus']} CPUs, "
                  f"load "
                  f"{', '.join(f'{x:.2f}' for x in r['machine']['load_avg'])} · numpy "
                  f"{r['machine']['numpy']}, {r['machine']['blas']}"), caption_justify="left")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("model", f"H={m['hidden']}, window {m['window']}, {feats}, {m['labels']} labels, "
                       f"{m['params']:,} parameters")
    t.add_row("FLOPs per token (train, fwd+bwd)", f"{m['flops_per_token']:,}")
    t.add_section()
    tr = r["train"]
    t.add_row(f"training tokens/s (batch {tr['batch_size']}, {tr['optimizer']})",
              _fmt(tr["tokens_per_s"]))
    for phase, s in tr["us_per_token"].items():
        t.add_row(f"  {phase.replace('_', ' ')}", _fmt(s, digits=2, unit=" µs/token"))
    g = r["gemm"]
    t.add_row(f"GEMM float32, model shapes, {g['rows']} rows", _fmt(g["gflops"], digits=1,
                                                                     unit=" GFLOP/s"))
    t.add_row(f"GEMM float32, model shapes, {g['batch_size']} rows (batch)",
              _fmt(g["gflops_at_batch_size"], digits=1, unit=" GFLOP/s"))
    t.add_row("trainer's share of the GEMM rate",
              f"{100 * tr['share_of_gemm']:.1f}%  ({tr['gflops']:.2f} GFLOP/s; "
              f"{100 * tr['share_of_gemm_at_batch_size']:.1f}% of the batch-size rate)")
    t.add_section()
    inf = r["inference"]
    t.add_row(f"inference tokens/s (pre-tokenized, {inf['tokens']:,} tokens)",
              _fmt(inf["tokens_per_s"]))
    t.add_row("  tokens per CPU-second (less load-sensitive)", _fmt(inf["tokens_per_cpu_s"]))
    t.add_row("  first layer", f"per word type: {inf['word_types']:,} types, "
              f"{inf['type_table_mb']:.0f} MB (room for {inf['type_capacity']:,}); "
              f"cold first pass {inf['cold_s']:.2f} s")
    tg = r["tagging"]
    t.add_row(f"tagging tokens/s, raw text → jsonl ({tg['tokens']:,} tokens)",
              _fmt(tg["tokens_per_s"]))
    t.add_row("  tokens per CPU-second (less load-sensitive)", _fmt(tg["tokens_per_cpu_s"]))
    t.add_row("  text MB/s", _fmt(tg["mb_per_s"], digits=2))
    if "tagging_jobs" in r:
        tj = r["tagging_jobs"]
        t.add_row(f"tagging tokens/s with {tj['jobs']} jobs",
                  _fmt(tj["tokens_per_s"]) + f"  ×{tj['speedup']:.2f}")
    t.add_section()
    t.add_row("peak memory (max RSS)", f"{r['peak_rss_mb']:,.0f} MB")
    return t


def run_benchmark_cli(*, config, train, dev, text, model_dir, repeats, jobs, as_json, quick,
                      overrides, console) -> None:
    from nertag.benchmark import run_benchmark

    kw = dict(train_seconds=0.3, infer_seconds=0.1, text_chars=64 * 1024) if quick else {}
    status = console.status("benchmark") if not as_json else None

    def progress(msg: str) -> None:
        if status is not None:
            status.update(f"benchmark: {msg}")

    if status is not None:
        status.start()
    try:
        r = run_benchmark(config=config, train=train, dev=dev, text=text, model_dir=model_dir,
                          repeats=repeats, jobs=jobs, overrides=overrides, progress=progress,
                          **kw)
    finally:
        if status is not None:
            status.stop()
    if as_json:
        print(json.dumps(r, indent=2))
    else:
        from rich.console import Console

        Console(highlight=False).print(result_table(r))
