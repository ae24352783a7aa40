"""Reading JSONL training data whose entities are character-offset spans: one reader per
format, all returning a :class:`~nertag.text.conll.Corpus` of BIO-tagged sentences.

* ``jsonl`` -- nertag's own ``nertag tag -f jsonl`` output (``--per document`` too):
  ``{"text", "start", "tokens": [{"text", "start", "end", ...}], "entities": [{"start",
  "end", "label", ...}]}``; offsets are relative to the tagged file (the record's text
  begins at ``start``).  The entities are the annotation (the tokens' ``tag`` is not
  read), so tag → correct the entities → retrain works.
* ``doccano`` -- ``{"text", "label": [[start, end, "LABEL"], ...]}`` (also ``"labels"``,
  ``"data"`` for the text, and the newer ``"entities": [{"start_offset", "end_offset",
  "label"}]``).
* ``prodigy`` -- ``{"text", "spans": [{"start", "end", "label"}], "tokens": [...]}``;
  only records answered ``accept`` (or with no ``answer``) are training data: those
  answered ``reject``, ``ignore`` or ``undo`` are skipped (and counted in the notes); of
  records with the same ``"id"`` (``nertag annotate``'s) only the last counts.

A record's own tokens are used when it has them (nertag jsonl, Prodigy, and doccano
records written by ``nertag convert``, which keeps them as a ``"tokens"`` key: doccano
keeps unknown keys as metadata and exports them again), and the record
is then one sentence (or, ``--per document``, the ``sentences`` it lists); a record
without tokens is tokenized and split into sentences by
:func:`nertag.text.tokenize.split_flat` with the ``auto`` line-break rule, as ``nertag tag`` cuts
raw text by default.
A span must not cut a token: each of its ends falls between tokens (whitespace around
a span is fine); otherwise the reader stops with ``file:LINE: span [s, e) 'text' does
not fall on token boundaries (...)`` -- spans are never moved.  Overlapping spans are an
error (one tag per token).  Sentences that an entity crosses are merged into one.
Refused too, naming the line: a label no format can keep (``O``, ``B-PER``, whitespace,
control characters: :func:`nertag.text.tags.label_problem`), a doccano record with spans
under two keys, or ``"text"`` and ``"data"`` that differ.  LF, CRLF or CR alone end a
record, and a byte-order mark is dropped (:func:`nertag.text.lines.iter_lines`).
"""

from __future__ import annotations

import json
import os
import re
from bisect import bisect_left, bisect_right
from typing import Any, Iterator

from nertag.errors import NertagError
from nertag.text import tags as tagmod
from nertag.text.conll import Corpus, Sentence, check_encoding, not_text, open_checked
from nertag.text.lines import iter_lines
from nertag.text.tokenize import split_flat

#: The JSONL formats, by name, with the shape of one record (for messages).
SHAPES = {
    "jsonl": '{"text": "...", "entities": [{"start": 0, "end": 5, "label": "PER"}]}',
    "doccano": '{"text": "...", "label": [[0, 5, "PER"]]}',
    "prodigy": '{"text": "...", "spans": [{"start": 0, "end": 5, "label": "PER"}]}',
}
NAMES = {"jsonl": "nertag jsonl", "doccano": "doccano", "prodigy": "Prodigy"}


def iter_records(path: str | os.PathLike, encoding: str = "utf-8"
                 ) -> Iterator[tuple[int, dict]]:
    """``(line, object)`` for each non-blank line of a JSON Lines file."""
    check_encoding(encoding)
    empty = True
    with open_checked(path) as f:
        for lineno, raw in iter_lines(f, path):  # any line end: JSON strings hold none raw
            if b"\x00" in raw:
                raise NertagError(f"{path}:{lineno}: binary data (NUL byte); expected JSON lines")
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError:
                raise not_text(path, lineno, encoding) from None
            if not line.strip():
                continue
            empty = False
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise NertagError(f"{path}:{lineno}: not valid JSON ({e.msg} at column "
                                  f"{e.colno}); expected one JSON object per line") from None
            if not isinstance(obj, dict):
                raise NertagError(f"{path}:{lineno}: a JSON {type(obj).__name__}, not an object; "
                                  f"expected one JSON object per line")
            yield lineno, obj
    if empty:
        raise NertagError(f"{path}: file is empty; expected JSON lines")


