"""``nertag tag``: check the options, load the model, tag each input through the
library's runtime (:mod:`nertag.tagging.runtime`) and draw ``pretty`` output."""

from __future__ import annotations

import codecs
import contextlib
import functools
import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from nertag.atomic import atomic_open, scratch_dir
from nertag.cli.application import (MIN_SCORE_OPTION, PATTERN_MODE_OPTION, PATTERNS_OPTION,
                                    Decoder, PatternMode, refuse_overwriting_input)
from nertag.cli.tag_frame import Frame
from nertag.errors import NertagError, UsageError
from nertag.resources import default_model
from nertag.text.sentences import DEFAULT as DEFAULT_SENTENCES


class Format(str, Enum):
    """Output formats (:data:`nertag.render.formats.FORMATS`)."""

    pretty = "pretty"
    jsonl = "jsonl"
    conll = "conll"
    inline = "inline"
    html = "html"


class Per(str, Enum):
    sentence = "sentence"
    document = "document"


class SentenceMode(str, Enum):
    """Which line breaks end a sentence (:mod:`nertag.text.sentences`)."""

    blank = "blank"
    line = "line"
    auto = "auto"


class Engine(str, Enum):
    """Where the tagging runs: this machine's processes (``--jobs``) or a Dask cluster."""

    local = "local"
    dask = "dask"


def command(
    inputs: List[str] = typer.Argument(None, metavar="FILE",
                                       help="text files to tag; - for standard input"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="FILE",
                                          help="write here (default: standard output)"),
    fmt: Optional[Format] = typer.Option(None, "--format", "-f",
                                         help="output format (default: pretty on a terminal, "
                                              "else jsonl; conll with --tokenized)"),
    per: Per = typer.Option(Per.sentence, "--per", help="one jsonl object per sentence or "
                                                        "per document"),
    tokenized: bool = typer.Option(False, "--tokenized",
                                   help="inputs are CoNLL columns (first = word); text "
                                        "formats show the words one sentence a line"),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="DIR",
                                        help="model directory (default, or 'default': the "
                                             "shipped model)"),
    encoding: str = typer.Option("utf-8", "--encoding", metavar="NAME",
                                 help="encoding of the inputs"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, metavar="N",
                             help="worker processes (at most one per CPU and per 64 KB "
                                  "of input: more are lowered, with a warning)"),
    decoder: Optional[Decoder] = typer.Option(None, "--decoder",
                                              help="decoder (default: the model's)"),
    engine: Engine = typer.Option(Engine.local, "--engine",
                                  help="local processes (--jobs) or a Dask cluster "
                                       "(needs the 'dask' extra)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="with --engine dask: the Dask scheduler, "
                                                 "e.g. tcp://10.0.0.5:8786 (default: start "
                                                 "a local cluster)"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, metavar="N",
                                          help="with --engine dask: processes of the local "
                                               "cluster (default and most: one per CPU and "
                                               "per block of input; more: a warning)"),
    sentences: Optional[SentenceMode] = typer.Option(
        None, "--sentences", help="which line breaks end a sentence: blank (only blank "
                                  "lines), line (every one: one item per line), auto (tell "
                                  "line-per-item text from hard-wrapped prose; the default)"),
    patterns: Optional[Path] = PATTERNS_OPTION,
    pattern_mode: Optional[PatternMode] = PATTERN_MODE_OPTION,
    min_score: Optional[float] = MIN_SCORE_OPTION,
):
    """Tag raw text (or CoNLL columns) with a trained model.

    \b
    Examples:
      nertag tag data/example.txt
      cat news.txt | nertag tag - -f jsonl --per document -o news.jsonl
      nertag tag big.txt --jobs 2 -o big.jsonl
      nertag tag news/*.txt --engine dask --scheduler tcp://10.0.0.5:8786 -o news.jsonl
      nertag tag headlines.txt --sentences line -f jsonl
      nertag tag wrapped-book.txt --sentences blank
      nertag tag news.txt --min-score 0.8 -f jsonl     # entities right 80% of the time
    """
    if not inputs:
        raise UsageError("give one or more input files, or - for standard input "
                         "(e.g. nertag tag data/example.txt)")
    run_tag(inputs=list(inputs), output=output, fmt=fmt and fmt.value, per=per.value,
            tokenized=tokenized, model_dir=model, encoding=encoding, jobs=jobs,
            decoder=decoder and decoder.value, engine=engine.value, scheduler=scheduler,
            workers=workers, sentences=sentences and sentences.value, patterns=patterns,
            pattern_mode=pattern_mode and pattern_mode.value, min_score=min_score)


