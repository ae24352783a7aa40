"""Tagging raw text: chunks of input → sentences → batched predictions → entities.

Input is read as a stream of *chunks* whose concatenation is exactly the input
(so output formats can reproduce every character), each cut after a blank line
(or, for enormous paragraphs, at a line or whitespace boundary), and processed
in batches of about ``BATCH_CHARS`` characters: memory stays bounded whatever
the input size. ``--jobs N`` sends batches to N worker processes and writes
their results in input order.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import repeat
from typing import IO, Callable, Iterable, Iterator, Sequence

import numpy as np

from nertag.errors import NertagError, UsageError
from nertag.inference.calibration import calibrated
from nertag.inference.model import NerModel
from nertag.nn.ragged import sentence_starts
from nertag.text import tags as tagmod
from nertag.text import sentences as sentence_modes
from nertag.text.patterns import Patterns, merge_keep
from nertag.text.tagged import Entity, TaggedChunk, TaggedSentence
from nertag.text.tokenize import TokenSpans, split_flat

CHUNK_CHARS = 64 * 1024       # cut a chunk after a blank line once it is this long
MAX_CHUNK_CHARS = 1 << 20     # hard limit: cut at a line / whitespace boundary
BATCH_CHARS = 512 * 1024      # text per model batch


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


def tag_chunks(model: NerModel, chunks: Sequence[tuple[int, str]],
               sentences: str = sentence_modes.DEFAULT, docs: Sequence[int] | None = None,
               decoder: str | None = None, min_score: float | None = None
               ) -> list[TaggedChunk]:
    """Tokenize, split and tag a batch of chunks in one model call; ``sentences``: which
    line breaks end a sentence (``blank``, ``line``, ``auto``: :mod:`nertag.text.sentences`);
    ``docs``: the document number of each chunk, ascending (None: the batch is one
    document; it matters only to a model with document context); ``decoder``: ``greedy``,
    ``constrained`` or ``viterbi`` (None: the model's own); ``min_score``: the model's
    entities scored below it are dropped (None: the model's :func:`model_min_score`)."""
    split = [split_flat(text, offset, sentences) for offset, text in chunks]
    # the batch's tokens end to end: texts (N), offsets (N,), sentence lengths (S,)
    texts = [w for p in split for w in p.texts]
    if not texts:
        return [TaggedChunk(offset, text, []) for offset, text in chunks]
    lab = tagmod.label_codes(model.labels)
    if model.scheme not in ("bio", "bioes") or not lab.ok:
        raise NertagError(f"the model's labels {model.labels[:6]} are not tags of the BIO or "
                          f"BIOES scheme; retrain the model")
    starts = np.concatenate([p.starts for p in split])
    ends = np.concatenate([p.ends for p in split])
    lengths = np.concatenate([np.diff(p.cuts) for p in split]).astype(np.int64)
    chunk_of = np.repeat(np.arange(len(split)), [len(p.cuts) - 1 for p in split])  # (S,)
    doc_sizes = None
    if docs is not None:  # sentences per document, from each sentence's chunk's document
        doc_sizes = np.diff(np.flatnonzero(np.diff(np.r_[-1, np.asarray(docs)[chunk_of], -2])))
    rules = model_patterns(model)
    if rules is not None and rules.mode == "patterns":  # the model's entities are not used
        ids = np.full(len(texts), model.labels.index("O"), np.int64)
        conf = np.ones(len(texts), np.float32)
    else:
        ids, conf = model.predict_ids(texts, lengths, decoder=decoder, docs=doc_sizes)
    sent_start = sentence_starts(lengths)                                         # (S,)
    # BIO tags: a BIO model's own (as predict gives them), BIOES converted
    begin, end, typ, bio = tagmod.entity_spans(ids, sent_start, lab)
    labels = (lab.as_array[ids] if model.scheme == "bio" else lab.bio_tags[bio]).tolist()
    score = calibrated(model, _span_means(conf, begin, end))
    floor = model_min_score(model) if min_score is None else min_score
    if floor and len(score) and (score < floor).any():  # dropped: their tokens become O
        low = score < floor
        for b, e in zip(begin[low].tolist(), end[low].tolist()):
            labels[b:e] = ["O"] * (e - b)
        begin, end, typ, score = begin[~low], end[~low], typ[~low], score[~low]
    names, source, pattern_id = lab.entity_types, None, None
    if rules is not None:  # merged before the sentences are made: labels change in place
        names = list(names)
        keep, (pb, pe, which), order, (begin, end) = merge_patterns(
            rules, texts, lengths, labels, begin, end, [names[t] for t in typ.tolist()])
        n_model = int(keep.sum())
        typ = np.r_[typ[keep], len(names) + which][order]
        score = np.r_[score[keep], np.ones(len(pb))][order]
        source = [("model", "pattern")[k >= n_model] for k in order.tolist()]
        ids_kept = [rules.ids[i] for i in which.tolist()]
        pattern_id = [None if k < n_model else ids_kept[k - n_model] for k in order.tolist()]
        names += rules.labels
    ents = _entities(chunks, names, starts, ends, score, sent_start, chunk_of,
                     begin, end, typ, source, pattern_id)
    starts_l, ends_l = starts.tolist(), ends.tolist()
    out, k, o = [], 0, 0
    for (offset, text), p in zip(chunks, split):
        tagged = []
        for a, b in zip(p.cuts, p.cuts[1:]):
            a, b = a + o, b + o
            tagged.append(TaggedSentence(starts_l[a], ends_l[b - 1], TokenSpans(
                texts[a:b], starts_l[a:b], ends_l[a:b]), labels[a:b], ents[k], conf[a:b]))
            k += 1
        o += len(p.texts)
        out.append(TaggedChunk(offset, text, tagged))
    return out


# ------------------------------------------------------------------ a minimum score
#: The attribute of a loaded model that holds the score below which tagging drops the
#: model's entities (None: keep them all), set by :func:`use_min_score`; the score is the
#: calibrated one if the model has a calibration (:mod:`nertag.inference.calibration`).
MIN_SCORE_ATTR = "min_entity_score"


def check_min_score(value, where: str = "min_score") -> float | None:
    """``value`` as a minimum entity score: None, or a number in [0, 1] (else
    :class:`UsageError` naming ``where``)."""
    if value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
    if not ok:  # (NaN fails 0 <= value too)
        raise UsageError(f"{where}: must be a number from 0 to 1 (an entity score), got "
                         f"{value!r}", inputs=("min_score",))
    return float(value)


def model_min_score(model) -> float | None:
    """The score below which tagging with ``model`` drops its entities (None: none)."""
    return getattr(model, MIN_SCORE_ATTR, None)


def use_min_score(model, min_score: float | None) -> None:
    """Drop the model's entities scored below ``min_score`` from now on (None: keep all;
    workers forked later inherit it)."""
    setattr(model, MIN_SCORE_ATTR, check_min_score(min_score))


# ------------------------------------------------------------------ entity patterns
#: The attribute of a loaded model that holds its entity patterns (None: none), set by
#: :func:`use_patterns`: the model directory's ``patterns.jsonl`` when it is loaded
#: (:func:`nertag.modelio.load_model`), or the patterns a run gives instead.  Every path
#: that tags raw text (:func:`tag_chunks`: one process, ``--jobs`` workers, Dask, the
#: API, serve) or CoNLL words (``--tokenized``: :func:`apply_patterns`) merges them
#: through :func:`merge_patterns`.
PATTERNS_ATTR = "entity_patterns"


def model_patterns(model) -> Patterns | None:
    """The entity patterns tagging with ``model`` merges (None: none)."""
    return getattr(model, PATTERNS_ATTR, None)


def use_patterns(model, patterns: Patterns | None) -> None:
    """Tag with ``patterns`` (None: none) from now on (and in workers forked later)."""
    if patterns is not None and "O" not in model.labels:
        raise NertagError("the model has no 'O' tag; entity patterns need a model of the "
                          "BIO or BIOES scheme")
    setattr(model, PATTERNS_ATTR, patterns)


def merge_patterns(rules: Patterns, words: Sequence[str], lengths: np.ndarray,
                   labels: list[str], mb: np.ndarray, me: np.ndarray, mtypes: list[str]
                   ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray],
                              np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Merge ``rules``' matches with the model's entities, as ``rules.mode`` says
    (:mod:`nertag.text.patterns`), in sentences laid end to end: ``words`` (N), their
    ``lengths`` (S,), the model entities' token spans ``[mb, me)`` (E,) in order and
    their types ``mtypes`` (E).  The BIO ``labels`` (N) change in place: a sentence the
    merge changes (a match kept in it, or a model entity dropped) gets its tags made
    again from its merged entities; the others keep theirs.

    Returns ``keep`` (E,), the model entities kept; the kept matches ``(pb, pe, which)``
    (M,) each (``which``: the pattern's number); ``order``, the merged entities in text
    order as indices into the kept model entities followed by the kept matches; and
    their token spans ``(begin, end)`` in that order."""
    pb, pe, which = rules.match(words, lengths)
    keep, keep_p = merge_keep(rules.mode, (mb, me), (pb, pe), len(words))
    pb, pe, which = pb[keep_p], pe[keep_p], which[keep_p]
    b, e = np.r_[mb[keep], pb], np.r_[me[keep], pe]
    order = np.argsort(b, kind="stable")  # (no two overlap: one order)
    first = sentence_starts(np.asarray(lengths, dtype=np.int64))
    changed = np.zeros(len(first), bool)
    changed[np.searchsorted(first, np.r_[pb, mb[~keep]], side="right") - 1] = True
    if changed.any():
        for a, n in zip(first[changed].tolist(), np.asarray(lengths)[changed].tolist()):
            labels[a:a + n] = ["O"] * n
        types = [t for t, k in zip(mtypes, keep.tolist()) if k] + \
            [rules.labels[i] for i in which.tolist()]
        redo = changed[np.searchsorted(first, b, side="right") - 1]
        for k, a, z in zip(np.flatnonzero(redo).tolist(), b[redo].tolist(), e[redo].tolist()):
            labels[a] = "B-" + types[k]
            if z - a > 1:
                labels[a + 1:z] = ["I-" + types[k]] * (z - a - 1)
    return keep, (pb, pe, which), order, (b[order], e[order])


def apply_patterns(rules: Patterns, chunks: Sequence[TaggedChunk]) -> None:
    """Merge the pattern matches into tagged ``chunks`` (in place), as
    :func:`merge_patterns` does: each sentence's entities and tags are the merged ones,
    every entity with its ``source`` (``model`` or ``pattern``, score 1.0).  (Raw text
    merges in :func:`tag_chunks`, before its sentences are made.)"""
    sents = [(c, s) for c in chunks for s in c.sentences]
    if not sents:
        return
    words = [w for _, s in sents for w in s.tokens.texts]
    lengths = np.fromiter((len(s.tokens) for _, s in sents), np.int64, len(sents))
    first = sentence_starts(lengths).tolist()
    labels = [t for _, s in sents for t in s.tags]
    ents = [e for _, s in sents for e in s.entities]
    mb, me = _entity_tokens(sents, first)
    keep, (pb, pe, which), order, (b_all, _) = merge_patterns(
        rules, words, lengths, labels, mb, me, [e.label for e in ents])
    for e in ents:
        e.source = "model"
    where = [(c, s, f) for (c, s), f in zip(sents, first)]
    found = []
    for k, b, z, i in zip((np.searchsorted(first, pb, side="right") - 1).tolist(),
                          pb.tolist(), pe.tolist(), which.tolist()):
        c, s, f = where[k]
        a, z = s.tokens.starts[b - f], s.tokens.ends[z - 1 - f]
        found.append(Entity(a, z, rules.labels[i], c.text[a - c.offset:z - c.offset], 1.0,
                            "pattern", rules.ids[i]))
    merged = [e for e, k in zip(ents, keep.tolist()) if k] + found
    cuts = np.searchsorted(b_all, np.r_[first, len(words)]).tolist()
    for k, (_, s) in enumerate(sents):
        s.tags = labels[first[k]:first[k] + len(s.tokens)]
        s.entities = [merged[i] for i in order[cuts[k]:cuts[k + 1]].tolist()]


def _entity_tokens(sents, first: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The token spans ``(begin, end)`` of every sentence's entities, in the words end to
    end (``first``: each sentence's first token there)."""
    spans = [(f + bisect_left(s.tokens.starts, e.start), f + bisect_left(s.tokens.starts, e.end))
             for (_, s), f in zip(sents, first) for e in s.entities]
    arr = np.array(spans, np.int64).reshape(len(spans), 2)
    return arr[:, 0].copy(), arr[:, 1].copy()


def _span_means(conf: np.ndarray, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The raw score (E,) of each token span ``begin:end`` (E,): the mean probability
    ``conf`` (N,) of its tokens' tags, summed span by span (the same bits wherever the
    sentence falls in a batch)."""
    bounds = np.stack([begin, end], axis=1).ravel()
    sums = np.add.reduceat(np.append(conf.astype(np.float64), 0.0), bounds)[::2] \
        if len(begin) else np.zeros(0)
    return sums / (end - begin)


def _entities(chunks, names, starts, ends, scores, sent_start, chunk_of, begin, end, typ,
              source=None, pattern_id=None) -> list[list[Entity]]:
    """The entities of each sentence from the token spans ``begin:end`` (E,) of entity
    type ``typ`` (E,) with ``scores`` (E,) (and, with patterns, each one's ``source`` and
    ``pattern_id`` (E)); starts/ends: (N,) per token; sent_start, chunk_of: (S,) per
    sentence."""
    score = scores.tolist()
    sent_of = np.searchsorted(sent_start, begin, side="right") - 1
    ents: list[list[Entity]] = [[] for _ in sent_start]
    for a, b, t, sc, k, c, so, pid in zip(
            starts[begin].tolist(), ends[end - 1].tolist(), typ.tolist(), score,
            sent_of.tolist(), chunk_of[sent_of].tolist(),
            repeat(None) if source is None else source,
            repeat(None) if pattern_id is None else pattern_id):
        off, text = chunks[c]
        ents[k].append(Entity(a, b, names[t], text[a - off:b - off], sc, so, pid))
    return ents


def batches(stream: IO[str], batch_chars: int | Callable[[int], int] | None = None
            ) -> Iterator[list[tuple[int, str]]]:
    """The chunks of a stream (:func:`iter_chunks`) in batches: :func:`group_chunks`."""
    return group_chunks(iter_chunks(stream), batch_chars)


def group_chunks(chunks: Iterable[tuple[int, str]],
                 batch_chars: int | Callable[[int], int] | None = None
                 ) -> Iterator[list[tuple[int, str]]]:
    """Consecutive ``(offset, text)`` chunks in batches of about ``batch_chars``
    characters (default ``BATCH_CHARS``; a batch ends with the chunk that reaches it),
    or of ``batch_chars(done)`` characters with ``done`` the number already batched."""
    if not callable(batch_chars):
        fixed = BATCH_CHARS if batch_chars is None else batch_chars
        batch_chars = lambda done: fixed  # noqa: E731
    batch, size, done = [], 0, 0
    limit = batch_chars(done)
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk[1])
        if size >= limit:
            yield batch
            done += size
            batch, size = [], 0
            limit = batch_chars(done)
    if batch:
        yield batch
