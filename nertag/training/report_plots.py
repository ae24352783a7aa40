"""The training report's plots, drawn with matplotlib (the optional ``report`` extra)
into PNG images for embedding in the page.

matplotlib is imported only when a plot is drawn, and only its object-oriented
API with the Agg canvas is used (no pyplot, no global backend or figure state),
so a report can be built in any thread, with or without a display.
"""

from __future__ import annotations

import base64
import io
from typing import Sequence

from nertag.errors import NertagError
from nertag.render.palette import colours

#: What to install for the report (named by every message about it).
EXTRA = "pip install 'nertag[report]'"

SIZE = (5.6, 3.3)  # inches; drawn at DPI, shown at half that many CSS pixels per inch
DPI = 160
INK, GRID, BEST = "#222222", "#e5e5e5", "#999999"


class MissingExtra(NertagError):
    """matplotlib is not installed."""

    def __init__(self, what: str = "the training report"):
        super().__init__(f"{what} needs matplotlib, the optional 'report' extra: {EXTRA}")


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtra() from None
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("epoch")
    return fig, ax


def _png(fig) -> str:
    """The figure as a base64 PNG (for an ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _epochs_axis(ax, epochs: Sequence[int], best: int | None) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(epochs) == 1:
        ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
    if best:
        ax.axvline(best, color=BEST, linestyle=":", linewidth=1.2, zorder=0)


#: Legend entries in a column beside the plot (more: more columns, a wider figure).
LEGEND_ROWS = 14


def _legend(ax, outside: bool) -> None:
    if outside:  # many lines: beside the plot, not over them, in as many columns as fit
        ncol = -(-len(ax.get_legend_handles_labels()[1]) // LEGEND_ROWS) or 1
        if ncol > 1:  # (a two-stage model with name lists has 20+ parameters)
            ax.figure.set_figwidth(SIZE[0] + 1.3 * (ncol - 1))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False,
                  handlelength=2.2, ncol=ncol)
    else:
        ax.legend(loc="best", fontsize=8, frameon=False)


def loss_plot(epochs, loss, lr, best) -> str:
    """Training loss per epoch (and the learning rate, when it changes)."""
    fig, ax = _figure()
    ax.plot(epochs, loss, marker="o", markersize=3, color=INK, label="training loss")
    ax.set_ylabel("mean loss per token")
    ax.set_title("Training loss", loc="left", fontsize=11)
    _epochs_axis(ax, epochs, best)
    if len(set(lr)) > 1:
        ax2 = ax.twinx()
        ax2.plot(epochs, lr, color="#1f77b4", linewidth=1, linestyle="--", marker=".",
                 alpha=0.8)
        ax2.set_ylim(0, max(lr) * 1.08)
        ax2.set_ylabel("learning rate (dashed)", color="#1f77b4")
        ax2.tick_params(axis="y", colors="#1f77b4")
        ax2.spines["top"].set_visible(False)
    return _png(fig)


def f1_plot(epochs, overall, per_type: dict[str, list], best, model_types=()) -> str:
    """Dev F1 (%) per epoch: overall in bold, each entity type in its colour of the
    shared palette (:mod:`nertag.render.palette`), given as the HTML outputs give it
    for the model's entity types ``model_types``."""
    fig, ax = _figure()
    colour_of = type_colours(set(per_type) | set(model_types))
    for name, values in per_type.items():
        ax.plot(epochs, values, marker="o", markersize=2.5, linewidth=1.2,
                color=colour_of[name], label=name)
    ax.plot(epochs, overall, marker="o", markersize=3.5, linewidth=2.4, color=INK,
            label="overall")
    ax.set_ylabel("dev F1 (%)")
    ax.set_title("Dev F1, overall and per type", loc="left", fontsize=11)
    _epochs_axis(ax, epochs, best)
    _legend(ax, True)
    return _png(fig)


def grad_norm_plot(epochs, norms: dict[str, list], best) -> str:
    """‖∇θJ‖ per parameter per epoch (mean over the epoch's batches), log scale."""
    fig, ax = _figure()
    names = sorted(norms, key=_param_order)
    colours = _palette(len(names))
    for name, col in zip(names, colours):
        style = "--" if name.startswith("E_") else ":" if name in ("A", "start", "end") else "-"
        values = [v if v and v > 0 else float("nan") for v in norms[name]]
        ax.plot(epochs, values, linestyle=style, marker="o", markersize=2, linewidth=1.3,
                color=col, label=name)
    ax.set_yscale("log")
    from matplotlib.ticker import LogFormatterSciNotation

    # label the 2×, 3×, 5× ticks too when the lines span less than about two decades
    ax.yaxis.set_minor_formatter(LogFormatterSciNotation(labelOnlyBase=False,
                                                         minor_thresholds=(2, 0.5)))
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.set_ylabel("gradient norm ‖∇J‖ (log)")
    ax.set_title("Gradient norm per parameter", loc="left", fontsize=11)
    _epochs_axis(ax, epochs, best)
    _legend(ax, True)
    return _png(fig)


def saturation_plot(epochs, saturated, dead, labels: tuple[str, str], best) -> str:
    """Shares (%) of flat hidden units per epoch: all (window, unit) pairs, and units
    flat on every sampled window."""
    fig, ax = _figure()
    ax.plot(epochs, [100 * v for v in saturated], marker="o", markersize=3, color="#d62728",
            label=labels[0])
    ax.plot(epochs, [100 * v for v in dead], marker="s", markersize=3, color="#7f7f7f",
            linestyle="--", label=labels[1])
    top = max([100 * v for v in saturated + dead] + [1.0])
    ax.set_ylim(0, min(100.0, top * 1.15))
    if not any(saturated):
        ax.text(0.5, 0.5, "no unit saturated on any sampled window", transform=ax.transAxes,
                ha="center", va="center", color="#555555", fontsize=9)
    ax.set_ylabel("share (%)")
    ax.set_title("Hidden-unit saturation", loc="left", fontsize=11)
    _epochs_axis(ax, epochs, best)
    _legend(ax, False)
    return _png(fig)


def _param_order(name: str) -> tuple:
    """W, b, U, c first, then the embedding tables, then the CRF's parameters."""
    core = ("W", "b", "U", "c")
    crf = ("A", "start", "end")
    if name in core:
        return (0, core.index(name), "")
    if name in crf:
        return (2, crf.index(name), "")
    return (1, 0, name)


def type_colours(types) -> dict[str, str]:
    """Each entity type's colour (``#rrggbb``) in every per-type plot: its background
    colour in the palette the HTML pages and ``nertag serve`` use."""
    return {t: c.background for t, c in colours(types).items()}


def _palette(n: int) -> list:
    """``n`` distinct colours for lines that are not entity types (the parameters):
    matplotlib's tab10, then tab20 for more lines."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
