"""Training and evaluation data in the formats people have, behind one entry point:
:func:`read_corpus` (format auto-detected), and :func:`convert` between the formats.

Formats (names as ``--from`` / ``--to`` / ``data.format`` take them):

==============  ===============================================================
``conll``       CoNLL columns ``word ... tag``; read: tags BIO, IOB1, BIOES or IO
                (auto-detected, see :func:`nertag.text.conll.read_conll`);
                written: BIO
``conll-bioes`` ``conll-iob1``: CoNLL columns in that scheme
``io``          ``word<TAB>LABEL`` (Stanford NER's TSV: ``PERSON``, ``O``)
``jsonl``       nertag's own jsonl output (:mod:`nertag.text.spans_jsonl`)
``doccano``     ``{"text", "label": [[start, end, "LABEL"]]}``
``prodigy``     ``{"text", "spans": [{"start", "end", "label"}]}``
==============  ===============================================================

Detection (:func:`detect_format`) looks at the first non-blank line: a JSON object
means JSON lines, and the first record that says which (``"spans"``: Prodigy;
``"label"`` list or ``"entities"`` with ``start_offset``: doccano; ``"entities"`` with
``start``, or ``"tokens"``: nertag) decides; a JSON array, or objects that say
nothing of entities, are refused with what was seen; anything else is CoNLL columns.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from nertag.atomic import atomic_open
from nertag.errors import NertagError
from nertag.text import spans_jsonl
from nertag.text import tags as tagmod
from nertag.text.conll import MAX_LINE_BYTES, Corpus, open_checked, read_conll
from nertag.text.corpus_writers import OUTPUT_FORMATS, write_corpus
from nertag.text.lines import LineTooLong, iter_lines

#: Format names (``--from`` also takes ``auto``); ``conll`` reads any tag scheme.
FORMATS = OUTPUT_FORMATS
INPUT_FORMATS = ("auto",) + FORMATS
_SCHEME_OF = {"conll-bioes": "bioes", "conll-iob1": "iob1", "io": "io"}
_READERS = {"jsonl": spans_jsonl.read_nertag_jsonl, "doccano": spans_jsonl.read_doccano,
            "prodigy": spans_jsonl.read_prodigy}
#: Output format of a file name's extension (``nertag convert`` without ``--to``).
EXTENSIONS = {".conll": "conll", ".bio": "conll", ".iob2": "conll", ".txt": "conll",
              ".bioes": "conll-bioes", ".iobes": "conll-bioes", ".iob1": "conll-iob1",
              ".iob": "conll-iob1", ".tsv": "io", ".jsonl": "jsonl"}
ACCEPTS = ("CoNLL columns 'word ... tag' (tags BIO, IOB1, BIOES or IO labels), or JSON lines: "
           "nertag's jsonl {\"text\", \"entities\"}, doccano {\"text\", \"label\"} or Prodigy "
           "{\"text\", \"spans\"}")
_SCAN = 1000  # records looked at to tell the JSONL formats apart


def check_format(fmt: str, allowed=INPUT_FORMATS) -> str:
    if fmt not in allowed:
        raise NertagError(f"unknown data format {fmt!r}; use one of {', '.join(allowed)}",
                          exit_code=2)
    return fmt


def read_corpus(path: str | os.PathLike, format: str = "auto", encoding: str = "utf-8",
                scheme: str = "auto", labels_map: dict[str, str] | None = None) -> Corpus:
    """Read tagged sentences from a file in any of :data:`FORMATS` (``auto``: detected);
    tags are BIO in memory. ``scheme`` is the tag scheme of a CoNLL file (auto, iob1,
    bio, bioes, io); the format names ``conll-bioes``, ``conll-iob1`` and ``io`` set it.
    ``labels_map`` (a model's ``labels.map``) renames the types as :func:`map_types`:
    every gold file a model trains, scores or calibrates on is read through it.
    Errors are :class:`~nertag.errors.NertagError` naming the file and line."""
    fmt = check_format(format)
    if fmt == "auto":
        fmt = detect_format(path, encoding)
    if fmt in _READERS:
        corpus = _READERS[fmt](path, encoding)
    else:
        corpus = read_conll(path, encoding, _SCHEME_OF.get(fmt, scheme))
    map_types(corpus, labels_map or {})
    return corpus


def map_types(corpus: Corpus | None, mapping: dict[str, str]) -> None:
    """Rename the entity types of a corpus's (BIO) tags in place as ``labels.map`` says
    (``{person: PER}``: B-person becomes B-PER); types it does not name stay."""
    if corpus is None or not mapping:
        return
    for s in corpus.sentences:
        s.tags = [t if t == "O" or t[2:] not in mapping else f"{t[:2]}{mapping[t[2:]]}"
                  for t in s.tags]


def detect_format(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """``conll``, ``jsonl``, ``doccano`` or ``prodigy`` (see the module doc). Files the
    CoNLL reader will refuse (empty, binary, undecodable, ...) are called ``conll``."""
    first = _first_line(path, encoding)
    if first is None:
        return "conll"
    lineno, line = first
    cols = line.split()
    if line.startswith(("{", "[")) and not (len(cols) >= 2 and cols[0] in ("{", "[")):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            if line.startswith("[") or _tagged_columns(cols):
                return "conll"  # e.g. a first word "{a" or "{}"
            if line == "{":  # the start of a long record
                return _jsonl_flavour(path, encoding)
            return "jsonl"  # its reader reports the bad JSON with its line
        if isinstance(obj, list):
            raise NertagError(f"{path}:{lineno}: a JSON array; nertag reads JSON Lines, one "
                              f"object per line (e.g. jq -c '.[]' {path} > data.jsonl)")
        if isinstance(obj, dict):
            return _jsonl_flavour(path, encoding)
    return "conll"


def _tagged_columns(cols: list[str]) -> bool:
    """Columns that end in a tag or an IO label: ``word ... tag``."""
    return len(cols) >= 2 and (tagmod.is_valid_tag(cols[-1], "bioes")
                               or tagmod.is_io_label(cols[-1]))


def _first_line(path, encoding: str) -> tuple[int, str] | None:
    """The first non-blank line, decoded and stripped (None: no such line, or one the
    CoNLL reader will report); a line too long for CoNLL that opens a JSON object is
    returned as ``{`` (one long JSON record: a whole document)."""
    try:
        "".encode(encoding)
    except LookupError:
        return None
    with open_checked(path) as f:
        try:
            for lineno, raw in iter_lines(f, path, MAX_LINE_BYTES):
                if raw.strip():
                    return lineno, raw.decode(encoding).strip()
        except LineTooLong as e:
            return (e.lineno, "{") if e.head.lstrip(b" \t").startswith(b"{") else None
        except UnicodeDecodeError:
            return None
    return None


def _jsonl_flavour(path, encoding: str) -> str:
    seen_entities, first_keys = False, None
    for k, (lineno, rec) in enumerate(spans_jsonl.iter_records(path, encoding)):
        first_keys = first_keys or (lineno, list(rec))
        found = spans_jsonl.flavour(rec)
        if found:
            return found
        seen_entities = seen_entities or "entities" in rec
        if k + 1 >= _SCAN:
            break
    if seen_entities:  # "entities": [] everywhere: nertag and doccano read the same
        return "jsonl"
    lineno, keys = first_keys
    shown = ", ".join(json.dumps(k, ensure_ascii=False) for k in keys[:8]) or "none"
    raise NertagError(f"{path}:{lineno}: cannot tell the format: JSON objects with the keys "
                      f"{shown} and no entities; nertag reads {ACCEPTS} (choose one with "
                      f"--format, or data.format when training)")


# ------------------------------------------------------------------ conversion
@dataclass
class Conversion:
    """What :func:`convert` did."""

    source: str
    target: str
    source_format: str     # as detected (or given)
    target_format: str
    sentences: int
    entities: int
    notes: list[str] = field(default_factory=list)


def output_format(path: str | os.PathLike) -> str:
    """The output format a file name asks for by its extension."""
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise NertagError(f"cannot tell the output format from the name {str(path)!r}; give "
                          f"--to ({', '.join(FORMATS)})", exit_code=2)
    return EXTENSIONS[ext]


def source_format(corpus: Corpus) -> str:
    """The format name a corpus was read from (``conll-iob1`` for an IOB1 file, ...)."""
    if corpus.format != "conll":
        return corpus.format
    return {"io": "io", "iob1": "conll-iob1", "bioes": "conll-bioes"}.get(corpus.scheme, "conll")


def read_for_conversion(src, from_: str = "auto", encoding: str = "utf-8") -> Corpus:
    corpus = read_corpus(src, from_, encoding)
    if not corpus.sentences:
        raise NertagError(f"{src}: no sentences found; nothing to convert")
    return corpus


def convert(src: str | os.PathLike, dst: str | os.PathLike, from_: str = "auto",
            to: str = "auto", encoding: str = "utf-8") -> Conversion:
    """Read ``src`` (format ``from_``, ``auto``: detected) and write ``dst`` in format
    ``to`` (``auto``: from ``dst``'s extension) atomically, in UTF-8."""
    to = output_format(dst) if to == "auto" else check_format(to, FORMATS)
    corpus = read_for_conversion(src, from_, encoding)
    with atomic_open(dst, "w", encoding="utf-8", newline="\n") as f:
        notes = write_corpus(corpus, f, to)
    n_ents = sum(t.startswith("B-") for s in corpus.sentences for t in s.tags)
    return Conversion(str(src), str(dst), source_format(corpus), to, len(corpus.sentences),
                      n_ents, corpus.notes + notes)
