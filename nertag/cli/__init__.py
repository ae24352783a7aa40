"""The ``nertag`` command line: thin Typer commands over importable functions.

Each command lives in its own module (``train``, ``evaluate``, ``tag``,
``gradcheck``, ``benchmark``) with its runner; :mod:`nertag.cli.application` builds the
application (one-line errors, ``--debug``, ``--version``, ``--threads``) and this
module registers the commands on it. Heavy modules (NumPy, rich, the model code)
are imported inside the commands, so ``nertag --help`` starts quickly.
"""

from __future__ import annotations

from nertag.cli import benchmark, evaluate, gradcheck, serve, tag, train
from nertag.cli import convert, report
from nertag.cli.application import Command, create_app, set_threads

__all__ = ["app", "main", "set_threads"]

#: The Typer application.
app = create_app()
app.command("train", cls=Command)(train.command)
app.command("evaluate", cls=Command)(evaluate.command)
app.command("convert", cls=Command)(convert.command)
app.command("tag", cls=Command)(tag.command)
app.command("gradcheck", cls=Command)(gradcheck.command)
app.command("benchmark", cls=Command)(benchmark.command)
app.command("serve", cls=Command)(serve.command)
app.command("report", cls=Command)(report.command)


def main() -> None:
    app()