def _broken_pipe() -> None:
    raise BrokenPipeError(32, "Broken pipe")


def _blank(name: str, encoding: str) -> bool:
    """Does the input hold nothing but whitespace?  Fails on a missing or unreadable
    input; reads a regular file up to its first other character, nothing else (a pipe's
    text is read once, when it is tagged)."""
    from nertag.tagging import runtime  # lazy: NumPy only when tagging (0.2 s)

    if name == "-":
        return False
    with runtime.open_text(name, encoding) as f:
        if not os.path.isfile(name):
            return False
        while block := f.read(1 << 16):
            if not block.isspace():
                return False
    return True


def _noting_text(lines, seen: list):
    """``lines`` as they are; ``seen`` gets an item at the first that is not blank."""
    for line in lines:
        yield line
        if not line.isspace():
            seen.append(True)
            break
    yield from lines


def _warn(message: str) -> None:
    from rich.markup import escape  # lazy: rich loads only to print (~35 ms off --help)

    from nertag.cli.tables import console

    console().print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)


def _check_engine(engine: str, scheduler, workers, *, inputs, fmt, per, tokenized,
                  jobs, patterns=None, pattern_mode=None) -> None:
    """The options that go with ``--engine`` (before anything is loaded)."""
    if engine != "dask":
        for name, value in (("--scheduler", scheduler), ("--workers", workers)):
            if value is not None:
                raise UsageError(f"{name} goes with --engine dask")
        return
    if jobs > 1:
        raise UsageError("--jobs is for --engine local; with --engine dask, --workers N "
                         "sets the local cluster's processes")
    if scheduler is not None and workers is not None:
        raise UsageError("--workers starts a local cluster; with --scheduler the cluster's "
                         "own workers tag (start as many as you want with dask worker)")
    if "-" in inputs:
        raise UsageError("--engine dask reads files, not standard input; give file names")
    if patterns is not None or pattern_mode is not None:
        raise UsageError("--patterns and --pattern-mode are not available with --engine dask; "
                         "Dask workers merge a model directory's own (nertag.api.add_patterns)")
    for what, bad in (("--tokenized", tokenized), ("--per document", per == "document"),
                      ("--format pretty", fmt == "pretty")):
        if bad:
            raise UsageError(f"{what} is not available with --engine dask; use jsonl, conll, "
                             f"inline or html, one object per sentence")


