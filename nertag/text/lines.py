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

import io
from typing import IO, Iterator

from nertag.errors import NertagError

UTF8_BOM = b"\xef\xbb\xbf"


class LineTooLong(Exception):
    """A line longer than the reader's limit: its number and its first ``limit + 1`` bytes."""

    def __init__(self, lineno: int, head: bytes):
        super().__init__(lineno)
        self.lineno, self.head = lineno, head


def iter_lines(f: IO[bytes], path, limit: int | None = None, one_kind: bool = False
               ) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes without the line end)`` for each line of the binary file ``f``.

    ``limit``: a line longer than that many bytes (counting its line end) raises
    :class:`LineTooLong`, for the caller to say what it expected.  ``one_kind``: refuse
    a file where CR alone and LF (or CRLF) both end lines, naming the first line of each.
    """
    text = io.TextIOWrapper(f, encoding="latin-1", newline="")  # bytes 1:1, CR/LF/CRLF
    size = -1 if limit is None else limit + 1
    first_cr = first_lf = 0  # the first line ending in CR alone / in LF or CRLF
    lineno = 0
    try:
        while line := text.readline(size):
            lineno += 1
            raw = line.encode("latin-1")
            if lineno == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM):]
            if limit is not None and len(line) > limit:
                raise LineTooLong(lineno, raw)
            if raw.endswith(b"\n"):
                raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
                first_lf = first_lf or lineno
            elif raw.endswith(b"\r"):
                raw = raw[:-1]
                first_cr = first_cr or lineno
            if one_kind and first_cr and first_lf:
                raise NertagError(f"{path}:{first_cr}: lines end in CR alone (old Mac) and in LF "
                                  f"(line {first_lf}); nertag cannot tell where lines (and "
                                  f"sentences) end: give the file one kind of line end")
            yield lineno, raw
    finally:
        try:
            text.detach()  # the caller closes f
        except ValueError:  # f was closed first
            pass
