"""nertag.text.lines: the lines of a data file read block by block are the lines of the
whole file split at LF, CRLF and CR alone -- whatever the block size (a CRLF or the
byte-order mark cut between two blocks), with the line limit and the CR/LF mixing
check at the same line as a whole-file reading would find them."""

from __future__ import annotations

import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from nertag.errors import NertagError
from nertag.text.lines import LineTooLong, iter_lines


def reference(data: bytes, limit, one_kind):
    """The same, from the whole file at once: ``(lines, ("too long" | "mixed", line))``."""
    parts = re.split(rb"(\r\n|\r|\n)", data.removeprefix(b"\xef\xbb\xbf"))
    texts, ends = parts[0::2], parts[1::2] + [b""]
    if texts[-1] == b"":
        texts, ends = texts[:-1], ends[:-1]
    out, first = [], {}
    for k, (raw, end) in enumerate(zip(texts, ends), 1):
        if limit is not None and len(raw) + len(end) > limit:
            return out, ("too long", k)
        if end:
            first.setdefault(end == b"\r", k)
        if one_kind and len(first) == 2:
            return out, ("mixed", first[True], first[False])
        out.append((k, raw))
    return out, None


def read(data: bytes, limit, one_kind, block_size=1 << 16):
    out = []
    try:
        for item in iter_lines(io.BytesIO(data), "f", limit, one_kind, block_size):
            out.append(item)
    except LineTooLong as e:
        return out, ("too long", e.lineno)
    except NertagError as e:
        m = re.match(r"f:(\d+): lines end in CR alone \(old Mac\) and in LF \(line (\d+)\)",
                     e.message)
        assert m, e.message
        return out, ("mixed", int(m[1]), int(m[2]))
    return out, None


_DATA = st.lists(st.sampled_from([b"a", b"bc", b"\r", b"\n", b"\r\n", b"\xef\xbb\xbf", b" "]),
                 max_size=30).map(b"".join)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(data=_DATA, block=st.integers(1, 8), limit=st.sampled_from([None, 1, 3, 6]),
       one_kind=st.booleans())
def test_blocks_read_as_the_whole_file(data, block, limit, one_kind):
    assert read(data, limit, one_kind, block) == reference(data, limit, one_kind)


def test_examples():
    assert read(b"\xef\xbb\xbfa\r\nb\rc\n", None, False)[0] == [(1, b"a"), (2, b"b"), (3, b"c")]
    assert read(b"a\r\r\n", None, True) == ([(1, b"a")], ("mixed", 1, 2))
    assert read(b"ab\ncd", 2, False) == ([], ("too long", 1))  # "ab" and its LF: 3 bytes
    assert read(b"a\n\xef\xbb\xbfb", None, False)[0] == [(1, b"a"), (2, b"\xef\xbb\xbfb")]
