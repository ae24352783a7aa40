"""The tagging runtime: text inputs read line by line and checked, tagged in bounded-
memory batches (in this process or a pool of worker processes), written in a format.

``nertag tag``, ``nertag benchmark`` and the Python API all tag through here.  Output
goes to a text stream; the ``pretty`` format is drawn by the caller (the CLI, with
rich), which passes a ``show(chunks)`` function.
"""

from __future__ import annotations

import contextlib
import gc
import io
import multiprocessing as mp
import os
import re
import signal
import sys
import threading
import time
from collections import deque
from typing import IO, Callable, Iterator

from nertag.errors import NertagError
from nertag.inference.shared_types import share
from nertag.render import formats
from nertag.tagging.chunks import BATCH_CHARS, CHUNK_CHARS, batches, tag_chunks
from nertag.text import sentences as sentence_modes
from nertag.text.conll import not_text, open_checked

#: The model a worker process tags with (set before forking, or loaded by a spawned one).
_worker_model = None

#: Undecodable bytes, as ``errors="surrogateescape"`` decodes them.
UNDECODABLE = re.compile("[\udc80-\udcff]")


def open_text(name: str, encoding: str) -> IO[str]:
    """A text input (``-`` is standard input) with undecodable bytes kept as lone
    surrogates, so :func:`checked_lines` can name the line they are on (a strict
    decoder fails a whole 8 KB block at once, before the line is known)."""
    if name == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding=encoding, newline="",
                                errors="surrogateescape")
    return io.TextIOWrapper(open_checked(name, "input file"), encoding=encoding, newline="",
                            errors="surrogateescape")


def checked_lines(stream: IO[str], name: str, encoding: str, first_line: int = 1
                  ) -> Iterator[str]:
    """Lines of a text input; undecodable or binary data is an error naming file and line
    (``first_line``: the number of the stream's first line in the file)."""
    lineno = first_line - 1
    try:
        for lineno, line in enumerate(stream, first_line):
            if "\x00" in line:
                raise NertagError(f"{name}:{lineno}: binary data (NUL byte); nertag tags text "
                                  f"files")
            if UNDECODABLE.search(line):
                break
            yield line
        else:
            return
    except UnicodeDecodeError:
        lineno += 1
    raise not_text(name, lineno, encoding)


class Lines(io.TextIOBase):
    """A line iterator as the text stream :func:`~nertag.tagging.chunks.batches` reads."""

    def __init__(self, lines: Iterator[str]):
        self._lines = lines

    def __iter__(self):
        return self._lines


# ------------------------------------------------------------------ worker processes
def _init_worker(reload: Callable | None) -> None:
    """Worker set-up: a forked worker already has the parent's model (and its tables);
    a spawned one calls ``reload()`` to load it."""
    global _worker_model
    if reload is not None:
        _worker_model = reload()
        _worker_model.fast_inference = True


def start_pool(model, jobs: int, reload: Callable | None = None):
    """``jobs`` worker processes that tag with ``model``: forked, they share it as it is,
    and one table of word types (:mod:`~nertag.inference.shared_types`); spawned (where
    fork is missing), each calls the picklable ``reload()`` for its own."""
    global _worker_model
    fork = "fork" in mp.get_all_start_methods() or reload is None
    ctx = mp.get_context("fork" if fork else "spawn")
    if fork and getattr(model, "fast_inference", False):
        share(model)  # one word-type table for all the workers
    _worker_model = model
    sys.stdout.flush()
    # workers ignore Ctrl-C from birth (the parent stops them): no traceback per worker
    sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(None if fork else reload,))
    finally:
        signal.signal(signal.SIGINT, sigint)
    pool.nertag_workers = list(pool._pool)  # the workers started: see worker_death
    return pool


#: Seconds between looks at the workers while a result is awaited.
POLL_SECONDS = 0.2
#: Seconds the workers of a finished run get to exit, and a stopped pool to wind up.
JOIN_SECONDS = 10.0


class WorkerDied(NertagError):
    """A worker process of the pool died before its task was done."""


