"""Tagging raw text: chunks of input → sentences → batched predictions → entities.

Input is read as a stream of *chunks* whose concatenation is exactly the input
(so output formats can reproduce every character), each cut after a blank line
(or, for enormous paragraphs, at a line or whitespace boundary), and processed
in batches of about ``BATCH_CHARS`` characters: memory stays bounded whatever
the input size. ``--jobs N`` sends batches to N worker processes and writes
their results in input order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Iterator, Sequence

import numpy as np

from .predict import NerModel, _labels, entity_spans  # noqa: F401  (re-exported)
from .scoring import get_entities
from .tokenize import Token, split_sentences

CHUNK_CHARS = 64 * 1024       # cut a chunk after a blank line once it is this long
MAX_CHUNK_CHARS = 1 << 20     # hard limit: cut at a line / whitespace boundary
BATCH_CHARS = 512 * 1024      # text per model batch


@dataclass
class Entity:
    start: int
    end: int
    label: str
    text: str
    score: float

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label, "text": self.text,
                "score": round(self.score, 4)}


@dataclass
class TaggedSentence:
    start: int            # offset of the first token in the input
    end: int
    tokens: list[Token]
    tags: list[str]
    entities: list[Entity]


@dataclass
class TaggedChunk:
    offset: int           # offset of the chunk's first character in the input
    text: str
    sentences: list[TaggedSentence]


def iter_chunks(stream: IO[str]) -> Iterator[tuple[int, str]]:
    """Yield ``(offset, text)`` pieces of a text stream; joined, they are the input.

    A piece ends after a blank line once it holds ``CHUNK_CHARS`` characters; a
    paragraph longer than ``MAX_CHUNK_CHARS`` is cut at a line end, and a single
    longer line at whitespace (or hard, if it has none).
    """
    buf: list[str] = []
    size = offset = 0
    for line in stream:
        while len(line) > MAX_CHUNK_CHARS:  # an enormous line: cut at whitespace
            cut = _cut(line, MAX_CHUNK_CHARS)
            if buf:
                text = "".join(buf)
                yield offset, text
                offset += len(text)
                buf, size = [], 0
            yield offset, line[:cut]
            offset += cut
            line = line[cut:]
        buf.append(line)
        size += len(line)
        if (size >= CHUNK_CHARS and not line.strip()) or size >= MAX_CHUNK_CHARS:
            text = "".join(buf)
            yield offset, text
            offset += len(text)
            buf, size = [], 0
    if buf:
        yield offset, "".join(buf)


def _cut(line: str, limit: int) -> int:
    """A cut point ≤ limit just after whitespace, so no token is split (if possible)."""
    for i in range(limit, max(limit - 4096, 0), -1):
        if line[i - 1].isspace():
            return i
    return limit


def entities_of(tokens: Sequence[Token], tags: Sequence[str], conf: np.ndarray,
                text: str, text_offset: int) -> list[Entity]:
    """Entity spans with character offsets into the input; score = mean tag probability."""
    out = []
    for label, s, e in get_entities(tags):
        start, end = tokens[s].start, tokens[e - 1].end
        out.append(Entity(start, end, label, text[start - text_offset:end - text_offset],
                          float(conf[s:e].mean())))
    return out


def tag_chunks(model: NerModel, chunks: Sequence[tuple[int, str]]) -> list[TaggedChunk]:
    """Tokenize, split and tag a batch of chunks in one model call."""
    per_chunk = [split_sentences(text, offset) for offset, text in chunks]
    sents = [s for ss in per_chunk for s in ss if s]
    if not sents:
        return [TaggedChunk(offset, text, []) for offset, text in chunks]
    lab = _labels(model.labels)
    if model.scheme not in ("bio", "bioes") or not lab.ok:
        return _tag_chunks_slow(model, chunks, per_chunk, sents)
    flat = [t for s in sents for t in s]
    lengths = np.fromiter(map(len, sents), dtype=np.int64, count=len(sents))
    ids, conf = model.predict_ids([t[0] for t in flat], lengths)
    starts = np.cumsum(lengths) - lengths
    begin, end, typ, bio = entity_spans(ids, starts, lab)
    # BIO tags: a BIO model's own (as predict gives them), BIOES converted
    labels = (lab.as_array[ids] if model.scheme == "bio" else lab.bio_tags[bio]).tolist()
    # mean confidence of each span, summed span by span (the same bits wherever the
    # sentence falls in a batch)
    bounds = np.stack([begin, end], axis=1).ravel()
    sums = np.add.reduceat(np.append(conf.astype(np.float64), 0.0), bounds)[::2] \
        if len(begin) else np.zeros(0)
    score = (sums / (end - begin)).tolist()
    sent_of = (np.searchsorted(starts, begin, side="right") - 1).tolist()
    names = lab.type_names
    ents: list[list[Entity]] = [[] for _ in sents]
    # chunk offset and text of every sentence, to cut the entity text
    where = [(offset, text) for (offset, text), ss in zip(chunks, per_chunk) for s in ss if s]
    for b, e, t, sc, k in zip(begin.tolist(), end.tolist(), typ.tolist(), score, sent_of):
        start, stop = flat[b][1], flat[e - 1][2]
        off, text = where[k]
        ents[k].append(Entity(start, stop, names[t], text[start - off:stop - off], sc))
    out, k, o = [], 0, 0
    for (offset, text), ss in zip(chunks, per_chunk):
        tagged = []
        for s in ss:
            if not s:
                continue
            n = len(s)
            tagged.append(TaggedSentence(s[0][1], s[-1][2], s, labels[o:o + n], ents[k]))
            o += n
            k += 1
        out.append(TaggedChunk(offset, text, tagged))
    return out


def _tag_chunks_slow(model, chunks, per_chunk, sents) -> list[TaggedChunk]:
    """Sentence by sentence (any tag scheme or label set)."""
    tags, conf = model.predict([[t.text for t in s] for s in sents])
    out, k = [], 0
    for (offset, text), ss in zip(chunks, per_chunk):
        tagged = []
        for s in ss:
            if not s:
                continue
            tagged.append(TaggedSentence(s[0].start, s[-1].end, s, tags[k],
                                         entities_of(s, tags[k], conf[k], text, offset)))
            k += 1
        out.append(TaggedChunk(offset, text, tagged))
    return out


def batches(stream: IO[str], batch_chars: int | None = None
            ) -> Iterator[list[tuple[int, str]]]:
    """Group the chunks of a stream into batches of about ``batch_chars`` characters
    (default ``BATCH_CHARS``)."""
    batch_chars = BATCH_CHARS if batch_chars is None else batch_chars
    batch, size = [], 0
    for chunk in iter_chunks(stream):
        batch.append(chunk)
        size += len(chunk[1])
        if size >= batch_chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def tag_text(model: NerModel, text: str) -> list[TaggedSentence]:
    """Tag a string (the simplest entry point for library users)."""
    import io

    return [s for b in batches(io.StringIO(text, newline=""))
            for c in tag_chunks(model, b) for s in c.sentences]
