"""The name-list file: gzip-compressed UTF-8 text, one entry a line.

    # nertag name lists, format 1: CATEGORY<TAB>tokens joined by one space
    LOC-city<TAB>Rio de Janeiro
    PER-last<TAB>Smith

Lines are sorted (category, then entry) and unique; lines that start with ``#`` are
comments. An entry's tokens are cut as nertag's tokenizer cuts running text and joined by
one space (a token never holds whitespace). The gzip header has no name and no time
stamp, so the same lists always give the same bytes. ``tools/build_gazetteers.py``
writes it; :class:`nertag.text.gazetteer.Gazetteer` matches it.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from nertag.atomic import atomic_open
from nertag.errors import NertagError

__all__ = ["FORMAT_LINE", "Lists", "capitalised", "lists_text", "lists_bytes", "read_bytes", "decode_bytes",
           "read_text", "read_lists", "write_lists", "parse_text", "parse_lines_flat",
           "provenance_path"]

FORMAT_LINE = "# nertag name lists, format 1: CATEGORY<TAB>tokens joined by one space"
_REBUILD = "rebuild it with `python -m tools.build_gazetteers FILE`"

Lists = Mapping[str, Iterable[Sequence[str]]]


def capitalised(token: str) -> bool:
    """``cap()`` of the matching rule: ``token`` starts with a capital (a letter that
    ``str.lower`` changes)."""
    return token[:1].lower() != token[:1]


def _check_category(name: str) -> None:
    if not name or any(ch.isspace() for ch in name) or name.startswith("#"):
        raise ValueError(f"category name {name!r}: must be non-empty, without spaces or tabs, "
                         "and not start with '#'")


def _check_entry(category: str, entry: Sequence[str]) -> tuple[str, ...]:
    entry = tuple(entry)
    if not entry or any(not t or any(ch.isspace() for ch in t) for t in entry):
        raise ValueError(f"{category}: entry {entry!r} must be one or more tokens without "
                         "whitespace")
    return entry


def lists_text(lists: Lists) -> str:
    """The file's text for ``lists``: the format line, then sorted unique entry lines."""
    lines = [FORMAT_LINE]
    for cat in sorted(lists):
        _check_category(cat)
        entries = {" ".join(_check_entry(cat, e)) for e in lists[cat]}
        lines += [f"{cat}\t{e}" for e in sorted(entries)]
    return "\n".join(lines) + "\n"


def lists_bytes(lists: Lists) -> bytes:
    """The file's bytes for ``lists``: gzip with no name and no time stamp, so the same
    lists always give the same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(lists_text(lists).encode("utf-8"))
    return buf.getvalue()


def write_lists(path: str | os.PathLike, lists: Lists) -> int:
    """Write ``lists`` (category -> entries, each a sequence of tokens); returns the bytes written.

    Sorted by category then entry, exact duplicates removed; the same lists always give
    the same bytes (:func:`lists_bytes`).
    """
    data = lists_bytes(lists)
    with atomic_open(path, "wb") as f:
        f.write(data)
    return len(data)


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes as stored (gzip); errors name the file."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise NertagError(f"{path}: no such name-list file; {_REBUILD}", exit_code=2) from None
    except IsADirectoryError:
        raise NertagError(f"{path}: is a directory, not a name-list file", exit_code=2) from None
    except OSError as e:
        raise NertagError(f"{path}: cannot read the name lists ({e.strerror or e})",
                          exit_code=2) from None


def decode_bytes(data: bytes, source) -> str:
    """The text of a name-list file's bytes; ``source`` names it in errors."""
    try:
        return gzip.decompress(data).decode("utf-8")
    except (OSError, EOFError, zlib.error):
        raise NertagError(f"{source}: not a gzip file; {_REBUILD}", exit_code=2) from None
    except UnicodeDecodeError as e:
        raise NertagError(f"{source}: not UTF-8 text after decompression ({e.reason}); "
                          f"{_REBUILD}", exit_code=2) from None


def read_text(path: str | os.PathLike) -> str:
    return decode_bytes(read_bytes(path), path)


