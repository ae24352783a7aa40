"""``nertag calibrate``: a copy of a model whose entity scores are calibrated on a tagged
file (:mod:`nertag.training.calibrate`), with the expected calibration error before and
after and the reliability table."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nertag.cli.application import refuse_overwriting_input


def command(
    model: str = typer.Argument(..., metavar="MODEL",
                                help="model directory ('default': the shipped model)"),
    data: Path = typer.Argument(..., metavar="DATA",
                                help="tagged file to calibrate on (the dev set; CoNLL columns "
                                     "or JSONL spans)"),
    output: Path = typer.Option(..., "--output", "-o", metavar="DIR",
                                help="the calibrated model directory to write"),
    force: bool = typer.Option(False, "--force", help="replace an existing OUT"),
    scores_from: Optional[str] = typer.Option(
        None, "--scores-from", metavar="DIR", help="fit on this model's predictions of DATA "
        "instead (the model trained without DATA, when MODEL was trained on it)"),
    encoding: str = typer.Option("utf-8", "--encoding", metavar="NAME", help="encoding of DATA"),
):
    """Write a copy of MODEL whose entity scores are calibrated on DATA: an entity scored
    0.8 is then right about 80% of the time.  The map (isotonic regression of "right" on
    the raw score, in OUT/calibration.json) is applied wherever the model tags.

    Prints the expected calibration error (10 bins, entity level) of DATA before and
    after, and the reliability table.  Measured on the data it was fitted on, "after"
    is optimistic: measure it on other data with 'nertag evaluate OUT OTHER'.

    Training with a dev set calibrates the model on it already.  A model trained on
    train+dev (as the shipped one) has seen DATA: fit on the predictions of the model
    of the same recipe trained without it (--scores-from).

    \b
    Examples:
      nertag calibrate my-model dev.txt -o my-model-calibrated
      nertag calibrate default dev.txt --scores-from train-only -o calibrated --force
    """
    from rich.markup import escape

    from nertag.cli.calibration_report import ece_line, reliability_table
    from nertag.cli.tables import console
    from nertag.training.calibrate import calibrated_copy

    refuse_overwriting_input("-o", output, [str(data)], "DATA file")
    fitted = calibrated_copy(model, data, output, force=force, scores_from=scores_from,
                             encoding=encoding)
    out = console(stderr=False)
    out.print(f"{escape(str(data))}: {fitted.calibration.info['entities']} predicted entities"
              + (f" (of {escape(scores_from)})" if scores_from else ""), soft_wrap=True)
    out.print("before: " + ece_line(fitted.before, "raw scores"), soft_wrap=True)
    out.print("after:  " + ece_line(fitted.after, "calibrated, on the same data"),
              soft_wrap=True)
    out.print(reliability_table({"before": fitted.before, "after": fitted.after}))
    console().print(f"wrote {escape(str(output))}", soft_wrap=True)
