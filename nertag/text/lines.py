"""The lines of a data file, whatever made it: LF, CRLF or CR alone (old Mac exports) end
a line, and a UTF-8 byte-order mark at the start of the file is dropped.

Lines are split on the bytes, before decoding (CR and LF are never part of another
character in UTF-8, Latin-1 or the other ASCII-compatible encodings nertag reads), so
that a line that does not decode can be reported with its number.  Where blank lines
mean something (CoNLL: a sentence ends), a file whose lines end in CR alone *and* in
LF is refused: ``\\r\\r\\n`` (a file converted twice) would otherwise read as a blank
line after every token.
"""

from __future__ import annotations

import re
from typing import IO, Iterator

from nertag.errors import NertagError

UTF8_BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"\r\n|\r|\n")


class LineTooLong(Exception):
    """A line longer than the reader's limit: its number and its first ``limit + 1`` bytes."""

    def __init__(self, lineno: int, head: bytes):
        super().__init__(lineno)
        self.lineno, self.head = lineno, head


def iter_lines(f: IO[bytes], path, limit: int | None = None, one_kind: bool = False,
               block_size: int = 1 << 16) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes without the line end)`` for each line of the binary file ``f``.

    ``limit``: a line longer than that many bytes (counting its line end) raises
    :class:`LineTooLong`, for the caller to say what it expected.  ``one_kind``: refuse
    a file where CR alone and LF (or CRLF) both end lines, naming the first line of each.
    ``block_size``: bytes read at a time.
    """
    first_cr = first_lf = 0  # the first line ending in CR alone / in LF or CRLF
    lineno, head = 0, True
    rest: list[bytes] = []  # the line not ended yet, in blocks (joined once: linear)
    while True:
        block = f.read(block_size)
        if (block and not head and b"\n" not in block and b"\r" not in block
                and not (rest and rest[-1].endswith(b"\r"))):
            rest.append(block)  # no line end in it: more of a long line
            if limit is not None and sum(map(len, rest)) > limit:
                raise LineTooLong(lineno + 1, b"".join(rest)[:limit + 1])
            continue
        buf = b"".join(rest) + block
        if head:  # the byte-order mark, once its 3 bytes (or the whole file) are in
            if block and len(buf) < len(UTF8_BOM):
                rest = [buf]
                continue
            buf, head = buf.removeprefix(UTF8_BOM), False
        if b"\r" in buf:  # slow path; a CR at the end is kept back (is LF next?)
            cut = len(buf) - 1 if block and buf.endswith(b"\r") else len(buf)
            pieces, ends = _EOL.split(buf[:cut]), _EOL.findall(buf[:cut])
            tail = pieces.pop() + buf[cut:]
        else:
            pieces, ends = buf.split(b"\n"), None
            tail = pieces.pop()
        for k, raw in enumerate(pieces):
            lineno += 1
            end = b"\n" if ends is None else ends[k]
            if limit is not None and len(raw) + len(end) > limit:
                raise LineTooLong(lineno, raw[:limit + 1])
            if end == b"\r":
                first_cr = first_cr or lineno
            else:
                first_lf = first_lf or lineno
            if one_kind and first_cr and first_lf:
                raise NertagError(f"{path}:{first_cr}: lines end in CR alone (old Mac) and in LF "
                                  f"(line {first_lf}); nertag cannot tell where lines (and "
                                  f"sentences) end: give the file one kind of line end")
            yield lineno, raw
        if limit is not None and len(tail) > limit:
            raise LineTooLong(lineno + 1, tail[:limit + 1])
        if not block:  # the end: what is left is the last line, without a line end
            if tail:
                yield lineno + 1, tail
            return
        rest = [tail]
