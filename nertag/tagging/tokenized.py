"""``nertag tag --tokenized``: CoNLL columns in (the first column is the word), tagged in
batches of sentences; out as CoNLL (the input's columns with the predicted tag
appended) or in any of the text formats.

For the text formats the words have no text of their own, so one is rebuilt: each
sentence detokenized on its own line, exactly as ``nertag convert`` writes CoNLL as
jsonl (:func:`nertag.text.corpus_writers.sentence_text`: ``lamb .`` becomes ``lamb.``,
a space kept wherever the tokenizer would otherwise cut an entity).  Offsets count in
that rebuilt text (sentence k starts after the k earlier lines); the tokens are the
input's words, one for one, never tokenized again.  ``-f jsonl`` of a CoNLL file is
then ``nertag convert --to jsonl`` of its tagged version plus the entities' scores.
"""

from __future__ import annotations

import re
from itertools import groupby
from typing import Iterator

import numpy as np

from nertag.errors import NertagError
from nertag.render import formats
from nertag.inference.calibration import Calibration, model_calibration
from nertag.tagging.chunks import apply_patterns, model_min_score, model_patterns
from nertag.text.tagged import Entity, TaggedChunk, TaggedSentence
from nertag.text import tags as tagmod
from nertag.text.conll import Sentence, iter_words
from nertag.text.corpus_writers import sentence_text
from nertag.text.tokens import TokenSpans

#: Sentences per model call.
BATCH_SENTENCES = 2000


def tag_file(model, path: str, encoding: str = "utf-8", decoder: str | None = None
             ) -> Iterator[tuple[list[Sentence], list[list[str]], TaggedChunk]]:
    """The sentences of a CoNLL file, batch by batch: ``(sentences, BIO tags, chunk)``,
    the chunk holding the batch's rebuilt text (offsets continue from batch to batch).
    A batch holds whole documents (``-DOCSTART-``): about ``BATCH_SENTENCES`` sentences,
    more if one document is longer.  ``decoder``: None for the model's own."""
    offset = 0
    for batch, sizes in _document_batches(columns_checked(iter_words(path, encoding), path)):
        tags, conf = model.predict([s.words for s in batch], decoder=decoder, docs=sizes)
        chunk = tagged_chunk(batch, tags, conf, offset, model_calibration(model),
                             model_min_score(model))
        if (rules := model_patterns(model)) is not None:  # entity patterns: tags follow
            apply_patterns(rules, [chunk])
        tags = [s.tags for s in chunk.sentences]
        offset += len(chunk.text)
        yield batch, tags, chunk


class NotColumns(NertagError):
    """The input reads like running text, not CoNLL columns."""


#: The last column of a row that ends a sentence of running text (``Monday.``): no tag.
_SENTENCE_END = re.compile(r"[^\W\d_][.!?][\"'”’)\]]*\Z")


def columns_checked(sentences: Iterator[Sentence], path: str) -> Iterator[Sentence]:
    """The sentences of a CoNLL file, refusing (:class:`NotColumns`, naming the line) a
    file that reads like running text: a line with another number of columns than the
    first line (CoNLL has the same columns on every line, as conlleval requires), or a
    line of several columns whose last ends a sentence of words (``Monday.``; a tag
    never does)."""
    first: tuple[int, int] | None = None  # (line, columns) of the file's first line
    for s in sentences:
        for line, cols in enumerate(s.columns or (), s.line):
            if first is None:
                first = (line, len(cols))
            if len(cols) != first[1]:
                raise NotColumns(f"{path}:{line}: {len(cols)} columns where line {first[0]} "
                                 f"has {first[1]} (CoNLL input: one token a line, the word "
                                 f"first, the same columns on every line)")
            if len(cols) > 1 and _SENTENCE_END.search(cols[-1]):
                raise NotColumns(f"{path}:{line}: {len(cols)} words on one line, the last "
                                 f"{cols[-1]!r}, as in a sentence of running text (CoNLL "
                                 f"input: one token a line, the word first)")
        yield s


def _document_batches(sentences: Iterator[Sentence]
                      ) -> Iterator[tuple[list[Sentence], list[int]]]:
    """Whole documents (``Sentence.doc``) gathered into batches of at least
    ``BATCH_SENTENCES`` sentences (the last may be smaller): ``(sentences, sentences per
    document)``."""
    batch: list[Sentence] = []
    sizes: list[int] = []
    for _, doc in groupby(sentences, key=lambda s: s.doc):
        n = len(batch)
        batch.extend(doc)
        sizes.append(len(batch) - n)
        if len(batch) >= BATCH_SENTENCES:
            yield batch, sizes
            batch, sizes = [], []
    if batch:
        yield batch, sizes


def tagged_chunk(sentences: list[Sentence], tags: list[list[str]], conf, offset: int = 0,
                 calibration: Calibration | None = None, min_score: float | None = None
                 ) -> TaggedChunk:
    """Tagged sentences of words as a :class:`TaggedChunk` of rebuilt text, one sentence a
    line from ``offset``; an entity's score is the mean confidence of its tokens, as for
    raw text, through ``calibration`` (if any); entities scored below ``min_score`` are
    dropped, their tokens tagged O (before the text is rebuilt from the tags)."""
    lines, out, pos = [], [], offset
    for s, t, c in zip(sentences, tags, conf):
        found = [(typ, i, j, float(np.mean(c[i:j]))) for typ, i, j in tagmod.get_entities(t)]
        if calibration is not None and found:
            found = [(typ, i, j, float(v)) for (typ, i, j, _), v in
                     zip(found, calibration([c[i:j].sum(dtype=np.float64) / (j - i)
                                             for _, i, j, _ in found]))]
        if min_score and any(f[3] < min_score for f in found):
            t = list(t)
            for typ, i, j, v in found:
                if v < min_score:
                    t[i:j] = ["O"] * (j - i)
            found = [f for f in found if f[3] >= min_score]
        text, spans = sentence_text(Sentence(s.words, t))
        starts = [pos + a for a, _ in spans]
        ends = [pos + b for _, b in spans]
        ents = [Entity(starts[i], ends[j - 1], typ, text[spans[i][0]:spans[j - 1][1]], v)
                for typ, i, j, v in found]
        out.append(TaggedSentence(starts[0] if starts else pos, ends[-1] if ends else pos,
                                  TokenSpans(list(s.words), starts, ends), list(t), ents, c))
        lines.append(text + "\n")
        pos += len(text) + 1
    return TaggedChunk(offset, "".join(lines), out)


def conll(sentences: list[Sentence], tags: list[list[str]]) -> str:
    """The input's columns with the predicted tag appended, a blank line after each
    sentence."""
    return "".join(formats.tokenized_conll(s.columns, t) for s, t in zip(sentences, tags))
