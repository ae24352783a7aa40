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
    types: Optional[str] = typer.Option(None, "--types", metavar="TYPE,...",
                                        help="score only these entity types (the others, "
                                             "predicted and gold, count as O)"),
    show_reliability: bool = typer.Option(False, "--reliability",
                                          help="print the reliability table of the entity "
                                               "scores (count, mean score, accuracy per bin)"),
):
    """Score a model on a tagged file, exactly as the CoNLL-2003 scorer (conlleval) does.

    DATA may be in any training format (CoNLL columns in BIO, IOB1, BIOES or IO; nertag
    jsonl, doccano or Prodigy JSONL); see 'nertag convert --help'.

    --errors and --html give each error's place as FILE:LINE, the line of the entity's
    first token (of its record, in JSONL).

    Also printed: the expected calibration error of the entity scores (10 bins; an
    entity is right if the data has it with the same type and tokens), calibrated if
    the model has a calibration.json (see 'nertag calibrate --help').

    \b
    Examples:
      nertag evaluate default dev.conll
      nertag evaluate default dev.txt --decoder greedy --json
      nertag evaluate default dev.txt --errors            # what went wrong
      nertag evaluate my-model dev.jsonl --html errors.html
      nertag evaluate adapted dev.txt --types PER,LOC,ORG,MISC   # the old four types
    """
    # here, not at the top: NumPy, rich and the model code would slow down `nertag --help`
    from rich.markup import escape  # a path is text, not markup: data[/x].conll

    from nertag.api import predict_file
    from nertag.cli.calibration_report import ece_line, reliability_json, reliability_table
    from nertag.cli.tables import console, evaluation_table
    from nertag.inference.calibration import entity_outcomes, reliability, table_ece
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
    if types is not None:
        keep = _types(types, p.model_types)
        gold, pred = _keep_types(gold, keep), _keep_types(pred, keep)
    ev = score(gold, pred)
    raw, correct = entity_outcomes(gold, pred, p.conf)
    table = reliability(raw if p.calibration is None else p.calibration(raw), correct)
    which = "raw scores: the model has no calibration" if p.calibration is None else \
        "calibrated scores"
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
        out["calibration"] = {"ece": table_ece(table), "bins": len(table),
                              "entities": int(len(raw)),
                              "calibrated": p.calibration is not None}
        if show_reliability:
            out["calibration"]["reliability"] = reliability_json(table)
        if errors:
            from nertag.cli.error_report import errors_json

            out["error_analysis"] = errors_json(analysis, words, locate)
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    out_console = console(stderr=False)
    out_console.print(evaluation_table(
        ev, title=f"{escape(str(data))} ({ev.n_sentences} sentences, {ev.n_tokens} tokens)"))
    out_console.print(ece_line(table, which), soft_wrap=True)
    if show_reliability:
        out_console.print(reliability_table({"": table}))
    if errors:
        from nertag.cli.error_report import confusion_table, print_errors

        out_console.print(confusion_table(analysis))
        print_errors(out_console, analysis, words, locate)
    if html_file is not None:
        err.print(f"wrote {escape(str(html_file))}", soft_wrap=True)


def _types(option: str, model_types: list[str]) -> set[str]:
    """The entity types ``--types`` names (comma-separated), each one the model's."""
    from nertag.errors import UsageError

    names = [t.strip() for t in option.split(",") if t.strip()]
    known = ", ".join(model_types) or "none"
    if not names:
        raise UsageError(f"--types: no entity type given; give some of the model's: {known}")
    for t in names:
        if t not in model_types:
            raise UsageError(f"--types: {t!r} is not an entity type of the model; its types "
                             f"are {known}")
    return set(names)


def _keep_types(tags: list[list[str]], keep: set[str]) -> list[list[str]]:
    """BIO ``tags`` with the tags of every other entity type made O (the kept types'
    entities are unchanged: conlleval's chunk rules end a chunk at a change of type)."""
    return [[t if t == "O" or t[2:] in keep else "O" for t in sent] for sent in tags]