def flavour(record: dict) -> str | None:
    """Which JSONL format a record is in, by its keys (None: it does not say)."""
    if "spans" in record:
        return "prodigy"
    if isinstance(record.get("label"), list) or isinstance(record.get("labels"), list):
        return "doccano"
    ents = record.get("entities")
    if isinstance(ents, list):
        first = next((e for e in ents if isinstance(e, dict)), None)
        if first is not None:
            return "doccano" if "start_offset" in first else "jsonl"
        if "tokens" in record or "start" in record or "sentences" in record:
            return "jsonl"
    return None


# ------------------------------------------------------------------ the readers
def read_doccano(path: str | os.PathLike, encoding: str = "utf-8") -> Corpus:
    """doccano's JSONL export (see the module doc)."""
    return _read(path, encoding, "doccano")


def read_prodigy(path: str | os.PathLike, encoding: str = "utf-8") -> Corpus:
    """Prodigy's JSONL (``prodigy db-out``); rejected and ignored records are skipped."""
    return _read(path, encoding, "prodigy")


def read_nertag_jsonl(path: str | os.PathLike, encoding: str = "utf-8") -> Corpus:
    """nertag's own jsonl output, per sentence or ``--per document``."""
    return _read(path, encoding, "jsonl")


def _last_of_each_id(path, encoding: str) -> dict:
    """Prodigy records with an ``"id"`` (``nertag annotate``'s): the line of the last
    record of each id, the one that counts (an undo or a correction comes later)."""
    return {rec["id"]: line for line, rec in iter_records(path, encoding)
            if isinstance(rec.get("id"), (str, int))}


def _read(path, encoding: str, fmt: str) -> Corpus:
    sentences: list[Sentence] = []
    skipped = merged = superseded = 0
    answers: list[str] = []  # the answers skipped, in the order first seen
    last = _last_of_each_id(path, encoding) if fmt == "prodigy" else {}
    for line, rec in iter_records(path, encoding):
        where = f"{path}:{line}"
        other = flavour(rec)
        if other not in (None, fmt):
            raise NertagError(f"{where}: a {NAMES[other]} record in a file read as {NAMES[fmt]}; "
                              f"a {NAMES[fmt]} record is {SHAPES[fmt]}")
        if last and last.get(rec.get("id"), line) != line:
            superseded += 1
            continue
        answer = rec.get("answer", "accept") if fmt == "prodigy" else "accept"
        if answer != "accept":  # reject, ignore, undo: not training data
            skipped += 1
            answers += [] if str(answer) in answers else [str(answer)]
            continue
        text = _text(rec, fmt, where)
        base = _int(rec.get("start", 0), where, '"start"') if fmt == "jsonl" else 0
        spans = _spans(rec, fmt, where, text, base)
        toks = _tokens(rec.get("tokens"), where, text, base)
        if toks is None:
            flat = split_flat(text, sentences="auto")  # as nertag tag cuts raw text
            toks, cuts = (flat.texts, flat.starts.tolist(), flat.ends.tolist()), flat.cuts
        else:
            cuts = _jsonl_cuts(rec.get("sentences") if fmt == "jsonl" else None, where, toks,
                               base)
        sents, n = _align(where, text, spans, toks, cuts, base, line)
        sentences.extend(sents)
        merged += n
    corpus = Corpus(str(path), sentences, "bio", fmt)
    if skipped:
        said = [f"'{a}'" for a in answers]
        said = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " or " + said[-1]
        corpus.notes.append(f"{path}: skipped {skipped} record(s) answered {said}")
    if superseded:
        corpus.notes.append(f"{path}: {superseded} record(s) superseded by a later record with "
                            f"the same id (the last one counts)")
    if merged:
        corpus.notes.append(f"{path}: {merged} entit{'y' if merged == 1 else 'ies'} crossed a "
                            f"sentence boundary of the tokenizer; those sentences were kept whole")
    return corpus