def run_tag(*, inputs: list[str], output: Path | None, fmt: str | None, per: str,
            tokenized: bool, model_dir: str | None, encoding: str, jobs: int,
            decoder: str | None, engine: str = "local", scheduler: str | None = None,
            workers: int | None = None, sentences: str | None = None,
            patterns: Path | None = None, pattern_mode: str | None = None,
            min_score: float | None = None) -> None:
    # BLAS threads are set (one by default) by the CLI's --threads before NumPy loads
    # (app.set_threads); parallelism comes from --jobs processes.
    # NumPy asks for transparent huge pages for big arrays; here the kernel then compacts
    # memory on first touch, which made building the 100 MB lookup tables 3-5x slower
    # (0.5 s vs 0.15 s) without making the lookups any faster.
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    from nertag.api.tagger import load_tagging_model  # lazy: NumPy (0.2 s)
    from nertag.modelio import model_path as resolve_model
    from nertag.tagging import runtime
    from nertag.tagging.chunks import check_min_score, model_patterns
    from nertag.text.tags import label_codes

    _check_engine(engine, scheduler, workers, inputs=inputs, fmt=fmt, per=per,
                  tokenized=tokenized, jobs=jobs, patterns=patterns, pattern_mode=pattern_mode)
    check_min_score(min_score, "--min-score")
    if engine == "dask" and min_score is not None:
        raise UsageError("--min-score is not available with --engine dask; filter the jsonl "
                         "output by its scores")
    if tokenized and sentences is not None:
        raise UsageError("--sentences splits raw text; --tokenized input is already in "
                         "sentences (one word a line, a blank line after each)")
    sentences = sentences or DEFAULT_SENTENCES
    if fmt is None:  # --tokenized: columns in, columns out (as Stanford NER's TSV)
        fmt = "jsonl" if per == "document" else "conll" if tokenized else "pretty" \
            if output is None and sys.stdout.isatty() and engine == "local" else "jsonl"
    if per == "document" and fmt != "jsonl":
        raise UsageError("--per document goes with --format jsonl")
    if inputs.count("-") > 1:
        raise UsageError("standard input '-' can be read only once")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"--encoding: unknown encoding {encoding!r}; use e.g. utf-8 or "
                         f"latin-1") from None
    refuse_overwriting_input("-o", output, inputs, "input file")
    blank = {name: f"{'empty file' if os.path.getsize(name) == 0 else 'only whitespace'}; "
                   f"nothing to tag" for name in inputs if _blank(name, encoding)}
    for name, why in blank.items():
        _warn(f"{name}: {why}")
    model_path = resolve_model(model_dir)
    if model_path == default_model() and not model_path.exists():
        raise NertagError(f"no default model found at {model_path}; give --model DIR")
    model = load_tagging_model(model_path, patterns, pattern_mode, min_score=min_score)
    model.fast_inference = True
    if output is not None:
        sink = atomic_open(output, "w", newline="")
    else:
        sink = contextlib.nullcontext(sys.stdout)
    types = [t for t in label_codes(model.labels).entity_types if t]
    if (rules := model_patterns(model)) is not None:  # the patterns' labels too
        types = [t for t in types if rules.mode != "patterns"] + rules.entity_labels()
    with runtime.rare_gc(), sink as out:
        pretty = None
        if fmt == "pretty":
            from rich.console import Console  # lazy: rich loads only to draw

            from nertag.cli.pretty import Pretty

            console = Console(file=out, highlight=False, soft_wrap=True,
                              force_terminal=None if output is None else False)
            console.on_broken_pipe = _broken_pipe  # rich would exit 1; the CLI stops quietly
            pretty = Pretty(console, types, console.width if console.is_terminal else None)
        frame = Frame(fmt, out, inputs, types, pretty, blank)
        if tokenized:
            for name in inputs:
                with frame.input(name):
                    _tag_tokenized(model, name, out, fmt=fmt, per=per, encoding=encoding,
                                   several=len(inputs) > 1, blank=name in blank, pretty=pretty,
                                   decoder=decoder)
        elif engine == "dask":
            _tag_dask(inputs, out, frame, model_path=model_path, decoder=decoder, fmt=fmt,
                      encoding=encoding, scheduler=scheduler, workers=workers,
                      sentences=sentences)
        else:
            _tag_local(model, model_path, inputs, out, frame, fmt=fmt, per=per,
                       encoding=encoding, jobs=jobs, output=output,
                       sentences=sentences, decoder=decoder)
        frame.close()


