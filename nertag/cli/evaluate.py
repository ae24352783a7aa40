"""``nertag evaluate``: score a model on a tagged file and print the table (or JSON);
``--errors`` lists the wrong entities and the confusion table, ``--html`` writes them
as a page."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from nertag.cli.application import Decoder, refuse_overwriting_input

_FORMATS = ("auto", "conll", "conll-bioes", "conll-iob1", "io", "jsonl", "doccano", "prodigy")


class TagScheme(str, Enum):
    """Tag schemes a CoNLL file may use (:data:`nertag.text.conll.FILE_SCHEMES`)."""

    auto = "auto"
    iob1 = "iob1"
    bio = "bio"
    bioes = "bioes"
    io = "io"


DataFormat = Enum("DataFormat", {f.replace("-", "_"): f for f in _FORMATS}, type=str)
DataFormat.__doc__ = "Formats of DATA (:data:`nertag.text.datasets.INPUT_FORMATS`)."


def command(
    model: str = typer.Argument(..., metavar="MODEL",
                                help="model directory ('default': the shipped model)"),
    data: Path = typer.Argument(..., metavar="DATA",
                                help="tagged file to score against (CoNLL columns or JSONL "
                                     "spans)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    decoder: Optional[Decoder] = typer.Option(None, "--decoder",
                                              help="decoder (default: the model's)"),
    encoding: str = typer.Option("utf-8", "--encoding", metavar="NAME", help="encoding of DATA"),
    scheme: TagScheme = typer.Option(TagScheme.auto, "--tag-scheme",
                                     help="tag scheme of a CoNLL DATA"),
    data_format: DataFormat = typer.Option(DataFormat("auto"), "--format",
                                           help="format of DATA (default: detected)"),
    errors: bool = typer.Option(False, "--errors",
                                help="list every wrong entity and the confusion table"),
    html_file: Optional[Path] = typer.Option(None, "--html", metavar="FILE",
                                             help="write the errors as an HTML page"),
):
    """Score a model on a tagged file, exactly as the CoNLL-2003 scorer (conlleval) does.

    DATA may be in any training format (CoNLL columns in BIO, IOB1, BIOES or IO; nertag
    jsonl, doccano or Prodigy JSONL); see 'nertag convert --help'.

    --errors and --html give each error's place as FILE:LINE, the line of the entity's
    first token (of its record, in JSONL).

    \b
    Examples:
      nertag evaluate default dev.conll
      nertag evaluate default dev.txt --decoder greedy --json
      nertag evaluate default dev.txt --errors            # what went wrong
      nertag evaluate my-model dev.jsonl --html errors.html
    """
    # here, not at the top: NumPy, rich and the model code would slow down `nertag --help`
    from rich.markup import escape  # a path is text, not markup: data[/x].conll

    from nertag.api import predict_file
    from nertag.cli.tables import console, evaluation_table
    from nertag.text.error_analysis import analyse, error_lines
    from nertag.text.scoring import evaluate as score

    refuse_overwriting_input("--html", html_file, [str(data)], "DATA file")
    err = console()
    p = predict_file(model, data, decoder=decoder and decoder.value, encoding=encoding,
                     scheme=scheme.value, format=data_format.value)
    corpus, pred, model_dir = p.corpus, p.pred, model
    for note in corpus.notes:
        err.print(f"[yellow]warning:[/] {escape(note)}", soft_wrap=True)
    if p.unknown_types:
        listed = ", ".join(f"{t} ({n})" for t, n in p.unknown_types.most_common())
        err.print(f"[yellow]warning:[/] {escape(str(data))} has entity types the model does not "
                  f"predict: {escape(listed)}; they count as missed (the model predicts "
                  f"{escape(', '.join(p.model_types) or 'no entities')})", soft_wrap=True)

    gold = [s.tags for s in corpus.sentences]
    ev = score(gold, pred)
    analysis = None
    if errors or html_file is not None:
        analysis = analyse(gold, pred)
    words = [s.words for s in corpus.sentences]
    lines = error_lines(analysis, [s.line for s in corpus.sentences],
                        per_token=corpus.format == "conll") if analysis else {}

    def locate(m) -> str:
        return f"{data}:{lines[m]}"
    if html_file is not None:
        from nertag.atomic import atomic_open
        from nertag.render.error_page import error_page

        with atomic_open(html_file, "w", encoding="utf-8") as f:
            f.write(error_page(f"errors of {model_dir} on {data}", words, gold, pred, locate,
                               analysis))
    if as_json:
        out = ev.as_dict()
        if errors:
            from nertag.cli.error_report import errors_json

            out["error_analysis"] = errors_json(analysis, words, locate)
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    out_console = console(stderr=False)
    out_console.print(evaluation_table(
        ev, title=f"{escape(str(data))} ({ev.n_sentences} sentences, {ev.n_tokens} tokens)"))
    if errors:
        from nertag.cli.error_report import confusion_table, print_errors

        out_console.print(confusion_table(analysis))
        print_errors(out_console, analysis, words, locate)
    if html_file is not None:
        err.print(f"wrote {escape(str(html_file))}", soft_wrap=True)