# ------------------------------------------------------------------ checks
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(rec: dict, fmt: str, where: str) -> str:
    """The record's text (doccano: also ``"data"``), a string of characters."""
    text = rec.get("text")
    if fmt == "doccano" and "data" in rec:
        if "text" in rec and rec["data"] != text:
            raise NertagError(f'{where}: "text" and "data" hold different texts; a doccano '
                              f'record has one of them: keep one')
        text = rec["data"]
    if not isinstance(text, str):
        raise NertagError(f'{where}: no "text" string; a {NAMES[fmt]} record is {SHAPES[fmt]}')
    bad = _SURROGATE.search(text)  # "\ud800" in JSON: no character, and no UTF-8 for it
    if bad:
        raise NertagError(f"{where}: the text holds an unpaired surrogate (U+{ord(bad[0]):04X} "
                          f"at offset {bad.start()}), which is no character; fix the record's "
                          f"text")
    return text


def _span_key(rec: dict, fmt: str, where: str) -> str:
    """The key holding the record's spans (doccano: one of label, labels, entities)."""
    if fmt != "doccano":
        return "entities" if fmt == "jsonl" else "spans"
    full = [k for k in ("label", "labels", "entities") if isinstance(rec.get(k), list) and rec[k]]
    if len(full) > 1:
        raise NertagError(f'{where}: both "{full[0]}" and "{full[1]}" hold spans; a doccano '
                          f'record has one of them: merge them into one')
    return full[0] if full else next((k for k in ("label", "labels", "entities") if k in rec),
                                     "label")


