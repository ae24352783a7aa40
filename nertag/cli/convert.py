"""``nertag convert``: training data from one format to another, over
:func:`nertag.text.datasets.convert`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

_OUTPUT = ("conll", "conll-bioes", "conll-iob1", "io", "jsonl", "doccano", "prodigy")

#: ``--to`` (:data:`nertag.text.datasets.FORMATS`) and ``--from`` (also ``auto``).
OutputFormat = Enum("OutputFormat", {f.replace("-", "_"): f for f in ("auto",) + _OUTPUT},
                    type=str)
InputFormat = OutputFormat


def command(
    src: Path = typer.Argument(..., metavar="IN", help="tagged file to read"),
    dst: str = typer.Argument(..., metavar="OUT",
                              help="file to write (replaced whole, or not at all); "
                                   "'-': standard output"),
    from_: InputFormat = typer.Option(InputFormat("auto"), "--from",
                                      help="format of IN (default: detected)"),
    to: OutputFormat = typer.Option(OutputFormat("auto"), "--to",
                                    help="format of OUT (default: by OUT's extension)"),
    encoding: str = typer.Option("utf-8", "--encoding", metavar="NAME",
                                 help="encoding of IN (OUT is UTF-8)"),
):
    """Convert tagged data between the formats nertag trains and evaluates on.

    \b
    Formats (IN's is detected; OUT's follows its extension unless --to is given):
      conll        CoNLL columns, BIO tags (.conll .bio .txt); read: BIO, IOB1,
                   BIOES or IO tags, auto-detected
      conll-bioes  CoNLL columns, BIOES tags (.bioes)
      conll-iob1   CoNLL columns, IOB1 tags, as the CoNLL-2003 files (.iob1 .iob)
      io           word<TAB>LABEL, Stanford NER's TSV: PERSON, O (.tsv)
      jsonl        nertag tag's JSON lines: text, tokens, entities (.jsonl)
      doccano      {"text", "label": [[start, end, "LABEL"]]}, written with
                   "tokens" (kept by doccano as metadata: read back exactly)
      prodigy      {"text", "tokens", "spans": [{"start", "end", "label"}]}

    \b
    Examples:
      nertag convert stanford-train.tsv train.conll          # IO labels -> BIO
      nertag convert train.conll train.jsonl --to doccano    # to annotate in doccano
      nertag convert annotations.jsonl train.conll           # doccano/Prodigy -> CoNLL
      nertag tag news.txt -f jsonl -o news.jsonl             # tag, correct the entities,
      nertag convert news.jsonl news.conll                   # ... then train on them
      nertag convert valid.txt - --to io | head              # to standard output

    JSONL is written one record per sentence; text for CoNLL sentences is
    detokenized, with a space added where nertag's tokenizer would otherwise cut
    an entity. IO cannot separate two touching entities of one type: they merge
    (the count is reported). Lines of IN may end in LF, CRLF or CR (in columns,
    not CR mixed with LF); a byte-order mark is dropped. A label is an entity
    type: not O, not a tag (B-PER), no spaces. What OUT could not read back as
    written is refused before anything is written.
    """
    import sys

    from rich.markup import escape

    from nertag.cli.application import refuse_overwriting_input
    from nertag.cli.tables import console
    from nertag.errors import UsageError
    from nertag.text.corpus_writers import write_corpus
    from nertag.text.datasets import convert, read_for_conversion, source_format

    err = console()
    if dst == "-":
        if to.value == "auto":
            raise UsageError("give --to when writing to standard output (OUT is '-')")
        corpus = read_for_conversion(src, from_.value, encoding)
        notes = corpus.notes + write_corpus(corpus, sys.stdout, to.value)
        sys.stdout.flush()
        summary = (f"{src} ({source_format(corpus)}, {len(corpus.sentences)} sentences) -> "
                   f"standard output ({to.value})")
    else:
        refuse_overwriting_input("OUT", dst, [src])
        done = convert(src, dst, from_.value, to.value, encoding)
        notes = done.notes
        summary = (f"{src} ({done.source_format}, {done.sentences} sentences, {done.entities} "
                   f"entities) -> {dst} ({done.target_format})")
    for note in notes:
        err.print(f"[yellow]warning:[/] {escape(note)}", soft_wrap=True)
    err.print(escape(summary), soft_wrap=True)
