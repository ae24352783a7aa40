"""``nertag tag``: read inputs, tag them in bounded-memory batches, write a format."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections import deque
from pathlib import Path
from typing import IO, Iterator

# BLAS threads are set (one by default) by the CLI's --threads before NumPy loads
# (cli.set_threads); parallelism comes from --jobs processes.
# NumPy asks for transparent huge pages for big arrays; here the kernel then compacts
# memory on first touch, which made building the 100 MB lookup tables 3-5x slower
# (0.5 s vs 0.15 s) without making the lookups any faster.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

from nertag.inference import formats
from nertag.errors import NertagError, UsageError  # noqa: E402

_worker_model = None


def _open_input(name: str, encoding: str) -> IO[str]:
    if name == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding=encoding, newline="",
                                errors="surrogateescape")
    from nertag.text.conll import open_checked

    # undecodable bytes become lone surrogates, found line by line by _checked (a strict
    # decoder fails a whole 8 KB block at once, before the line is known)
    return io.TextIOWrapper(open_checked(name, "input file"), encoding=encoding, newline="",
                            errors="surrogateescape")


_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _checked(stream: IO[str], name: str, encoding: str) -> Iterator[str]:
    """Lines of a text input; undecodable or binary data is an error naming file and line."""
    lineno = 0
    try:
        for lineno, line in enumerate(stream, 1):
            if "\x00" in line:
                raise NertagError(f"{name}:{lineno}: binary data (NUL byte); nertag tags text "
                                  f"files")
            if _UNDECODABLE.search(line):
                break
            yield line
        else:
            return
    except UnicodeDecodeError:
        lineno += 1
    from nertag.text.conll import not_text

    raise not_text(name, lineno, encoding)


def _init_worker(model_path: str | None) -> None:
    """Worker set-up: a forked worker already has the parent's model (and its tables)."""
    global _worker_model
    if model_path is not None:  # spawn: no shared memory, load it
        from nertag.modelio import load_model

        _worker_model = load_model(model_path, verify=False, read_only=True)
        _worker_model.fast_inference = True


def start_pool(model, model_path: str | Path | None, jobs: int):
    """``jobs`` worker processes that tag with ``model``: forked, they share it as it is;
    spawned (where fork is missing), each loads it from ``model_path``."""
    import multiprocessing as mp
    import signal

    global _worker_model
    fork = "fork" in mp.get_all_start_methods() or model_path is None
    ctx = mp.get_context("fork" if fork else "spawn")
    _worker_model = model
    sys.stdout.flush()
    # workers ignore Ctrl-C from birth (the parent stops them): no traceback per worker
    sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return ctx.Pool(jobs, initializer=_init_worker,
                        initargs=(None if fork else str(model_path),))
    finally:
        signal.signal(signal.SIGINT, sigint)


def stop_pool(pool) -> None:
    global _worker_model
    pool.terminate()
    _worker_model = None


@contextlib.contextmanager
def _rare_gc():
    """Tagging allocates millions of small objects that never form cycles: freeze what
    is loaded and collect rarely (the default thresholds rescan every token over and
    over); the previous settings are restored afterwards."""
    import gc

    old = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def _work(args):
    """In a worker: tag one batch and format it; text comes back UTF-8 encoded (the
    parent writes the bytes as they are instead of decoding and re-encoding them)."""
    batch, fmt, source = args
    from nertag.inference.tagging import tag_chunks

    chunks = tag_chunks(_worker_model, batch)
    return _format(chunks, fmt, source).encode("utf-8") if fmt != "pretty" else chunks


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


def _broken_pipe() -> None:
    raise BrokenPipeError(32, "Broken pipe")


def _pretty(console, chunks) -> None:
    from rich.text import Text

    for c in chunks:  # built left to right: slicing a styled Text per entity is quadratic
        out = Text()
        pos = 0
        for s in c.sentences:
            for e in s.entities:
                a, b = max(e.start - c.offset, pos), e.end - c.offset
                out.append(c.text[pos:a])
                out.append(c.text[a:b], style=f"bold black on {formats.colour(e.label)}")
                out.append(f" {e.label}", style=f"bold {formats.colour(e.label)}")
                pos = max(b, pos)
        out.append(c.text[pos:])
        console.print(out, end="", soft_wrap=True)


