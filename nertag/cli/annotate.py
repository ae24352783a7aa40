"""``nertag annotate``: a local page to annotate raw text (:mod:`nertag.annotate`).

Starlette and uvicorn are the optional ``serve`` extra, as for ``nertag serve``; without
them the command says so in one line.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from nertag.cli.application import refuse_overwriting_input
from nertag.errors import NertagError, UsageError
from nertag.text.sentences import MODES

MISSING_EXTRA = "nertag annotate needs the optional 'serve' extra: pip install 'nertag[serve]'"


#: ``--sentences``, as nertag tag's (:mod:`nertag.text.sentences`).
SentenceMode = Enum("SentenceMode", {m: m for m in MODES}, type=str)


class Order(str, Enum):
    """``--order`` (:data:`nertag.annotate.queue.ORDERS`)."""

    as_is = "as-is"
    uncertain = "uncertain"
    random = "random"


def command(
    inputs: List[str] = typer.Argument(..., metavar="TEXT", help="text files to annotate"),
    output: Path = typer.Option(..., "--output", "-o", metavar="FILE",
                                help="the answers (JSON lines, appended; started again, "
                                     "it resumes)"),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="DIR",
                                        help="model whose entities are shown first (default: "
                                             "the shipped model)"),
    labels: Optional[str] = typer.Option(None, "--labels", metavar="A,B,...",
                                         help="entity types to offer besides the model's"),
    order: Order = typer.Option(Order.as_is, "--order",
                                help="as-is (the files' order), uncertain (the model's "
                                     "least sure first) or random"),
    random_share: float = typer.Option(0.1, "--random-share", min=0.0, max=1.0, metavar="X",
                                       help="with --order uncertain: the share of random "
                                            "picks"),
    seed: int = typer.Option(0, "--seed", metavar="N", help="seed of the random picks"),
    sentences: Optional[SentenceMode] = typer.Option(
        None, "--sentences", help="which line breaks end a sentence, as in nertag tag "
        "(default auto)"),
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS",
                             help="address to listen on (default: this machine only)"),
    port: int = typer.Option(8080, "--port", "-p", min=0, max=65535, metavar="N",
                             help="port to listen on (0: any free port)"),
    retrain_every: int = typer.Option(0, "--retrain-every", min=0, metavar="N",
                                      help="continue the model on the accepted answers after "
                                           "every N new ones, in the background (0: never)"),
    rehearse: Optional[Path] = typer.Option(None, "--rehearse", metavar="FILE",
                                            help="with --retrain-every: the base model's "
                                                 "training data, mixed into each retrain"),
    holdout: float = typer.Option(0.2, "--holdout", min=0.01, max=0.9, metavar="X",
                                  help="with --retrain-every: the share of the answers held "
                                       "back to compare the models on"),
):
    """Annotate text in a local page: each sentence with the model's entities
    highlighted; accept, correct, reject or skip it with the keyboard.

    \b
    Examples:
      nertag annotate notes.txt -o annotations.jsonl      # http://127.0.0.1:8080/
      nertag annotate a.txt b.txt -o ann.jsonl --labels PRODUCT --order uncertain
      nertag train --train ann.jsonl ...                  # the answers are training data
      nertag annotate a.txt -o ann.jsonl --order uncertain --retrain-every 50

    See docs/annotate.md for the keys, the file and resuming.
    """
    refuse_overwriting_input("-o", output, inputs)
    if rehearse is not None and not retrain_every:
        raise UsageError("--rehearse is for retraining: give --retrain-every N too, or leave "
                         "--rehearse out")
    if rehearse is not None and not rehearse.is_file():
        raise NertagError(f"{rehearse}: no such file (--rehearse); give the base model's "
                          f"training data, or leave --rehearse out (pseudo-rehearsal)")
    extra = [x.strip() for x in (labels or "").split(",") if x.strip()]
    run_annotate(inputs=inputs, output=output, model=model, labels=extra, order=order.value,
                 random_share=random_share, seed=seed,
                 sentences=sentences.value if sentences else "auto", host=host, port=port,
                 retrain_every=retrain_every, rehearse=rehearse, holdout=holdout)


def _say(message: str) -> None:
    typer.echo(f"nertag annotate: {message}", err=True)


def run_annotate(*, inputs: list[str], output: Path, model: Optional[str], labels: list[str],
                 order: str, random_share: float, seed: int, sentences: str, host: str,
                 port: int, retrain_every: int = 0, rehearse: Optional[Path] = None,
                 holdout: float = 0.2) -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise NertagError(MISSING_EXTRA) from None
    from nertag.annotate.app import run
    from nertag.annotate.session import open_session
    from nertag.serve.server import is_loopback

    session, lock, notes = open_session(inputs, str(output), model=model, labels=labels,
                                        order=order, random_share=random_share, seed=seed,
                                        sentences=sentences, notify=_say)
    retrainer = None
    try:
        if retrain_every:
            from nertag.annotate.retrain import Retrainer
            from nertag.modelio import model_path

            retrainer = Retrainer(session, every=retrain_every, model=str(model_path(model)),
                                  output=str(output), inputs=inputs, sentences=sentences,
                                  holdout=holdout,
                                  rehearse=None if rehearse is None else str(rehearse),
                                  notify=_say)
        for note in notes:
            _say(note)
        if not is_loopback(host):
            typer.echo(f"warning: listening on {host}, not only on this machine: anyone who "
                       f"can reach it can write answers (there is no authentication)", err=True)

        def ready(url: str) -> None:
            p = session.progress()
            _say(f"{url} ({p['answered']} answered, {p['remaining']} to go; answers in "
                 f"{output}; Ctrl-C to stop)")

        run(session, f"annotate {Path(inputs[0]).name}", host=host, port=port, on_ready=ready)
    finally:
        if retrainer is not None:
            retrainer.close()
        unsaved = session.close()
        lock.release()
        if unsaved:  # the disk still refuses them: do not lose them
            _say(f"{output}: {len(unsaved)} answer(s) could not be written; they follow on "
                 f"standard output, one JSON line each: append them to the file")
            for rec in unsaved:
                sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
            sys.stdout.flush()
