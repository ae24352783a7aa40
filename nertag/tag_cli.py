"""``nertag tag``: read inputs, tag them in bounded-memory batches, write a format."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections import deque
from pathlib import Path
from typing import IO, Iterator

from . import formats
from .errors import NertagError, UsageError

_worker_model = None


def _open_input(name: str, encoding: str) -> IO[str]:
    if name == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding=encoding, newline="",
                                errors="strict")
    from .conll import open_checked

    return io.TextIOWrapper(open_checked(name, "input file"), encoding=encoding, newline="",
                            errors="strict")


def _checked(stream: IO[str], name: str, encoding: str) -> Iterator[str]:
    """Lines of a text input; undecodable or binary data is an error naming file and line."""
    lineno = 0
    try:
        for lineno, line in enumerate(stream, 1):
            if "\x00" in line:
                raise NertagError(f"{name}:{lineno}: binary data (NUL byte); nertag tags text "
                                  f"files")
            yield line
    except UnicodeDecodeError:
        hint = " (try --encoding latin-1)" if encoding.lower() in ("utf-8", "utf8") else ""
        raise NertagError(f"{name}:{lineno + 1}: not valid {encoding} text{hint}") from None


def _init_worker(model_path: str) -> None:
    global _worker_model
    from .modelio import load_model

    _worker_model = load_model(model_path, verify=False)


def _work(args):
    batch, fmt, source = args
    from .tagging import tag_chunks

    chunks = tag_chunks(_worker_model, batch)
    return _format(chunks, fmt, source) if fmt != "pretty" else chunks


def _format(chunks, fmt: str, source: str | None) -> str:
    if fmt == "jsonl":
        return "".join(formats.jsonl(c, source) for c in chunks)
    if fmt == "conll":
        return "".join(formats.conll(c) for c in chunks)
    if fmt == "inline":
        return "".join(formats.inline(c) for c in chunks)
    if fmt == "html":
        return "".join(formats.html_body(c) for c in chunks)
    raise AssertionError(fmt)


def _pretty(console, chunks) -> None:
    from rich.text import Text

    for c in chunks:
        t = Text(c.text)
        for s in c.sentences:
            for e in s.entities:
                t.stylize(f"bold black on {formats.colour(e.label)}", e.start - c.offset,
                          e.end - c.offset)
        out = Text()
        pos = 0
        for s in c.sentences:
            for e in s.entities:
                out.append_text(t[pos:e.end - c.offset])
                out.append(f" {e.label}", style=f"bold {formats.colour(e.label)}")
                pos = e.end - c.offset
        out.append_text(t[pos:])
        console.print(out, end="", soft_wrap=True)


def run_tag(*, inputs: list[str], output: Path | None, fmt: str | None, per: str,
            tokenized: bool, model_dir: Path | None, encoding: str, jobs: int,
            decoder: str | None) -> None:
    from .modelio import load_model
    from .resources import default_model

    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if per not in ("sentence", "document"):
        raise UsageError(f"--per: unknown value {per!r}; use sentence or document")
    if fmt is None:
        fmt = "pretty" if output is None and sys.stdout.isatty() and not tokenized else "jsonl"
    if fmt not in formats.FORMATS:
        raise UsageError(f"--format: unknown format {fmt!r}; use one of "
                         f"{', '.join(formats.FORMATS)}")
    if tokenized and fmt not in ("conll", "jsonl"):
        raise UsageError("--tokenized writes CoNLL columns; it cannot be combined with "
                         f"--format {fmt}")
    if per == "document" and fmt != "jsonl":
        raise UsageError("--per document goes with --format jsonl")
    if inputs.count("-") > 1:
        raise UsageError("standard input '-' can be read only once")
    for name in inputs:
        if name != "-":
            _open_input(name, encoding).close()  # fail early on missing/unreadable inputs
    model_path = Path(model_dir) if model_dir else default_model()
    if model_dir is None and not model_path.exists():
        raise NertagError(f"no default model found at {model_path}; give --model DIR")
    model = load_model(model_path)
    if decoder:
        model.cfg.model.decoder = decoder
    if output is not None:
        from .atomic import atomic_open

        sink = atomic_open(output, "w", newline="")
    else:
        sink = contextlib.nullcontext(sys.stdout)
    with sink as out:
        if tokenized:
            _tag_tokenized(model, inputs, encoding, out)
            return
        console = None
        if fmt == "pretty":
            from rich.console import Console

            console = Console(file=out, highlight=False, soft_wrap=True,
                              force_terminal=None if output is None else False)
        if fmt == "html":
            out.write(formats.html_head(", ".join(inputs), model.labels))
        pool = None
        if jobs > 1:
            import multiprocessing as mp

            ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
            pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(str(model_path),))
        try:
            for name in inputs:
                source = "<stdin>" if name == "-" else name
                src = source if len(inputs) > 1 else None
                with _open_input(name, encoding) as stream:
                    _tag_stream(model, _checked(stream, source, encoding), fmt, per, src or
                                source, len(inputs) > 1, out, console, pool, jobs)
        finally:
            if pool is not None:
                pool.terminate()
        if fmt == "html":
            out.write(formats.HTML_TAIL)


def _tag_stream(model, lines, fmt, per, source, multi, out, console, pool, jobs) -> None:
    from .tagging import batches, tag_chunks

    class _Lines(io.TextIOBase):  # adapt the checked line iterator to what batches() reads
        def __iter__(self):
            return lines

    src = source if multi else None
    if per == "document":
        chunks = [c for b in batches(_Lines()) for c in tag_chunks(model, b)]
        out.write(formats.document_json(chunks, source))
        return
    if pool is None:
        for b in batches(_Lines()):
            chunks = tag_chunks(model, b)
            if fmt == "pretty":
                _pretty(console, chunks)
            else:
                out.write(_format(chunks, fmt, src))
        return
    pending: deque = deque()
    for b in batches(_Lines()):
        pending.append(pool.apply_async(_work, ((b, fmt, src),)))
        while len(pending) > 2 * jobs:  # bounded: never read far ahead of the writer
            _emit(pending.popleft().get(), fmt, out, console)
    while pending:
        _emit(pending.popleft().get(), fmt, out, console)


def _emit(result, fmt, out, console) -> None:
    if fmt == "pretty":
        _pretty(console, result)
    else:
        out.write(result)


def _tag_tokenized(model, inputs, encoding, out) -> None:
    """CoNLL in, CoNLL out: each input line gets the predicted tag appended."""
    from .conll import iter_words

    for name in inputs:
        batch = []
        for sent in iter_words(name if name != "-" else "/dev/stdin", encoding):
            batch.append(sent)
            if len(batch) >= 2000:
                _flush_tokenized(model, batch, out)
                batch = []
        _flush_tokenized(model, batch, out)


def _flush_tokenized(model, batch, out) -> None:
    if not batch:
        return
    tags, _ = model.predict([s.words for s in batch])
    out.write("".join(formats.tokenized_conll(s.columns, t) for s, t in zip(batch, tags)))