def worker_death(pool) -> WorkerDied | None:
    """The error to raise if one of ``pool``'s workers has died (None if none has).

    A dead worker (killed by the out-of-memory killer, say) takes its task with it, and
    ``multiprocessing.Pool`` starts another in its place that never hears of that task:
    its result would be awaited for ever.  Every worker the pool started is watched (the
    list :func:`start_pool` keeps; the pool's own list for another pool), and any pid the
    pool has that is not one of them is a replacement, so a death."""
    started = getattr(pool, "nertag_workers", None) or list(pool._pool)
    for p in started:
        code = p.exitcode
        if code is not None:
            return WorkerDied(f"a worker process died ({_how(code)}); nothing more was "
                              f"written; tag again (with fewer worker processes if memory "
                              f"is short)")
    pids = {p.pid for p in started}
    if any(p.pid not in pids for p in list(pool._pool)):
        return WorkerDied("a worker process died (it was replaced); nothing more was "
                          "written; tag again (with fewer worker processes if memory is "
                          "short)")
    return None


def _how(code: int) -> str:
    if code >= 0:
        return f"exit status {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = "an unknown signal"
    why = ": the system may have run out of memory" if -code == signal.SIGKILL else ""
    return f"killed by signal {-code}, {name}{why}"


def result(pool, pending):
    """The result of ``pending`` (an ``AsyncResult`` of ``pool``), waited for as long as
    the workers live: :class:`WorkerDied` once one of them dies without it."""
    while True:
        try:
            return pending.get(POLL_SECONDS)
        except mp.TimeoutError:
            died = worker_death(pool)
            if died is not None and not pending.ready():
                raise died from None


def stop_pool(pool, finished: bool = False) -> None:
    """Stop the workers: at once, or (``finished``: every task is done) by letting them
    exit on their own, for up to ``JOIN_SECONDS``.  Every wait is bounded: a worker still
    there after it is killed, and a pool that a dead worker left stuck (holding the lock
    of its task queue), are given up on after ``JOIN_SECONDS``."""
    global _worker_model
    _worker_model = None
    workers = list(getattr(pool, "nertag_workers", ())) + list(pool._pool)
    deadline = time.monotonic() + JOIN_SECONDS
    if finished and worker_death(pool) is None:
        pool.close()
        for p in workers:
            p.join(max(0.0, deadline - time.monotonic()))
        if all(p.exitcode is not None for p in workers):
            _bounded(pool.join, deadline)
            return
    # terminate() waits for the lock of the task queue, which a killed worker may hold
    # for ever: it runs in a thread of its own, and the workers are killed here too
    _bounded(pool.terminate, time.monotonic() + 1.0)
    for p in workers + list(pool._pool):
        if p.exitcode is None:
            p.kill()
    for p in workers + list(pool._pool):
        p.join(max(0.0, deadline - time.monotonic()))


def _bounded(call, deadline: float) -> None:
    """``call()`` in a daemon thread, waited for until ``deadline`` (monotonic)."""
    thread = threading.Thread(target=call, daemon=True, name="nertag-stop-pool")
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))


@contextlib.contextmanager
def few_collections():
    """Tagging allocates millions of small objects that never form cycles: collect
    rarely meanwhile (the default thresholds rescan every token over and over); the
    previous thresholds are restored afterwards."""
    old = gc.get_threshold()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*old)


@contextlib.contextmanager
def rare_gc():
    """:func:`few_collections` for a whole run, after freezing what is loaded (so the
    rare collections skip it); the freeze is undone afterwards."""
    gc.collect()
    gc.freeze()
    try:
        with few_collections():
            yield
    finally:
        gc.unfreeze()


def _work(args):
    """In a worker: tag one batch and format it; text comes back UTF-8 encoded (the
    parent writes the bytes as they are instead of decoding and re-encoding them)."""
    batch, fmt, source, sentences, decoder = args
    chunks = tag_chunks(_worker_model, batch, sentences, decoder=decoder)
    return format_chunks(chunks, fmt, source).encode("utf-8") if fmt != "pretty" else chunks


def tag_piece(model, stream: IO[str], name: str, encoding: str, *, line: int, char: int,
              fmt: str, source: str | None, sentences: str, decoder: str | None = None,
              batch_chars: int | Callable[[int], int] | None = None) -> Iterator[bytes]:
    """A piece of file ``name`` tagged batch by batch (``--jobs`` ranges, Dask blocks):
    ``stream`` holds its text, which starts at line ``line`` and character ``char`` of
    the file; yields each batch in ``fmt`` (UTF-8), with the file's own offsets and line
    numbers (``batch_chars``: as :func:`~nertag.tagging.chunks.batches` takes it)."""
    lines = checked_lines(stream, name, encoding, first_line=line)
    for batch in batches(Lines(lines), batch_chars):
        chunks = tag_chunks(model, [(offset + char, text) for offset, text in batch],
                            sentences, decoder=decoder)
        yield format_chunks(chunks, fmt, source).encode("utf-8")