def _tag_local(model, model_path, inputs, out, frame, *, fmt, per, encoding, jobs, output,
               sentences, decoder):
    """The inputs tagged in this process, or in ``jobs`` worker processes (``decoder``:
    None for the model's own)."""
    from nertag.api.tagger import load_tagging_model  # lazy: NumPy only when tagging
    from nertag.tagging import chunks, parallel, runtime
    from nertag.tagging.workers import cap_for

    # at most one per CPU and per chunk (with document context: per document, any size)
    jobs = cap_for("--jobs", jobs, inputs, _warn, None if model.featurizer.doc_context
                   else chunks.CHUNK_CHARS)
    pool = None
    if jobs > 1:
        out.flush()  # a forked worker must not inherit unwritten output
        pool = runtime.start_pool(model, jobs, reload=functools.partial(
            load_tagging_model, model_path, chunks.model_patterns(model), verify=False,
            min_score=chunks.model_min_score(model)))
    finished = False
    try:
        for name in inputs:
            source = "<stdin>" if name == "-" else name
            src = source if len(inputs) > 1 else None
            with frame.input(name):
                if pool is not None and per == "sentence" and fmt != "pretty" \
                        and model.featurizer.doc_context is None \
                        and parallel.splittable(name, encoding):  # (ranges cut documents)
                    parallel.tag_ranges(pool, name, encoding, out, jobs=jobs, fmt=fmt,
                                        source=src, sentences=sentences, decoder=decoder,
                                        tmpdir=None if output is None else scratch_dir(output))
                    continue
                size = os.path.getsize(name) if name != "-" and os.path.isfile(name) else None
                seen: list = []  # a pipe (not read ahead): is there any text in it?
                with runtime.open_text(name, encoding) as stream:
                    lines = runtime.checked_lines(stream, source, encoding)
                    runtime.tag_stream(model, lines if size is not None else
                                       _noting_text(lines, seen), out, fmt=fmt, per=per,
                                       source=source if per == "document" else src,
                                       pool=pool, jobs=jobs, size=size, sentences=sentences,
                                       decoder=decoder,
                                       show=frame.pretty and frame.pretty.chunks)
                if size is None and not seen:
                    _warn(f"{source}: no text; nothing to tag")
        finished = True
    finally:
        if pool is not None:
            runtime.stop_pool(pool, finished)


def _tag_tokenized(model, name: str, out, *, fmt: str, per: str, encoding: str,
                   several: bool, blank: bool, pretty, decoder: str | None) -> None:
    """One CoNLL input (``--tokenized``) tagged and written in ``fmt`` (``decoder``: None
    for the model's own)."""
    from nertag.render import formats  # lazy: NumPy only when tagging (0.2 s)
    from nertag.tagging import runtime, tokenized

    source = "<stdin>" if name == "-" else name
    path = "/dev/stdin" if name == "-" else name
    chunks = []
    try:
        for sents, tags, chunk in ([] if blank else tokenized.tag_file(model, path,
                                                                        encoding, decoder)):
            if fmt == "conll":
                out.write(tokenized.conll(sents, tags))
            elif per == "document":
                chunks.append(chunk)
            elif fmt == "pretty":
                pretty.chunks([chunk])
            else:
                out.write(runtime.format_chunks([chunk], fmt, source if several else None))
            blank = False  # (the pipe had text)
    except tokenized.NotColumns as e:
        raise NertagError(f"{e.message}; if this is running text, drop --tokenized") from None
    except NertagError as e:  # the CoNLL reader's "file is empty": standard input only
        if name != "-" or not e.message.startswith(f"{path}: file is empty"):
            raise
        _warn(f"{source}: no text; nothing to tag")
    if per == "document":
        out.write(formats.document_json(chunks, source))


def _tag_dask(inputs: list[str], out, frame: Frame, *, model_path: Path,
              decoder: str | None, fmt: str, encoding: str, scheduler: str | None,
              workers: int | None, sentences: str) -> None:
    """``--engine dask``: the inputs tagged on a Dask cluster (a local one unless
    ``scheduler`` is given), written to ``out`` in order (file by file if each has a
    section of its own)."""
    try:
        from nertag import dask as nertag_dask
    except ImportError:
        raise UsageError("--engine dask needs the optional 'dask' extra: pip install "
                         "'nertag[dask]'") from None
    if scheduler is None:
        from nertag.tagging.workers import cap_for, usable_cpus

        cluster, client = nertag_dask.local_cluster(cap_for(
            "--workers", workers or usable_cpus(), inputs, _warn, nertag_dask.BLOCK_BYTES))
    else:
        cluster, client = None, nertag_dask.connect(scheduler)
    try:
        for group in ([[name] for name in inputs] if frame.sections else [inputs]):
            with frame.input(group[0]) if frame.sections else contextlib.nullcontext():
                sources = [name if len(inputs) > 1 else None for name in group]
                nertag_dask.tag_files(client, group, out, model=model_path, decoder=decoder,
                                      fmt=fmt, encoding=encoding, sources=sources,
                                      upload=scheduler is not None, sentences=sentences)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