def provenance_path(path: str | os.PathLike) -> Path:
    """Where the provenance of the name-list file ``path`` lies: ``NAME.provenance.json``
    beside ``NAME.tsv.gz`` (as ``tools/build_gazetteers.py`` writes it)."""
    path = Path(path)
    name = path.name
    for suffix in (".tsv.gz", ".gz", ".tsv"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name(name + ".provenance.json")


def _parse_lines(text: str, source) -> dict[str, list[tuple[str, ...]]]:
    """Line by line, with the line number of the first bad line in the error."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        cat, tab, entry = line.partition("\t")
        tokens = tuple(entry.split(" "))
        if not tab or not cat or any(ch.isspace() for ch in cat) or "\t" in entry \
                or "" in tokens:
            raise NertagError(f"{source}, line {lineno}: expected CATEGORY<TAB>tokens joined "
                              f"by one space, got {line[:60]!r}; {_REBUILD}", exit_code=2)
        out.setdefault(cat, []).append(tokens)
    return out


def read_lists(path: str | os.PathLike) -> dict[str, list[tuple[str, ...]]]:
    """The lists of a file :func:`write_lists` wrote: category -> entries (tuples of tokens)."""
    return _parse_lines(read_text(path), path)


def parse_text(text: str, source
               ) -> tuple[list[str], np.ndarray, np.ndarray, list[str], np.ndarray]:
    """The file's text as flat arrays, without a Python loop per line.

    Returns (categories, category of each entry ``(M,)``, tokens per entry ``(M,)``, the
    casefolded tokens ``(T,)`` in entry order, whether each token is capitalised ``(T,)``).
    Comments are read only at the top; anything unusual is handed to
    :func:`parse_lines_flat`, which names a bad line.
    """
    body = text
    while body.startswith("#"):
        body = body.partition("\n")[2]
    body = body[:-1] if body.endswith("\n") else body
    parts = body.replace("\n", "\t").split("\t") if body else []
    cats, entries = parts[0::2], parts[1::2]
    block = "\n".join(entries)
    if (len(cats) != len(entries) or body.count("\n") + 1 != len(cats) and body
            or "\n#" in body or "  " in block or " \n" in block or "\n " in block
            or block[:1] == " " or block[-1:] == " " or "\n\n" in block or "" in cats
            or any(ch.isspace() for c in set(cats) for ch in c)):
        return parse_lines_flat(text, source)
    categories = sorted(set(cats))
    number = dict(zip(categories, range(len(categories))))
    entry_cat = np.fromiter(map(number.__getitem__, cats), np.int64, len(cats))
    folded = block.casefold().replace("\n", " ").split(" ") if block else []
    points = np.frombuffer(block.encode("utf-32-le"), np.uint32)
    newline, space = np.flatnonzero(points == 10), np.flatnonzero(points == 32)
    lens = np.bincount(np.searchsorted(newline, space), minlength=len(cats)) + 1
    first = np.zeros(len(points) + 1, bool)  # where a token starts
    first[0] = first[newline + 1] = first[space + 1] = True
    first = np.flatnonzero(first[:-1]) if block else np.zeros(0, np.int64)
    chars, which = np.unique(points[first], return_inverse=True)
    caps = np.fromiter(map(capitalised, map(chr, chars.tolist())), bool, len(chars))[which]
    if len(folded) != len(caps) or lens.sum() != len(folded):
        return parse_lines_flat(text, source)
    return categories, entry_cat, lens, folded, caps


def parse_lines_flat(text: str, source):
    """Same result as :func:`parse_text`, one entry at a time."""
    lists = _parse_lines(text, source)
    categories = sorted(lists)
    entries = [(c, e) for c, cat in enumerate(categories) for e in lists[cat]]
    entry_cat = np.array([c for c, _ in entries], np.int64)
    lens = np.array([len(e) for _, e in entries], np.int64)
    folded = [t.casefold() for _, e in entries for t in e]
    caps = np.array([capitalised(t) for _, e in entries for t in e], bool)
    return categories, entry_cat, lens, folded, caps
