"""Reading CoNLL column files.

Format: one token a line, columns separated by spaces or tabs; the first column
is the word and the last column the tag (columns in between are ignored); a
blank line ends a sentence; ``-DOCSTART-`` lines are skipped. Tags may be in
IOB1 (the original CoNLL-2003 files), BIO (IOB2), BIOES or IO (Stanford NER's
``word<TAB>PERSON`` with ``O``: labels without a prefix, a run of one label is one
entity); the scheme is auto-detected unless given, and every sentence is returned
in BIO. (Other training formats -- JSONL with character offsets -- are read by
:mod:`nertag.text.spans_jsonl`; :func:`nertag.text.datasets.read_corpus` reads any.)
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

from nertag.errors import NertagError
from nertag.text import tags as tagmod
from nertag.text.lines import LineTooLong, iter_lines

#: Tag schemes a data file may be read in ("auto": detected from its tags).
FILE_SCHEMES = ("auto",) + tagmod.SCHEMES + ("io",)

#: A CoNLL line (one token and its columns) longer than this is an error, not a token.
MAX_LINE_BYTES = 1 << 20


@dataclass
class Sentence:
    words: list[str]
    tags: list[str] = field(default_factory=list)
    line: int = 0  # 1-based line number of the first token in the file
    columns: list[list[str]] | None = None  # the original columns (kept for --tokenized)
    text: str | None = None  # the sentence's text, when read from text with offsets (JSONL)
    offsets: list[tuple[int, int]] | None = None  # each word's [start, end) in ``text``
    doc: int = 0  # the document it belongs to: -DOCSTART- lines (CoNLL), records (JSONL)


@dataclass
class Corpus:
    path: str
    sentences: list[Sentence]
    scheme: str  # the scheme the file was written in (tags are BIO in memory)
    format: str = "conll"  # the file format (see nertag.text.datasets.FORMATS)
    notes: list[str] = field(default_factory=list)  # what a reader changed or skipped

    @property
    def n_tokens(self) -> int:
        return sum(len(s.words) for s in self.sentences)

    def doc_sizes(self) -> list[int]:
        """Sentences per document, in order (see :attr:`Sentence.doc`)."""
        sizes: list[int] = []
        last = None
        for s in self.sentences:
            if s.doc != last:
                sizes.append(0)
                last = s.doc
            sizes[-1] += 1
        return sizes

    def entity_types(self) -> list[str]:
        return sorted({t[2:] for s in self.sentences for t in s.tags if t != "O"})


def check_encoding(encoding: str) -> None:
    """A usage error unless ``encoding`` names a codec Python knows."""
    try:
        "".encode(encoding)
    except LookupError:
        raise NertagError(f"unknown encoding '{encoding}'; use e.g. utf-8 or latin-1",
                          exit_code=2) from None


def open_checked(path: str | os.PathLike, what: str = "data file") -> IO[bytes]:
    """Open a user's file for reading in binary, turning OS errors into one-line messages."""
    p = Path(path)
    if not p.exists():
        raise NertagError(f"{p}: {what} not found; check the path")
    if p.is_dir():
        raise NertagError(f"{p}: is a directory, not a file; give the path of the {what}")
    try:
        f = open(p, "rb")
    except PermissionError:
        raise NertagError(f"{p}: permission denied; check the file's permissions") from None
    except OSError as e:
        raise NertagError(f"{p}: cannot open ({e.strerror})") from None
    return f


def not_text(path, lineno: int, encoding: str) -> NertagError:
    """The error for a line that does not decode (with a hint for UTF-8 readers)."""
    hint = " (try --encoding latin-1)" if codecs.lookup(encoding).name == "utf-8" else ""
    return NertagError(f"{path}:{lineno}: not valid {encoding} text{hint}")


def _decode(raw: bytes, path, lineno: int, encoding: str) -> str:
    if b"\x00" in raw:
        raise NertagError(f"{path}:{lineno}: binary data (NUL byte); expected a CoNLL text file")
    try:
        return raw.decode(encoding)  # the encoding was looked up by iter_rows
    except UnicodeDecodeError:
        raise not_text(path, lineno, encoding) from None


def iter_rows(path: str | os.PathLike, encoding: str = "utf-8"
              ) -> Iterator[tuple[int, list[list[str]], int]]:
    """Yield ``(first_line, rows, doc)`` for each sentence; rows are split columns, doc
    the number of ``-DOCSTART-`` lines before it that follow a sentence (so the
    sentences of one document share a number, the first being 0).

    Reads line by line (bounded memory; LF, CRLF or CR alone end a line, a byte-order
    mark is dropped: :func:`nertag.text.lines.iter_lines`); skips ``-DOCSTART-`` lines;
    raises a :class:`NertagError` naming the file and line for undecodable or binary
    data, and for lines ending in CR alone mixed with LF.
    """
    check_encoding(encoding)
    empty = True
    with open_checked(path) as f:
        rows: list[list[str]] = []
        start = doc = 0
        seen = False  # a sentence since the last -DOCSTART-
        try:
            for lineno, raw in iter_lines(f, path, MAX_LINE_BYTES, one_kind=True):
                empty = empty and not raw.strip()
                text = _decode(raw, path, lineno, encoding)
                cols = text.split()
                if not cols:
                    if rows:
                        yield start, rows, doc
                        rows, seen = [], True
                    continue
                if cols[0] == "-DOCSTART-":
                    if rows:
                        yield start, rows, doc
                        rows, seen = [], True
                    if seen:
                        doc, seen = doc + 1, False
                    continue
                if not rows:
                    start = lineno
                rows.append(cols)
        except LineTooLong as e:
            raise NertagError(f"{path}:{e.lineno}: line longer than {MAX_LINE_BYTES >> 20} MB; "
                              f"a CoNLL file has one token per line (is this the right "
                              f"file?)") from None
        if rows:
            yield start, rows, doc
    if empty:
        raise NertagError(f"{path}: file is empty; expected CoNLL columns 'word ... tag'")


