"""``nertag report``: (re)build a model directory's ``report.html``
(:mod:`nertag.training.report`). matplotlib is the optional ``report`` extra; without
it the command says so in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def command(
    model: str = typer.Argument(..., metavar="MODEL",
                                help="a trained model directory ('default': the shipped "
                                     "model)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="FILE",
                                          help="where to write the page (default: "
                                               "MODEL/report.html; report.html here for the "
                                               "shipped model)"),
    data: Optional[Path] = typer.Option(None, "--data", metavar="FILE",
                                        help="score the model on this tagged file for the "
                                             "final table and confusion matrix (default: "
                                             "the dev scores recorded at the best epoch)"),
):
    """Write the training report of a model: learning curves, gradient norms, hidden-unit
    saturation, per-type scores and the confusion matrix, in one self-contained page.

    \b
    Examples:
      nertag report models/conll2003            # writes models/conll2003/report.html
      nertag report default                     # the shipped model's, into ./report.html
      nertag report runs/small -o small.html --data ../shared/data/conll2003/valid.txt
    """
    from nertag.cli.tables import console

    path = run_report(model, output=output, data=data)
    console().print(f"wrote {path}", soft_wrap=True, markup=False)


def run_report(model: str | Path, *, output: Optional[Path] = None,
               data: Optional[Path] = None) -> Path:
    """Write the report of ``model`` (a path, or 'default'); the shipped model's goes to
    ./report.html unless ``output`` says where: its directory is the installation's."""
    from nertag.modelio import model_path
    from nertag.resources import default_model
    from nertag.training.report import write_report

    path = model_path(model)
    if output is None and path.resolve() == default_model().resolve():
        output = Path("report.html")
    return write_report(path, output=output, data=data)
