"""The ``nertag`` command line: thin Typer commands over importable functions.

Each command lives in its own module (``train``, ``evaluate``, ``tag``,
``gradcheck``, ``benchmark``) with its runner; :mod:`nertag.cli.application` builds the
application (one-line errors, ``--debug``, ``--version``, ``--threads``) and this
module registers the commands on it. Heavy modules (NumPy, rich, the model code)
are imported inside the commands, so ``nertag --help`` starts quickly.
"""

from __future__ import annotations

from nertag.cli import benchmark, evaluate, gradcheck, serve, tag, train
from nertag.cli import annotate, calibrate, convert, report
from nertag.cli.application import Command, create_app, set_threads

__all__ = ["app", "main", "set_threads"]

#: The Typer application.
app = create_app()
#: Each command, its module and its one-line summary in ``nertag --help``.
COMMANDS = {
    "train": (train, "Train a model and save its best epoch"),
    "evaluate": (evaluate, "Score a model on a tagged file, as conlleval does"),
    "convert": (convert, "Convert tagged data between training formats"),
    "tag": (tag, "Tag raw text (or CoNLL columns) with a model"),
    "gradcheck": (gradcheck, "Check the gradients against central differences"),
    "benchmark": (benchmark, "Measure training, inference and tagging speed"),
    "serve": (serve, "Serve the tagger over HTTP, with a page to try it"),
    "annotate": (annotate, "Annotate text in a local page, keyboard-driven and resumable"),
    "report": (report, "Write a model's training report page"),
    "calibrate": (calibrate, "Calibrate a model's entity scores on a tagged file"),
}
for _name, (_module, _summary) in COMMANDS.items():
    app.command(_name, cls=Command, short_help=_summary)(_module.command)


def main() -> None:
    app()