def read_conll(path: str | os.PathLike, encoding: str = "utf-8", scheme: str = "auto",
               keep_columns: bool = False) -> Corpus:
    """Read a tagged CoNLL file; tags are converted to BIO.

    Raises :class:`NertagError` naming ``file:line`` for a line with one column
    or a tag that is not ``O``/``B-X``/``I-X`` (/``E-X``/``S-X`` under BIOES), or, under
    IO, not ``O`` or a label; auto-detection takes a file of labels without prefixes
    (in capitals: ``PERSON``) as IO, and refuses a file that mixes both kinds; and for
    an entity type that no format can keep (``B-O``, ``B-B-PER``: see
    :func:`nertag.text.tags.label_problem`).
    """
    if scheme not in FILE_SCHEMES:
        raise NertagError(f"unknown tag scheme '{scheme}'; use one of {', '.join(FILE_SCHEMES)}", 2)
    sentences: list[Sentence] = []
    first: dict[str, tuple[int, str]] = {}  # auto: the first prefixed tag and IO label seen
    checked = {"O"}  # the tags found valid so far
    for start, rows, doc in iter_rows(path, encoding):
        words, tags = [], []
        for i, cols in enumerate(rows):
            if len(cols) < 2:
                raise NertagError(f"{path}:{start + i}: only one column ({cols[0][:40]!r}); "
                                  f"expected 'word ... tag' (is this a tagged CoNLL file?)")
            tag = cols[-1]
            if tag not in checked:
                _check_tag(path, start + i, tag, scheme, first)
                checked.add(tag)
            words.append(cols[0])
            tags.append(tag)
        sentences.append(Sentence(words, tags, start, rows if keep_columns else None, doc=doc))
    if scheme == "auto":
        scheme = "io" if "io" in first else tagmod.detect_scheme(s.tags for s in sentences)
    if scheme == "io":
        for s in sentences:
            s.tags = tagmod.io_to_bio(s.tags)
    elif scheme != "bio":
        for s in sentences:
            s.tags = tagmod.convert(s.tags, scheme, "bio")
    return Corpus(str(path), sentences, scheme)


def _check_tag(path, line: int, tag: str, scheme: str, first: dict[str, tuple[int, str]]
               ) -> None:
    """Refuse a tag the scheme does not allow, or whose entity type is no label; in auto,
    note the first prefixed tag and IO label in ``first`` (a file has one kind)."""
    check = "bioes" if scheme in ("auto", "io") else scheme
    if scheme == "io":
        if not tagmod.is_io_label(tag, strict=False):
            raise NertagError(f"{path}:{line}: invalid tag {tag[:40]!r}; expected O or a label "
                              f"such as PERSON (scheme io)")
        type_ = tag[2:] if tag.startswith("I-") else tag
    elif not tagmod.is_valid_tag(tag, check):
        if scheme != "auto" or not tagmod.is_io_label(tag):
            allowed = "O, B-X, I-X, E-X or S-X" if check == "bioes" else "O, B-X or I-X"
            also = " or IO labels such as PERSON" if scheme == "auto" else ""
            hint = "; if the file holds IO labels, read it as io" \
                if scheme == "auto" and tagmod.is_io_label(tag, strict=False) else ""
            raise NertagError(f"{path}:{line}: invalid tag {tag[:40]!r}; expected "
                              f"{allowed}{also} (scheme {scheme}){hint}")
        first.setdefault("io", (line, tag))
        _check_one_kind(path, first)
        type_ = tag
    else:
        if scheme == "auto" and "tag" not in first:
            first["tag"] = (line, tag)
            _check_one_kind(path, first)
        type_ = tag.partition("-")[2]
    problem = tagmod.label_problem(type_)
    if problem:
        raise NertagError(f"{path}:{line}: tag {tag[:40]!r} has the entity type {type_[:40]!r}: "
                          f"{problem}")


def _check_one_kind(path, first: dict[str, tuple[int, str]]) -> None:
    """A file has prefixed tags (B-X, I-X, ...) or IO labels (X), not both."""
    if len(first) == 2:
        (a_line, a_tag), (b_line, b_tag) = sorted(first.values())
        raise NertagError(f"{path}:{b_line}: tag {b_tag[:40]!r} mixes schemes with {a_tag[:40]!r} "
                          f"(line {a_line}); a file has prefixed tags (B-X, I-X, ...: BIO, IOB1, "
                          f"BIOES) or IO labels without a prefix (PERSON), not both")


def iter_words(path: str | os.PathLike, encoding: str = "utf-8") -> Iterator[Sentence]:
    """Sentences of a CoNLL file read for tagging: the first column is the word."""
    for start, rows, doc in iter_rows(path, encoding):
        yield Sentence([r[0] for r in rows], [], start, rows, doc=doc)
