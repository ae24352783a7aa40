"""``report.html``: one self-contained page about how a model trained.

Every model directory written by :func:`nertag.training.loop.train` gets one, and
``nertag report MODEL`` rebuilds it from what the directory records (no data
needed): ``metrics.json`` (per epoch: loss, learning rate, speed, dev scores per
type, the dev confusion counts, mean gradient norm per parameter, hidden-unit
saturation), ``meta.json`` (provenance) and ``config.yaml``. The page shows

* learning curves: training loss, dev F1 overall and per entity type;
* the gradient norm of every parameter per epoch on a log scale (vanishing or
  exploding gradients show as lines falling or climbing by orders of magnitude);
* hidden-unit saturation per epoch (see :mod:`nertag.training.diagnostics`);
* the best epoch's per-type scores and its gold × predicted confusion matrix
  ("none" on both axes: a missed entity is (gold, none), a spurious one (none,
  predicted); counted by :mod:`nertag.text.error_analysis`), or, with ``data``,
  the same for any tagged file;
* a table of every epoch's figures.

The plots are PNG images embedded as base64 (:mod:`nertag.training.report_plots`),
so the page needs no other file and no network. matplotlib is the optional
``report`` extra; without it :class:`~nertag.training.report_plots.MissingExtra`.
Models trained before these figures were recorded get the plots they can have.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from nertag.atomic import atomic_open
from nertag.errors import NertagError
from nertag.modelio import load_model
from nertag.text.datasets import read_corpus
from nertag.text.error_analysis import ErrorAnalysis, analyse
from nertag.text.scoring import evaluate
from nertag.text.tags import label_codes
from nertag.training import report_plots as plots
from nertag.training.report_files import Run, read_run
from nertag.training.report_plots import MissingExtra  # noqa: F401 (re-exported)
from nertag.version import __version__

FILE = "report.html"

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1180px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin: 0 0 0.3em; }
h2 { font-size: 1.15em; margin: 1.6em 0 0.5em; border-bottom: 1px solid #ddd;
     padding-bottom: 0.2em; }
.facts { border-collapse: collapse; margin: 0.4em 0; }
.facts th { text-align: left; font-weight: normal; color: #666; padding: 0.1em 1em 0.1em 0; }
.facts td { padding: 0.1em 0; }
.banner { background: #fff4d6; border-left: 4px solid #e6a700; padding: 0.5em 0.9em;
          margin: 0.8em 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1.2em; }
figure { margin: 0; }
figure img { width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 12.5px; margin-top: 0.3em; }
table.num { border-collapse: collapse; margin: 0.3em 0 0.8em; }
table.num th, table.num td { padding: 0.2em 0.7em; text-align: right;
                             border-bottom: 1px solid #eee; }
table.num th { font-weight: 600; background: #fafafa; }
table.num th:first-child, table.num td:first-child { text-align: left; }
table.num tr.total td { font-weight: 600; border-top: 2px solid #ccc; }
table.num tr.best td { background: #f1f7ee; }
table.conf td.diag { font-weight: 700; }
.side { display: flex; flex-wrap: wrap; gap: 2.5em; align-items: flex-start; }
.side > div { max-width: 560px; }
.note { color: #666; font-size: 12.5px; }
code { background: #f4f4f4; padding: 0 0.25em; border-radius: 3px; }
.scroll { overflow-x: auto; }
"""

# what each activation's two saturation lines mean (see nertag.training.diagnostics)
_SAT_LABELS = {
    "tanh": ("|h| > 0.99 (saturated)", "units saturated on every window"),
    "sigmoid": ("h < 0.01 or h > 0.99 (saturated)", "units saturated on every window"),
    "hardtanh": ("|z| ≥ 1 (flat)", "units flat on every window"),
    "relu": ("z ≤ 0 (inactive)", "dead ReLUs (never active)"),
}


def _check_dir(model_dir: Path) -> None:
    if not model_dir.exists():
        raise NertagError(f"{model_dir}: model directory not found")
    if not model_dir.is_dir():
        raise NertagError(f"{model_dir}: not a directory; give a model directory")
    if not (model_dir / "metrics.json").is_file() and (model_dir / "checkpoint").is_dir():
        raise NertagError(f"{model_dir}: is the checkpoint of an interrupted training run, not "
                          f"a model; the model is the directory without '.partial'")