def _int(v: Any, where: str, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise NertagError(f"{where}: {what} is {json.dumps(v)[:40]}, not a whole number")
    return v


def _spans(rec: dict, fmt: str, where: str, text: str, base: int) -> list[tuple[int, int, str]]:
    """The record's spans as ``(start, end, label)`` offsets into its text, checked."""
    key = _span_key(rec, fmt, where)
    raw = rec.get(key) or []
    if not isinstance(raw, list):
        raise NertagError(f'{where}: "{key}" is not a list; a {NAMES[fmt]} record is {SHAPES[fmt]}')
    out = set()
    for item in raw:
        if fmt == "doccano" and isinstance(item, list) and len(item) == 3:
            s, e, label = item
        elif isinstance(item, dict) and fmt == "doccano" and "start_offset" in item:
            s, e, label = item.get("start_offset"), item.get("end_offset"), item.get("label")
        elif isinstance(item, dict) and fmt != "doccano":
            s, e, label = item.get("start"), item.get("end"), item.get("label")
        else:
            raise NertagError(f'{where}: "{key}" holds {json.dumps(item)[:60]}; a {NAMES[fmt]} '
                              f'record is {SHAPES[fmt]}')
        s, e = _int(s, where, "a span's start") - base, _int(e, where, "a span's end") - base
        shown = f"[{s + base}, {e + base})"
        problem = tagmod.label_problem(label)
        if problem:
            raise NertagError(f"{where}: span {shown} has the label {json.dumps(label)[:40]}: "
                              f"{problem}")
        if not 0 <= s < e <= len(text):
            off = " (nertag's offsets count from the start of the tagged file)" \
                if fmt == "jsonl" else ""
            raise NertagError(f"{where}: span {shown} is not inside the text "
                              f"[{base}, {base + len(text)}){off}; check the offsets")
        if fmt == "jsonl" and isinstance(item.get("text"), str) and item["text"] != text[s:e]:
            raise NertagError(f"{where}: entity {shown} says {item['text'][:40]!r} but the text "
                              f"there is {text[s:e][:40]!r}; fix its offsets (they count from "
                              f"the start of the tagged file, as nertag writes them)")
        out.add((s, e, label))
    spans = sorted(out)
    for (s0, e0, l0), (s1, e1, l1) in zip(spans, spans[1:]):
        if s1 < e0:
            raise NertagError(f"{where}: spans [{s0 + base}, {e0 + base}) {text[s0:e0][:40]!r} "
                              f"({l0}) and [{s1 + base}, {e1 + base}) {text[s1:e1][:40]!r} ({l1}) "
                              f"overlap; nertag tags each token once (no nested entities)")
    return spans


def _tokens(raw: Any, where: str, text: str, base: int):
    """A record's own tokens as ``(texts, starts, ends)`` into its text (None: it has none)."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise NertagError(f'{where}: "tokens" is not a list of {{"text", "start", "end"}}')
    texts, starts, ends, last = [], [], [], 0
    for k, t in enumerate(raw):
        if not isinstance(t, dict) or not isinstance(t.get("text"), str):
            raise NertagError(f'{where}: token {k} is {json.dumps(t)[:60]}; expected '
                              f'{{"text", "start", "end"}}')
        a = _int(t.get("start"), where, f"token {k}'s start") - base
        b = _int(t.get("end"), where, f"token {k}'s end") - base
        if not (last <= a <= b <= len(text)) or text[a:b] != t["text"]:
            raise NertagError(f"{where}: token {k} {t['text'][:40]!r} at [{a + base}, {b + base}) "
                              f"does not match the text there ({text[max(a, 0):b][:40]!r}) or "
                              f"overlaps the token before; fix the tokens or leave them out")
        last = b
        if t["text"].strip():  # whitespace tokens (spaCy's) are not words
            texts.append(t["text"])
            starts.append(a)
            ends.append(b)
    return texts, starts, ends


def _jsonl_cuts(raw: Any, where: str, toks, base: int) -> list[int]:
    """Records with tokens: one sentence, or ``--per document``'s ``sentences``."""
    n = len(toks[0])
    if raw is None:
        return [0, n]
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise NertagError(f'{where}: "sentences" is not a list of {{"start", "end"}}')
    starts = toks[1]
    cuts = {bisect_left(starts, _int(s.get("start"), where, "a sentence's start") - base)
            for s in raw}
    return sorted(cuts | {0, n})


def _align(where: str, text: str, spans, toks, cuts: list[int], base: int, line: int
           ) -> tuple[list[Sentence], int]:
    """Tag the tokens of one record from its spans; cut it into sentences."""
    texts, starts, ends = toks
    tags = ["O"] * len(texts)
    cutset = set(cuts)
    merged = 0
    for s, e, label in spans:
        i, j = bisect_right(ends, s), bisect_left(starts, e)  # tokens i..j-1 meet [s, e)
        problem = None
        if i >= j:
            problem = "it covers no token"
        elif starts[i] < s:
            problem = f"the token {texts[i][:40]!r} at [{starts[i] + base}, {ends[i] + base}) " \
                      f"crosses its start"
        elif ends[j - 1] > e:
            problem = f"the token {texts[j - 1][:40]!r} at [{starts[j - 1] + base}, " \
                      f"{ends[j - 1] + base}) crosses its end"
        if problem:
            raise NertagError(f"{where}: span [{s + base}, {e + base}) {text[s:e][:40]!r} does not "
                              f"fall on token boundaries ({problem}); fix the span's offsets, or "
                              f"put a space in the text where the entity starts or ends")
        tags[i] = f"B-{label}"
        tags[i + 1:j] = [f"I-{label}"] * (j - i - 1)
        crossed = {c for c in cutset if i < c < j}
        merged += bool(crossed)
        cutset -= crossed
    bounds = sorted(cutset)
    out = []
    for a, b in zip(bounds, bounds[1:]):
        if a >= b:
            continue
        lo = starts[a]
        out.append(Sentence(list(texts[a:b]), tags[a:b], line, None, text[lo:ends[b - 1]],
                            [(x - lo, y - lo) for x, y in zip(starts[a:b], ends[a:b])],
                            doc=line))  # each record is a document
    return out, merged
