"""``nertag tag --jobs N`` on a regular file: each worker process tags byte ranges of
the file on its own and writes its output to a temporary file; the parent joins the
files in order.  No text and no tagged batch goes through the parent.

Where a range may start: where one process, reading the whole file, starts a chunk
(:func:`~nertag.tagging.chunks.iter_chunks`) at the start of a line -- after a
blank line (a paragraph break), or, in a paragraph longer than ``MAX_CHUNK_CHARS``, at
the line end where one process cuts it too.  A worker reading from there cuts exactly
the chunks one process cuts, so it sees the same sentences, and a token's scores do not
depend on what else is in its batch (:mod:`nertag.inference.word_types`): the output
is the same bytes as one process writes.

The parent finds the ranges with one pass over the file as one process reads it
(decoded, line by line, checked: an undecodable line or a NUL byte is reported with its
line number before any of the text after it is tagged), recording for each range its
first byte, its first character's offset in the file and its first line's number, so
offsets and line numbers in the workers' output are the file's own.  The pass runs
while the workers tag the first ranges.  Ranges shrink towards the end of the file
(each a ``2·jobs``-th of what remains, down to ``RANGE_MIN_BYTES``), so the workers
finish together.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
import shutil
import stat
import tempfile
from collections import deque
from dataclasses import dataclass
from typing import IO, Iterator

from nertag.errors import NertagError
from nertag.tagging import runtime
from nertag.tagging.chunks import BATCH_CHARS, CHUNK_CHARS, iter_chunks
from nertag.text import sentences as sentence_modes

#: Files smaller than this are tagged in batches sent to the workers (``tag_stream``).
SPLIT_MIN_BYTES = 1 << 20
#: The smallest range (the last ranges of a file), in bytes.
RANGE_MIN_BYTES = 128 << 10
#: Encodings a range can be decoded in on its own, from any line start: stateless, one
#: byte per character or UTF-8 (no byte of a character is a line-end byte).
_SAFE_CODECS = re.compile(r"utf-8|ascii|iso8859-\d+|cp125\d|latin-1|koi8-[ru]|mac-roman")


@dataclass(frozen=True)
class Range:
    """Bytes ``start:end`` of a file; ``char`` is the offset of its first character in
    the decoded file and ``line`` the number of its first line."""

    start: int
    end: int
    char: int
    line: int


def range_safe(encoding: str) -> bool:
    """True if a piece of a file in ``encoding`` that starts at a line start decodes on its
    own, and its line ends and spaces are one byte each."""
    return bool(_SAFE_CODECS.fullmatch(codecs.lookup(encoding).name))


def splittable(name: str, encoding: str) -> bool:
    """True if input ``name`` is tagged in byte ranges: a regular file of at least
    ``SPLIT_MIN_BYTES`` in an encoding a range decodes on its own."""
    if name == "-" or not os.path.isfile(name):
        return False
    if not range_safe(encoding):
        return False
    return os.path.getsize(name) >= SPLIT_MIN_BYTES


class Counted:
    """The lines of a text stream, counting lines and characters as they are read."""

    def __init__(self, lines: Iterator[str]):
        self._lines = lines
        self.lines = self.chars = 0

    def __iter__(self):
        for line in self._lines:
            self.lines += 1
            self.chars += len(line)
            yield line


def plan(name: str, encoding: str, jobs: int, size: int | None = None) -> Iterator[Range]:
    """The ranges of file ``name`` for ``jobs`` workers, as the pass over it finds them."""
    size = os.path.getsize(name) if size is None else size
    with runtime.open_text(name, encoding) as stream:
        counted = Counted(runtime.checked_lines(stream, name, encoding))
        first = Range(0, 0, 0, 1)  # where the next range starts
        at = 0  # bytes read
        target = _target(size, 0, jobs)
        for offset, text in iter_chunks(counted):
            at += len(text.encode(encoding, "surrogateescape"))
            # a cut where one process starts a chunk at a line start
            if offset + len(text) == counted.chars and at - first.start >= target:
                yield Range(first.start, at, first.char, first.line)
                first = Range(at, at, counted.chars, counted.lines + 1)
                target = _target(size, at, jobs)
        if at > first.start:
            yield Range(first.start, at, first.char, first.line)
    if at != size:
        raise NertagError(f"{name}: the file changed while it was being read; tag it again")


def _target(size: int, done: int, jobs: int) -> int:
    return max((size - done) // (2 * jobs), RANGE_MIN_BYTES)


class _Slice(io.RawIOBase):
    """Bytes ``start:end`` of a file, as a raw stream."""

    def __init__(self, path: str, start: int, end: int):
        self._f = open(path, "rb", buffering=0)
        self._f.seek(start)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._left <= 0:
            return 0
        n = self._f.readinto(memoryview(b)[:self._left])
        self._left -= n
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


def _tag_range(task) -> tuple[str, int]:
    """In a worker: tag one range into a temporary file; its path and size in bytes."""
    name, encoding, r, fmt, source, tmpdir, sentences, decoder = task
    model = runtime._worker_model
    stream = io.TextIOWrapper(io.BufferedReader(_Slice(name, r.start, r.end), 1 << 16),
                              encoding=encoding, newline="", errors="surrogateescape")
    fd, part = tempfile.mkstemp(prefix=f"{r.start:012d}.", suffix=".part", dir=tmpdir)
    # a worker's first range in small batches first: it shares the word types it meets
    # after each batch (later, big batches: a 64K batch costs 13% more per character)
    global _first_range
    sizes, _first_range = (_ramp if _first_range else None), False
    with stream, open(fd, "wb") as out:
        for part_bytes in runtime.tag_piece(model, stream, name, encoding, line=r.line,
                                            char=r.char, fmt=fmt, source=source,
                                            sentences=sentences, decoder=decoder,
                                            batch_chars=sizes):
            out.write(part_bytes)
        written = out.tell()
    return part, written


#: True in a worker until it starts its first range.
_first_range = True


def _ramp(done: int) -> int:
    """Batch sizes of a range: one chunk, then doubling up to ``BATCH_CHARS``."""
    return min(max(done, CHUNK_CHARS), BATCH_CHARS)


def tag_ranges(pool, name: str, encoding: str, out: IO[str], *, jobs: int, fmt: str = "jsonl",
               source: str | None = None, tmpdir: str | None = None,
               sentences: str = sentence_modes.DEFAULT, decoder: str | None = None) -> None:
    """Tag file ``name`` in byte ranges in ``pool``'s workers (see :func:`runtime.start_pool`;
    started by fork, they already hold the model) and write the output to ``out`` in
    order, as :func:`runtime.tag_stream` writes it (``fmt``: jsonl, conll, inline or html
    body; ``source`` goes into each jsonl object).  ``tmpdir``: where the workers' files
    go (default: the system's temporary directory); ``sentences``: which line breaks end
    a sentence (:mod:`nertag.text.sentences`); ``decoder``: None for the model's own."""
    if fmt not in ("jsonl", "conll", "inline", "html"):
        raise ValueError(f"tag_ranges writes jsonl, conll, inline or html, not {fmt!r}")
    sentence_modes.check_mode(sentences)
    before = os.stat(name)
    with tempfile.TemporaryDirectory(prefix=".nertag-parts-", dir=tmpdir,
                                     ignore_cleanup_errors=True) as parts:
        pending: deque = deque()
        try:
            try:
                for r in plan(name, encoding, jobs, before.st_size):
                    pending.append(pool.apply_async(_tag_range,
                                                    ((name, encoding, r, fmt, source, parts,
                                                      sentences, decoder),)))
                    while pending and pending[0].ready():
                        _append(runtime.result(pool, pending.popleft()), out)
            except runtime.WorkerDied:
                raise
            except NertagError:
                while pending:  # the text before the bad line is written, as one process does
                    _append(runtime.result(pool, pending.popleft()), out)
                raise
            while pending:
                _append(runtime.result(pool, pending.popleft()), out)
        except BaseException:
            runtime.stop_pool(pool)  # no worker may still write into the parts directory
            raise
    now = os.stat(name)
    if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise NertagError(f"{name}: the file changed while it was being tagged; tag it again")


def _append(result: tuple[str, int], out: IO[str]) -> None:
    """Copy a worker's file to ``out`` and delete it.  Into a regular file, the copy is
    also written to disk now, while the workers tag (the final fsync of an output file
    then has little left to write)."""
    part, _ = result
    with open(part, "rb") as f:
        if runtime.writes_utf8_as_is(out):
            out.flush()
            _copy(f, out.buffer)
            with contextlib.suppress(OSError, AttributeError, io.UnsupportedOperation):
                fd = out.buffer.fileno()
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    os.fdatasync(fd)
        else:
            for block in iter(lambda: f.read(1 << 20), b""):
                out.write(block.decode("utf-8", "surrogateescape"))
    os.unlink(part)


def _copy(src: IO[bytes], dst: IO[bytes]) -> None:
    """All of ``src`` to ``dst`` (in the kernel if both are files: ``sendfile``)."""
    dst.flush()
    try:
        fd, size = dst.fileno(), os.fstat(src.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        shutil.copyfileobj(src, dst, 1 << 20)
        return
    sent = 0
    with contextlib.suppress(OSError):
        while sent < size:
            n = os.sendfile(fd, src.fileno(), sent, size - sent)
            if n == 0:
                break
            sent += n
    if sent < size:  # sendfile refused (or stopped): the rest by hand
        src.seek(sent)
        shutil.copyfileobj(src, dst, 1 << 20)