def confusion_from_dict(d: dict) -> ErrorAnalysis:
    """The :class:`ErrorAnalysis` confusion counts back from ``as_dict()["confusion"]``."""
    counts: Counter = Counter()
    for g, row in d.items():
        for p, n in row.items():
            counts[(None if g == "none" else g, None if p == "none" else p)] = int(n)
    return ErrorAnalysis(confusion=counts)


def score_file(model_dir: Path, data: str | Path, fmt: str = "auto"):
    """``(Evaluation, ErrorAnalysis)`` of the model in ``model_dir`` on a tagged file."""
    model = load_model(model_dir, read_only=True)
    corpus = read_corpus(data, fmt)
    if not corpus.sentences:
        raise NertagError(f"{data}: no sentences found; nothing to score")
    gold = [s.tags for s in corpus.sentences]
    pred, _ = model.predict([s.words for s in corpus.sentences], docs=corpus.doc_sizes())
    return evaluate(gold, pred), analyse(gold, pred)


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def _facts(d: Path, run: Run) -> str:
    history, meta, cfg, prov = run.history, run.meta, run.cfg, run.provenance
    m, t, f = cfg.get("model") or {}, cfg.get("train") or {}, cfg.get("features") or {}
    best = next((r for r in history if r["epoch"] == prov.get("best_epoch")), None)
    if best is None:
        best = max((r for r in history if r.get("best")), key=lambda r: r["epoch"], default=None)
    dev_f1 = (best or {}).get("dev", {}) or {}
    data = cfg.get("data") or {}
    rows = [
        ("training data", (prov.get("train") or {}).get("path") or data.get("train")),
        ("dev data", (prov.get("dev") or {}).get("path") or data.get("dev") or "none"),
        ("embeddings", (prov.get("embeddings") or {}).get("path") or "none (trained from scratch)"),
        ("model", f"window {f.get('window')}, {m.get('hidden')} {m.get('activation')} hidden "
                  f"units, {m.get('head')} head, {m.get('tag_scheme', '').upper()} tags, "
                  f"{len(meta.get('labels') or [])} labels"),
        ("document context", _doc_context(d, f, t)),
        ("training", f"{t.get('optimizer')}, lr {t.get('lr')} ({t.get('lr_schedule')}), "
                     f"batch {t.get('batch_size')}, seed {t.get('seed')}"),
        ("epochs", f"{len(history)} run of {t.get('epochs')}; best epoch "
                   f"{best['epoch'] if best else '-'}"
                   + (f", dev F1 {_pct(dev_f1.get('f1'))}" if dev_f1 else "")),
        ("training time", f"{sum(r.get('seconds', 0) for r in history):.1f} s"),
        ("created", f"{prov.get('created', '-')} by nertag {meta.get('nertag_version', '?')}"
                    + (f", commit {prov['commit']}" if prov.get("commit") else "")),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows)
    return f'<table class="facts">{body}</table>'


def _doc_context(d: Path, features: dict, train: dict) -> str:
    """The header's line on document context (``features.doc_context``): off, or the
    first stage (``stage1/``: its epochs, best epoch and
    dev F1; its tags on the training data jackknifed over ``train.doc_folds`` folds)."""
    if not features.get("doc_context"):
        return "off"
    first = read_run(d / "stage1")
    best = first.best()
    f1 = (best.get("dev") or {}).get("f1")
    return (f"on (features.doc_context): a second stage that also sees the first stage's "
            f"tags on each word's other occurrences in its document; first stage (stage1/): "
            f"{len(first.history)} epochs, best epoch {best['epoch']}"
            + (f", dev F1 {_pct(f1)}" if f1 is not None else "")
            + f"; its tags on the training data jackknifed over {train.get('doc_folds')} folds")


