"""Writing a :class:`~nertag.text.conll.Corpus` in each training format (one writer per
format; ``nertag convert`` and :func:`nertag.text.datasets.convert` use them).

* ``conll`` / ``conll-bioes`` / ``conll-iob1`` -- ``word<TAB>tag``, a blank line after
  each sentence, tags in BIO / BIOES / IOB1;
* ``io`` -- ``word<TAB>LABEL`` (Stanford NER's TSV): the type alone, ``O`` outside;
  two touching entities of one type become one (counted in the notes);
* ``jsonl`` -- nertag's own ``nertag tag -f jsonl`` records (text, start, tokens with
  their BIO tag, entities), one per sentence, offsets counted over the sentences
  written one per line;
* ``doccano`` -- ``{"text", "label": [[start, end, "LABEL"]], "tokens"}``, one per sentence
  (the tokens are metadata to doccano, kept through its import and export);
* ``prodigy`` -- ``{"text", "tokens", "spans"}``, one per sentence.

The JSONL writers need text: a sentence read from text keeps its own; a sentence of
CoNLL tokens is detokenized (:mod:`nertag.text.detok`), with a space added at an
entity's edge wherever nertag's tokenizer would otherwise cut the entity, so every
span written falls on token boundaries when the file is read back.  What a format could
not read back as written is refused before anything is written (:func:`check_writable`).
"""

from __future__ import annotations

import json
from typing import IO, Callable

from nertag.errors import NertagError
from nertag.text import tags as tagmod
from nertag.text.conll import Corpus, Sentence
from nertag.text.detok import join, spaces_before
from nertag.text.tokenize import token_arrays

#: What a corpus can be written as.
OUTPUT_FORMATS = ("conll", "conll-bioes", "conll-iob1", "io", "jsonl", "doccano", "prodigy")

Writer = Callable[[Corpus, IO[str]], list[str]]


def write_corpus(corpus: Corpus, f: IO[str], fmt: str) -> list[str]:
    """Write ``corpus`` to the text stream ``f`` in format ``fmt``; returns notes (what
    the format could not keep)."""
    if fmt not in WRITERS:
        raise NertagError(f"unknown output format {fmt!r}; use one of "
                          f"{', '.join(OUTPUT_FORMATS)}", exit_code=2)
    check_writable(corpus, fmt)
    return WRITERS[fmt](corpus, f)


def check_writable(corpus: Corpus, fmt: str) -> None:
    """Refuse, before anything is written, what ``fmt`` could not read back as written:
    an entity type that is no label (:func:`nertag.text.tags.label_problem`), and in
    CoNLL columns a word that is empty, holds whitespace or NUL, is ``-DOCSTART-``, or
    starts the file with a byte-order mark. Errors name the sentence's file and line."""
    columns = fmt in ("conll", "conll-bioes", "conll-iob1", "io")
    types: set[str] = set()
    for k, s in enumerate(corpus.sentences):
        for t in set(s.tags) - types - {"O"}:
            problem = tagmod.label_problem(tagmod.parse_tag(t)[1])
            if problem:
                raise NertagError(f"{corpus.path}:{s.line}: the entity type "
                                  f"{tagmod.parse_tag(t)[1][:40]!r}: {problem}")
            types.add(t)
        for i, w in enumerate(s.words if columns else ()):
            problem = _column_word_problem(w, first=k == i == 0)
            if problem:
                raise NertagError(f"{corpus.path}:{s.line}: the word {w[:40]!r} {problem}; "
                                  f"write a JSONL format instead")


def _column_word_problem(w: str, first: bool) -> str | None:
    if not w or w.split()[0] != w:
        return "is empty or holds whitespace, which CoNLL columns cannot hold"
    if "\x00" in w:
        return ("holds a NUL character, which a CoNLL file cannot hold (nertag reads it as "
                "binary data)")
    if w == "-DOCSTART-":
        return "would be read as a document marker in CoNLL columns"
    if first and w.startswith("\ufeff"):
        return "starts with a byte-order mark, which readers drop at the start of a file"
    return None


