"""Text files in Dask: blocks of bytes cut at blank lines, tagged in the workers with the
file's own character offsets and line numbers.

As ``dask.bytes.read_bytes(path, delimiter=...)`` does, a file of S bytes is split at
``0, B, 2B, ...`` and each split point is moved forward to the end of the next blank
line (a line of spaces and tabs, after LF, CRLF or CR line ends: a paragraph break,
where a sentence always ends), so every block holds whole paragraphs.  Two passes over
the blocks, both in the workers:

1. :func:`count_block` finds its block's bounds and counts its characters and lines
   (and finds the first undecodable or NUL line); the client adds them up into each
   block's first character offset and line number (and reports the first bad line, with
   its number in the file, as one process does);
2. :func:`tag_block` tags its block as one process tags the file: offsets are offsets
   into the file, and the output is the same bytes.

A model with document context (``features.doc_context``) treats each batch one process
tags (:func:`~nertag.tagging.chunks.group_chunks`, about ``BATCH_CHARS`` characters) as
one document, so its blocks must hold whole batches: pass 1 is then
:func:`batch_blocks`, one task per file that reads the file as one process does and
cuts it only where one process ends a batch at a line start.  Reading from such a cut,
``tag_block`` makes the same chunks and batches as one process (both restart empty after
a batch), so the same documents and the same bytes.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass, replace

import fsspec

from nertag.dask._model import ModelRef, tagging
from nertag.errors import NertagError
from nertag.tagging import runtime
from nertag.tagging.chunks import batches
from nertag.tagging.parallel import Counted, range_safe
from nertag.text.sentences import DEFAULT as DEFAULT_SENTENCES

#: A blank line: a line end, spaces or tabs, a line end (LF, CRLF or a lone CR).
_BREAK = re.compile(rb"(?:\r\n|\r(?!\n)|\n)[ \t\f\v]*(?:\r\n|\r(?!\n)|\n)")
_WINDOW = 1 << 16
#: Bytes per block (the output is ~16 times bigger): ~1 s of work per task.
BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class Block:
    """Bytes ``start:end`` of file ``path``, whose first character is character ``char``
    of the file and first line its line ``line``."""

    path: str
    start: int
    end: int
    char: int
    line: int


@contextlib.contextmanager
def _reading(path: str):
    """The file, opened for reading in a worker (a one-line error if it cannot be)."""
    try:
        f = fsspec.open(path, "rb").open()
    except OSError as e:
        raise NertagError(f"{path}: a Dask worker cannot read it ({e.strerror or e}); every "
                          f"worker needs the file at this path (or give a URL they can read)"
                          ) from None
    with f:
        yield f


def _size(path: str) -> int:
    fs, p = fsspec.core.url_to_fs(path)
    return int(fs.size(p))


def cut_after(f, pos: int, size: int) -> int:
    """Where a block split at byte ``pos`` starts: the end of the first blank line found
    searching from byte ``pos - 1`` (0 and ``size`` stay).  Depends on the file alone."""
    if pos <= 0:
        return 0
    if pos >= size:
        return size
    a, data, start = pos - 1, bytearray(), 0
    f.seek(a)
    while True:
        more = f.read(_WINDOW)
        data += more
        eof = not more or a + len(data) >= size
        m = _BREAK.search(data, start)
        if m and (m.end() < len(data) or eof):  # (a CR at the end may be half a CRLF)
            return a + m.end()
        if eof:
            return size
        # only a break starting at the last line end can still appear: read on from there
        start = m.start() if m else max(max(data.rfind(b"\n"), data.rfind(b"\r")) - 1, start)
        if start > _WINDOW:  # keep the window small in a long paragraph
            del data[:start]
            a, start = a + start, 0


def count_block(path: str, offset: int, next_offset: int, size: int, encoding: str):
    """Pass 1 in a worker: ``(start, end, chars, lines, bad)`` of the block split at bytes
    ``offset:next_offset``; ``bad`` is None or ``(line in the block, sample)`` for the first
    line that does not decode or holds a NUL byte."""
    with _reading(path) as f:
        start = cut_after(f, offset, size)
        end = cut_after(f, next_offset, size)
        if end <= start:
            return start, start, 0, 0, None
        f.seek(start)
        text = f.read(end - start).decode(encoding, "surrogateescape")
    lines = text.count("\n") + text.count("\r") - text.count("\r\n")
    bad = None
    if "\x00" in text or runtime.UNDECODABLE.search(text):
        for k, line in enumerate(io.StringIO(text, newline=""), 1):
            if "\x00" in line or runtime.UNDECODABLE.search(line):
                bad = (k, "\x00" if "\x00" in line else "\udcff")
                break
    return start, end, len(text), lines, bad


def blocks_of(counts, path: str, name: str, encoding: str) -> list[Block]:
    """The blocks of a file from their counts (pass 1), with their offsets and first
    line numbers; the first bad line is reported as one process reports it."""
    out, char, line = [], 0, 1
    for start, end, chars, lines, bad in counts:
        if bad is not None:  # the same message as checked_lines gives, at the file's line
            list(runtime.checked_lines(io.StringIO(bad[1]), name, encoding,
                                       first_line=line + bad[0] - 1))
        if end > start:
            out.append(Block(path, start, end, char, line))
        char += chars
        line += lines
    return out


def batch_blocks(path: str, name: str, encoding: str, blocksize: int, size: int
                 ) -> tuple[list[Block], tuple[str, int] | None]:
    """Pass 1 for a model with document context, one task per file in a worker: the
    file's blocks, each of whole consecutive batches of one process (about ``blocksize``
    bytes, cut only where a batch ends at a line start), and None; or, for a line that
    does not decode or holds a NUL byte (or a file that changed), ``(message, exit
    code)``, the error one process gives (the file's own line number)."""
    try:
        with _reading(path) as f:
            stream = io.TextIOWrapper(f, encoding=encoding, newline="",
                                      errors="surrogateescape")
            counted = Counted(runtime.checked_lines(stream, name, encoding))
            blocks, first, at = [], Block(path, 0, 0, 0, 1), 0  # first: the open block
            for batch in batches(runtime.Lines(iter(counted))):
                at += sum(len(text.encode(encoding, "surrogateescape")) for _, text in batch)
                offset, text = batch[-1]
                if offset + len(text) == counted.chars and at - first.start >= blocksize:
                    blocks.append(replace(first, end=at))  # (a batch ends at a line start)
                    first = Block(path, at, at, counted.chars, counted.lines + 1)
        if at != size:
            raise NertagError(f"{name}: the file changed while it was being read; tag it "
                              f"again")
    except NertagError as e:  # (given back as data: an exception's own fields keep)
        return [], (e.message, e.exit_code)
    if at > first.start:
        blocks.append(replace(first, end=at))
    return blocks, None


def tag_block(block: Block, name: str, encoding: str, fmt: str, source: str | None,
              ref: ModelRef, sentences: str = DEFAULT_SENTENCES) -> bytes:
    """Pass 2 in a worker: the block tagged and written in ``fmt`` (UTF-8 bytes);
    ``sentences``: which line breaks end a sentence (:mod:`nertag.text.sentences`)."""
    with _reading(block.path) as f:
        f.seek(block.start)
        text = f.read(block.end - block.start).decode(encoding, "surrogateescape")
    stream = io.StringIO(text, newline="")
    del text
    with tagging():
        tagger = ref.tagger()
        return b"".join(runtime.tag_piece(tagger._model, stream, name, encoding,
                                          line=block.line, char=block.char, fmt=fmt,
                                          source=source, sentences=sentences,
                                          decoder=tagger.decoder))


def split_points(size: int, blocksize: int) -> list[tuple[int, int]]:
    """The ``(offset, next_offset)`` pairs a file of ``size`` bytes is split at."""
    check_blocksize(blocksize)
    offsets = list(range(0, size, blocksize)) or [0]
    return list(zip(offsets, offsets[1:] + [size]))


def check_blocksize(blocksize: int) -> None:
    if blocksize < 1:
        raise NertagError(f"blocksize must be at least 1 byte, got {blocksize}")


def check_encoding(encoding: str) -> None:
    """Blocks are cut in bytes: the encoding must keep line ends and spaces one byte."""
    if not range_safe(encoding):
        raise NertagError(f"--encoding {encoding}: Dask reads files in UTF-8 or a one-byte "
                          f"encoding (latin-1, cp1252, ...); convert the file first", 2)
