"""The sentences to annotate: the input text files read and checked as ``nertag tag``
reads them, cut into sentences and pre-tagged once, each with a stable id.

A sentence's id is the SHA-256 (first 16 hex digits) of its file's name (without its
folder), its character offset in the file and its text: starting again on the same
files finds the same ids, wherever they are run from.

Its uncertainty score (for ``--order uncertain``) is the lowest of the scores of the
model's entities in it (calibrated if the model has a ``calibration.json``) and its
*margin*, the lowest probability the model gives a token it tags O: a sentence where it
finds no entity but nearly tagged a word one (an unknown product name, say) comes
early too (1.0: no O token).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from nertag.errors import NertagError
from nertag.tagging.runtime import checked_lines, open_text

#: Sentences held at most (each is a few hundred bytes in memory).
MAX_SENTENCES = 1_000_000


@dataclass
class Item:
    """One sentence: ``text`` and its ``tokens`` ``(text, start, end)`` and the model's
    ``spans`` ``(start, end, label, score)``, offsets into ``text``; ``offset``: where
    ``text`` starts in ``source``; ``context``: the sentence before it (or "")."""

    id: str
    source: str
    offset: int
    text: str
    tokens: list[tuple[str, int, int]]
    spans: list[tuple[int, int, str, float]]
    context: str = ""
    margin: float = 1.0  # the lowest probability of a token the model tags O

    @property
    def score(self) -> float:
        """The model's certainty: its lowest entity score, or ``margin`` if lower."""
        return min([s[3] for s in self.spans] + [self.margin])

    def token_json(self) -> list[dict]:
        return [{"text": t, "start": a, "end": b, "id": i}
                for i, (t, a, b) in enumerate(self.tokens)]


def sentence_id(source: str, offset: int, text: str) -> str:
    key = f"{os.path.basename(source)}\0{offset}\0{text}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(key).hexdigest()[:16]


def read_text(name: str, encoding: str = "utf-8") -> str:
    """A whole input text file, checked as ``nertag tag`` checks it (binary data or bytes
    that do not decode: an error naming the line); empty or blank: an error too."""
    with open_text(name, encoding) as f:
        text = "".join(checked_lines(f, name, encoding))
    if not text.strip():
        raise NertagError(f"{name}: the file is empty (nothing but whitespace); give a text "
                          f"file with sentences to annotate")
    return text


def read_items(tagger, inputs: list[str], texts: list[str], *, sentences: str = "auto",
               limit: int = MAX_SENTENCES) -> list[Item]:
    """Every sentence of the ``texts`` of files ``inputs`` (in order; see
    :func:`read_text`), tagged by ``tagger`` (a :class:`~nertag.api.Tagger`), at most
    ``limit`` of them."""
    items: list[Item] = []
    seen: set[str] = set()
    for name, doc in zip(inputs, tagger.pipe(texts, batch_size=1, sentences=sentences)):
        before = ""
        for sent in doc.sentences:
            if len(items) >= limit:
                raise NertagError(f"{name}: the inputs hold more than {limit:,} sentences; "
                                  f"annotate a part of them at a time (split the files)")
            a = sent.start
            text = sent.text
            toks = [(t.text, t.start - a, t.end - a) for t in sent.tokens]
            spans = [(e.start - a, e.end - a, e.label, float(e.score)) for e in sent.ents]
            key = sentence_id(name, a, text)
            if key not in seen:  # the same file given twice: once
                seen.add(key)
                items.append(Item(key, os.path.basename(name), a, text, toks, spans, before,
                                  o_margin(sent)))
            before = text
    return items


def o_margin(sentence) -> float:
    """A sentence's margin: the lowest probability the model gives a token it tags O
    (1.0: none), from the sentence as tagged (a :class:`~nertag.api.Span`)."""
    return min((p for t, p in zip(sentence.tokens, sentence.probabilities) if t.tag == "O"),
               default=1.0)


def check_inputs(inputs: list[str]) -> None:
    """Every input names a file (not a folder, not standard input)."""
    for name in inputs:
        if name == "-":
            raise NertagError("-: nertag annotate reads files (it reads them again when it "
                              "starts again); save the text to a file first")
        if Path(name).is_dir():
            raise NertagError(f"{name}: is a directory, not a text file; give the text files")