def format_chunks(chunks, fmt: str, source: str | None) -> str:
    """Tagged chunks in one of the text formats (jsonl, conll, inline, html body)."""
    if fmt == "jsonl":
        return "".join(formats.jsonl(c, source) for c in chunks)
    if fmt == "conll":
        return "".join(formats.conll(c) for c in chunks)
    if fmt == "inline":
        return "".join(formats.inline(c) for c in chunks)
    if fmt == "html":
        return "".join(formats.html_body(c) for c in chunks)
    raise ValueError(f"unknown format {fmt!r}")


# ------------------------------------------------------------------ one input
def tag_stream(model, lines: Iterator[str], out: IO[str], *, fmt: str = "jsonl",
               per: str = "sentence", source: str | None = None, pool=None, jobs: int = 1,
               size: int | None = None, show: Callable | None = None,
               sentences: str = sentence_modes.DEFAULT, decoder: str | None = None) -> None:
    """Tag the text given as ``lines`` and write it to ``out`` in format ``fmt``.

    ``source`` goes into each jsonl object (None: left out; ``per="document"`` always
    names it); ``pool``/``jobs`` tag batches in worker processes (see :func:`start_pool`),
    ``size`` (the input's size, if known) makes the last batches smaller so the workers
    finish together; with ``fmt="pretty"``, ``show(chunks)`` draws each batch;
    ``sentences``: which line breaks end a sentence (:mod:`nertag.text.sentences`);
    ``decoder``: ``greedy``, ``constrained`` or ``viterbi`` (None: the model's own).
    """
    sentence_modes.check_mode(sentences)
    if per == "document":
        chunks = [c for b in batches(Lines(lines))
                  for c in tag_chunks(model, b, sentences, decoder=decoder)]
        out.write(formats.document_json(chunks, source or "<stdin>"))
        return
    if pool is None:
        for b in batches(Lines(lines)):
            chunks = tag_chunks(model, b, sentences, decoder=decoder)
            if fmt == "pretty":
                show(chunks)
            else:
                out.write(format_chunks(chunks, fmt, source))
        return
    pending: deque = deque()
    # half-size batches, smaller still near the end of an input of known size, so the
    # workers finish it together (a token's scores do not depend on the batch it is in:
    # the output is the same bytes)
    # (with document context a batch is a document: the same batches as one process)
    same = model.featurizer.doc_context is not None
    for b in batches(Lines(lines), None if same else _worker_batch_chars(jobs, size)):
        pending.append(pool.apply_async(_work, ((b, fmt, source, sentences, decoder),)))
        while len(pending) > 2 * jobs:  # bounded: never read far ahead of the writer
            _emit(result(pool, pending.popleft()), fmt, out, show)
    while pending:
        _emit(result(pool, pending.popleft()), fmt, out, show)


def _worker_batch_chars(jobs: int, size: int | None):
    """Batch sizes for the workers: half of ``BATCH_CHARS``, and for an input of
    ``size`` bytes, once less than ``2 · jobs`` such batches remain, a ``2 · jobs``-th of
    what remains (down to one chunk): the last batches are small, so no worker waits
    long for the one that got the last big batch."""
    half = max(BATCH_CHARS // 2, 1)
    if size is None:
        return half
    return lambda done: max(min(half, (size - done) // (2 * jobs)), CHUNK_CHARS)


def _emit(result, fmt, out, show) -> None:
    if fmt == "pretty":
        show(result)
    elif writes_utf8_as_is(out):
        out.flush()  # whatever text is pending goes first
        out.buffer.write(result)
    else:
        out.write(result.decode("utf-8"))


def writes_utf8_as_is(out) -> bool:
    """True if ``out`` encodes text as UTF-8 without newline translation (so bytes can
    go to its buffer directly)."""
    enc = (getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return enc == "utf8" and os.linesep == "\n" and hasattr(out, "buffer")
