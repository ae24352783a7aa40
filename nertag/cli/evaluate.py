"""``nertag evaluate``: score a model on a tagged file and print the table (or JSON)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from nertag.cli.application import Decoder


class TagScheme(str, Enum):
    """Tag schemes a CoNLL file may use (:data:`nertag.text.conll.FILE_SCHEMES`)."""

    auto = "auto"
    iob1 = "iob1"
    bio = "bio"
    bioes = "bioes"


def command(
    model: Path = typer.Argument(..., metavar="MODEL", help="model directory"),
    data: Path = typer.Argument(..., metavar="DATA", help="tagged CoNLL file to score against"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    decoder: Optional[Decoder] = typer.Option(None, "--decoder",
                                              help="decoder (default: the model's)"),
    encoding: str = typer.Option("utf-8", "--encoding", metavar="NAME", help="encoding of DATA"),
    scheme: TagScheme = typer.Option(TagScheme.auto, "--tag-scheme", help="tag scheme of DATA"),
):
    """Score a model on a tagged file, exactly as the CoNLL-2003 scorer (conlleval) does.

    \b
    Examples:
      nertag evaluate models/default data/sample/dev.conll
      nertag evaluate models/default dev.txt --decoder greedy --json
    """
    import json

    from nertag.api import evaluate

    ev = evaluate(model, data, decoder=decoder and decoder.value, encoding=encoding,
                  scheme=scheme.value)
    if as_json:
        typer.echo(json.dumps(ev.as_dict(), indent=2))
        return
    from rich.markup import escape  # a path is text, not markup: data[/x].conll

    from nertag.cli.tables import console, evaluation_table

    console(stderr=False).print(evaluation_table(
        ev, title=f"{escape(str(data))} ({ev.n_sentences} sentences, {ev.n_tokens} tokens)"))