def _figure(png: str, alt: str, caption: str) -> str:
    return (f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{png}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _plots(history: list, best_epoch: int | None, labels: list) -> tuple[str, str]:
    """The two grids of plots: learning curves, then gradients and saturation
    (``labels``: the model's, whose entity types have the colours of the HTML pages)."""
    model_types = [t for t in label_codes(labels).entity_types if t]
    epochs = [r["epoch"] for r in history]
    curves = [_figure(plots.loss_plot(epochs, [r["loss"] for r in history],
                                      [r.get("lr", 0.0) for r in history], best_epoch),
                      "training loss per epoch",
                      "Mean training loss per token over each epoch (dropout on); the dotted "
                      "line marks the best epoch." )]
    if all(r.get("dev") for r in history):
        types = sorted({k for r in history for k in r["dev"].get("per_type", {})})
        per_type = {k: [100 * r["dev"]["per_type"].get(k, {}).get("f1", 0.0) for r in history]
                    for k in types}
        curves.append(_figure(plots.f1_plot(epochs, [100 * r["dev"]["f1"] for r in history],
                                            per_type, best_epoch, model_types),
                              "dev F1 per epoch, overall and per type",
                              "Entity-level F1 on the dev set after each epoch (the "
                              "parameters that would be saved), overall and per type."))
    else:
        curves.append('<p class="note">No dev set: no dev scores were recorded.</p>')
    diag = []
    if any(r.get("grad_norms") for r in history):
        names = sorted({k for r in history for k in r.get("grad_norms", {})})
        norms = {k: [r.get("grad_norms", {}).get(k) for r in history] for k in names}
        diag.append(_figure(plots.grad_norm_plot(epochs, norms, best_epoch),
                            "gradient norm of each parameter per epoch, log scale",
                            "‖∇J‖ of each parameter, the mean over the epoch's batches, on a "
                            "log scale: a line falling by orders of magnitude is a vanishing "
                            "gradient, a climbing one an exploding gradient. Embedding tables "
                            "dashed (the norm of their sparse row gradients)."))
    sat = [r.get("saturation") for r in history]
    if all(sat):
        kind = sat[-1]["activation"]
        labels = _SAT_LABELS.get(kind, ("flat (f′ < 0.02)", "units flat on every window"))
        diag.append(_figure(plots.saturation_plot(epochs, [s["saturated"] for s in sat],
                                                  [s["dead"] for s in sat], labels, best_epoch),
                            "hidden-unit saturation per epoch",
                            f"{html.escape(kind)} hidden layer on a fixed sample of "
                            f"{sat[-1]['windows']:,} dev windows after each epoch: the share "
                            f"of unit activations in a flat part of f (where f′ ≈ 0 and no "
                            f"gradient flows back), and the share of units flat on every "
                            f"window."))
    else:
        diag.append('<p class="note">Hidden-unit saturation was not recorded for this model '
                    '(trained by an older nertag).</p>')
    return "".join(curves), "".join(diag)


def _scores_table(ev: dict) -> str:
    head = "".join(f"<th>{c}</th>" for c in ("type", "precision", "recall", "F1", "gold",
                                              "predicted", "correct"))
    rows = [f"<tr><td>{html.escape(k)}</td><td>{_pct(s['precision'])}</td>"
            f"<td>{_pct(s['recall'])}</td><td>{_pct(s['f1'])}</td><td>{s['support']}</td>"
            f"<td>{s['predicted']}</td><td>{s['correct']}</td></tr>"
            for k, s in ev.get("per_type", {}).items()]
    rows.append(f'<tr class="total"><td>overall</td><td>{_pct(ev["precision"])}</td>'
                f'<td>{_pct(ev["recall"])}</td><td>{_pct(ev["f1"])}</td><td>{ev["n_gold"]}'
                f'</td><td>{ev["n_predicted"]}</td><td>{ev["n_correct"]}</td></tr>')
    return (f'<div class="scroll"><table class="num"><tr>{head}</tr>{"".join(rows)}</table>'
            f'</div>'
            f'<p class="note">Entity-level scores (conlleval); token accuracy '
            f'{_pct(ev.get("token_accuracy"))}% over {ev.get("n_tokens", 0):,} tokens.</p>')


def _confusion_table(analysis: ErrorAnalysis) -> str:
    """Gold type (rows) × predicted type (columns), "none" on both axes, each cell
    shaded by its share of the row."""
    axis = analysis.types() + [None]
    head = "".join(f"<th>{html.escape(p or 'none')}</th>" for p in axis)
    body = []
    for g in axis:
        total = sum(analysis.confusion.get((g, p), 0) for p in axis) or 1
        cells = []
        for p in axis:
            if (g, p) == (None, None):
                cells.append("<td></td>")
                continue
            n = analysis.confusion.get((g, p), 0)
            share = n / total
            hue = "46,125,50" if g == p else "214,39,40"
            style = f' style="background:rgba({hue},{0.08 + 0.5 * share:.2f})"' if n else ""
            cls = ' class="diag"' if g == p else ""
            cells.append(f"<td{cls}{style}>{n}</td>")
        body.append(f"<tr><th>{html.escape(g or 'none')}</th>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table class="num conf"><tr><th>gold \\ predicted</th>'
            f'{head}</tr>{"".join(body)}</table></div><p class="note">Rows: gold type; '
            f'columns: predicted type. '
            f'(gold, none): a missed entity; (none, predicted): a spurious one; a pair of '
            f'overlapping entities counts once in its cell. Shading: the share of the row.</p>')


def _epoch_table(history: list) -> str:
    cols = ("epoch", "loss", "lr", "tokens/s", "seconds", "dev P", "dev R", "dev F1",
            "saturated", "dead")
    head = "".join(f"<th>{c}</th>" for c in cols)
    rows = []
    for r in history:
        dev, sat = r.get("dev") or {}, r.get("saturation") or {}
        cells = [str(r["epoch"]) + (" ★" if r.get("best") else ""), f"{r['loss']:.4f}",
                 f"{r.get('lr', 0):.4g}", f"{r.get('tokens_per_s', 0):,.0f}",
                 f"{r.get('seconds', 0):.1f}", _pct(dev.get("precision")),
                 _pct(dev.get("recall")), _pct(dev.get("f1")), _pct(sat.get("saturated")),
                 _pct(sat.get("dead"))]
        cls = ' class="best"' if r.get("best") else ""
        rows.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                    + "</tr>")
    return (f'<div class="scroll"><table class="num"><tr>{head}</tr>{"".join(rows)}</table>'
            f'</div><p class="note">★: the '
            f"epoch was the best so far on dev (the saved model is the last ★). Saturated and "
            f"dead in %, as in the plot.</p>")