def run_tag(*, inputs: list[str], output: Path | None, fmt: str | None, per: str,
            tokenized: bool, model_dir: Path | None, encoding: str, jobs: int,
            decoder: str | None) -> None:
    from nertag.modelio import load_model
    from nertag.resources import default_model

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
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"--encoding: unknown encoding {encoding!r}; use e.g. utf-8 or "
                         f"latin-1") from None
    for name in inputs:
        if name != "-":
            _open_input(name, encoding).close()  # fail early on missing/unreadable inputs
            if os.path.getsize(name) == 0:
                raise NertagError(f"{name}: file is empty; nothing to tag")
    model_path = Path(model_dir) if model_dir else default_model()
    if model_dir is None and not model_path.exists():
        raise NertagError(f"no default model found at {model_path}; give --model DIR")
    model = load_model(model_path, read_only=True)
    model.fast_inference = True
    if decoder:
        model.cfg.model.decoder = decoder
    if output is not None:
        from nertag.atomic import atomic_open

        sink = atomic_open(output, "w", newline="")
    else:
        sink = contextlib.nullcontext(sys.stdout)
    with _rare_gc(), sink as out:
        if tokenized:
            _tag_tokenized(model, inputs, encoding, out)
            return
        console = None
        if fmt == "pretty":
            from rich.console import Console

            console = Console(file=out, highlight=False, soft_wrap=True,
                              force_terminal=None if output is None else False)
            console.on_broken_pipe = _broken_pipe  # rich would exit 1; the CLI stops quietly
        if fmt == "html":
            out.write(formats.html_head(", ".join(inputs), model.labels))
        pool = None
        if jobs > 1:
            out.flush()  # a forked worker must not inherit unwritten output
            pool = start_pool(model, model_path, jobs)
        try:
            for name in inputs:
                source = "<stdin>" if name == "-" else name
                src = source if len(inputs) > 1 else None
                size = os.path.getsize(name) if name != "-" and os.path.isfile(name) else None
                with _open_input(name, encoding) as stream:
                    _tag_stream(model, _checked(stream, source, encoding), fmt, per, src or
                                source, len(inputs) > 1, out, console, pool, jobs, size)
        finally:
            if pool is not None:
                stop_pool(pool)
        if fmt == "html":
            out.write(formats.HTML_TAIL)


def _tag_stream(model, lines, fmt, per, source, multi, out, console, pool, jobs,
                size=None) -> None:
    from nertag.inference.tagging import batches, tag_chunks

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
    # half-size batches, smaller still near the end of an input of known size, so the
    # workers finish it together (a token's scores do not depend on the batch it is in:
    # the output is the same bytes)
    for b in batches(_Lines(), _worker_batch_chars(jobs, size)):
        pending.append(pool.apply_async(_work, ((b, fmt, src),)))
        while len(pending) > 2 * jobs:  # bounded: never read far ahead of the writer
            _emit(pending.popleft().get(), fmt, out, console)
    while pending:
        _emit(pending.popleft().get(), fmt, out, console)


def _worker_batch_chars(jobs: int, size: int | None):
    """Batch sizes for the workers: half of ``BATCH_CHARS``, and for an input of
    ``size`` bytes, once less than ``2 · jobs`` such batches remain, a ``2 · jobs``-th of
    what remains (down to one chunk): the last batches are small, so no worker waits
    long for the one that got the last big batch."""
    from nertag.inference import tagging

    half = max(tagging.BATCH_CHARS // 2, 1)
    if size is None:
        return half
    return lambda done: max(min(half, (size - done) // (2 * jobs)), tagging.CHUNK_CHARS)


def _emit(result, fmt, out, console) -> None:
    if fmt == "pretty":
        _pretty(console, result)
    elif _writes_utf8_as_is(out):
        out.flush()  # whatever text is pending goes first
        out.buffer.write(result)
    else:
        out.write(result.decode("utf-8"))


def _writes_utf8_as_is(out) -> bool:
    """True if ``out`` encodes text as UTF-8 without newline translation (so bytes can
    go to its buffer directly)."""
    enc = (getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return enc == "utf8" and os.linesep == "\n" and hasattr(out, "buffer")


def _tag_tokenized(model, inputs, encoding, out) -> None:
    """CoNLL in, CoNLL out: each input line gets the predicted tag appended."""
    from nertag.text.conll import iter_words

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