# ------------------------------------------------------------------ columns
def _columns(corpus: Corpus, f: IO[str], tags_of) -> int:
    total = 0
    for s in corpus.sentences:
        tags, n = tags_of(s.tags)
        total += n
        f.write("".join(f"{w}\t{t}\n" for w, t in zip(s.words, tags)) + "\n")
    return total


def _conll(scheme: str) -> Writer:
    def write(corpus: Corpus, f: IO[str]) -> list[str]:
        _columns(corpus, f, lambda tags: (tagmod.convert(tags, "bio", scheme), 0))
        return []
    return write


def write_io(corpus: Corpus, f: IO[str]) -> list[str]:
    merged = _columns(corpus, f, tagmod.bio_to_io)
    if merged:
        return [f"{merged} entit{'y' if merged == 1 else 'ies'} touching an entity of the same "
                f"type merged with it: IO cannot separate them"]
    return []


# ------------------------------------------------------------------ text and spans
def sentence_text(s: Sentence) -> tuple[str, list[tuple[int, int]]]:
    """A sentence's text and each word's ``[start, end)`` in it: its own, or its words
    detokenized so that nertag's tokenizer cuts no entity."""
    if s.text is not None and s.offsets is not None:
        return s.text, s.offsets
    spaces = spaces_before(s.words)
    ents = tagmod.get_entities(s.tags)
    while True:
        text, offsets = join(s.words, spaces)
        if not ents:
            return text, offsets
        _, starts, ends = token_arrays(text)
        starts, ends = starts.tolist(), ends.tolist()
        edges = {offsets[i][0] for _, i, _ in ents} | {offsets[j - 1][1] for _, _, j in ents}
        cut = {x for a, b in zip(starts, ends) for x in edges if a < x < b}
        if not cut:
            return text, offsets
        for _, i, j in ents:
            if offsets[i][0] in cut:
                spaces[i] = i > 0
            if offsets[j - 1][1] in cut and j < len(spaces):
                spaces[j] = True


def _spans(s: Sentence, offsets) -> list[tuple[str, int, int, int, int]]:
    """``(label, start, end, first token, last token + 1)`` of each entity."""
    return [(t, offsets[i][0], offsets[j - 1][1], i, j) for t, i, j in tagmod.get_entities(s.tags)]


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False) + "\n"


def write_nertag_jsonl(corpus: Corpus, f: IO[str]) -> list[str]:
    pos = 0
    for s in corpus.sentences:
        text, offsets = sentence_text(s)
        f.write(_dump({
            "text": text, "start": pos,
            "tokens": [{"text": w, "start": pos + a, "end": pos + b, "tag": g}
                       for w, (a, b), g in zip(s.words, offsets, s.tags)],
            "entities": [{"start": pos + a, "end": pos + b, "label": t, "text": text[a:b]}
                         for t, a, b, _, _ in _spans(s, offsets)]}))
        pos += len(text) + 1
    return []


def write_doccano(corpus: Corpus, f: IO[str]) -> list[str]:
    for s in corpus.sentences:
        text, offsets = sentence_text(s)
        tokens = [{"text": w, "start": a, "end": b} for w, (a, b) in zip(s.words, offsets)]
        f.write(_dump({"text": text, "label": [[a, b, t] for t, a, b, _, _ in _spans(s, offsets)],
                       "tokens": tokens}))  # metadata to doccano; read back: the same words
    return []


def write_prodigy(corpus: Corpus, f: IO[str]) -> list[str]:
    for s in corpus.sentences:
        text, offsets = sentence_text(s)
        tokens = [{"text": w, "start": a, "end": b, "id": k, "ws": text[b:b + 1].isspace()}
                  for k, (w, (a, b)) in enumerate(zip(s.words, offsets))]
        spans = [{"start": a, "end": b, "label": t, "token_start": i, "token_end": j - 1}
                 for t, a, b, i, j in _spans(s, offsets)]
        f.write(_dump({"text": text, "tokens": tokens, "spans": spans}))
    return []


WRITERS: dict[str, Writer] = {
    "conll": _conll("bio"), "conll-bioes": _conll("bioes"), "conll-iob1": _conll("iob1"),
    "io": write_io, "jsonl": write_nertag_jsonl, "doccano": write_doccano,
    "prodigy": write_prodigy,
}