def build_report(model_dir: str | Path, data: str | Path | None = None,
                 data_format: str = "auto") -> str:
    """The report page of the model in ``model_dir`` (HTML text). ``data``: score the
    model on this tagged file for the final table and confusion matrix instead of
    the dev scores recorded at its best epoch."""
    d = Path(model_dir)
    _check_dir(d)
    run = read_run(d)
    history, meta, cfg, prov, best = run.history, run.meta, run.cfg, run.provenance, run.best()
    curves, diag = _plots(history, best["epoch"], meta.get("labels") or [])
    name = html.escape(d.resolve().name)
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Training '
             f'report: {name}</title><style>{_CSS}</style></head><body>',
             f"<h1>Training report: {name}</h1>", _facts(d, run)]
    if prov.get("interrupted"):
        parts.append(f'<div class="banner">Training was interrupted after epoch '
                     f'{len(history)} of {cfg.get("train", {}).get("epochs")}; this is the best '
                     f'epoch so far. Continue it with <code>nertag train --resume '
                     f'{html.escape(str(d))}</code>.</div>')
    parts += ['<h2>Learning curves</h2><div class="grid">', curves, "</div>",
              '<h2>Gradients and hidden units</h2><div class="grid">', diag, "</div>"]
    if data is not None:
        ev, analysis = score_file(d, data, data_format)
        where, scores = f"on {html.escape(str(data))}", ev.as_dict()
    else:
        where, scores = f"on the dev set, best epoch ({best['epoch']})", best.get("dev")
        analysis = confusion_from_dict(best["confusion"]) if best.get("confusion") else None
    parts.append(f"<h2>Final scores {where}</h2>")
    if scores:
        parts.append('<div class="side"><div>' + _scores_table(scores) + "</div><div>")
        parts.append(_confusion_table(analysis) if analysis is not None else
                     '<p class="note">No confusion counts were recorded for this model; '
                     '<code>nertag report MODEL --data DEV</code> computes them.</p>')
        parts.append("</div></div>")
    else:
        parts.append('<p class="note">No dev set: no scores. <code>nertag report MODEL --data '
                     'FILE</code> scores the model on a tagged file.</p>')
    parts += ["<h2>Every epoch</h2>", _epoch_table(history),
              f'<p class="note">Written by nertag {html.escape(__version__)}; rebuild with '
              f'<code>nertag report {html.escape(str(d))}</code>.</p></body></html>\n']
    return "".join(parts)


def write_report(model_dir: str | Path, output: str | Path | None = None,
                 data: str | Path | None = None, data_format: str = "auto") -> Path:
    """Build the report and write it (atomically) to ``output``, by default
    ``MODEL/report.html``; returns the path. Raises :class:`MissingExtra` without
    matplotlib (before reading anything)."""
    if not plots.available():
        raise MissingExtra()
    page = build_report(model_dir, data, data_format)
    path = Path(output) if output is not None else Path(model_dir) / FILE
    with atomic_open(path) as f:
        f.write(page)
    return path
