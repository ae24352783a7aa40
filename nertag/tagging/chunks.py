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
    ents = _entities(chunks, lab.entity_types, starts, ends, score, sent_start, chunk_of,
                     begin, end, typ)
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
    if rules is not None:
        apply_patterns(rules, out, texts, lengths, (begin, end))
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
#: API, serve) or CoNLL words (``--tokenized``) merges them through :func:`apply_patterns`.
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


def apply_patterns(rules: Patterns, chunks: Sequence[TaggedChunk],
                   words: Sequence[str] | None = None, lengths=None, model_spans=None) -> None:
    """Merge the pattern matches into the tagged ``chunks`` (in place), sentence by
    sentence, as ``rules.mode`` says (:mod:`nertag.text.patterns`): the entities of a
    sentence the merge changes are made again, in order, and its BIO tags from them;
    every entity gets its ``source`` (``model`` or ``pattern``, score 1.0).  Optional,
    if the caller has them: ``words``/``lengths``, the sentences' tokens end to end and
    their lengths (S,), and ``model_spans``, the model entities' token spans ``(begin,
    end)`` (E,) in those words, in order."""
    sents = [(c, s) for c in chunks for s in c.sentences]
    if not sents:
        return
    if words is None:
        words = [w for _, s in sents for w in s.tokens.texts]
        lengths = np.fromiter((len(s.tokens) for _, s in sents), np.int64, len(sents))
    first = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)  # (S,) first token of each
    if model_spans is None:
        model_spans = _entity_tokens(sents, first.tolist())
    mb, me = model_spans
    pb, pe, which = rules.match(words, lengths)
    keep_m, keep_p = merge_keep(rules.mode, (mb, me), (pb, pe), len(words))
    # the sentences a kept match or a dropped model entity changes
    msent = np.searchsorted(first, mb, side="right") - 1
    psent = np.searchsorted(first, pb[keep_p], side="right") - 1
    changed = set(psent.tolist()).union(msent[~keep_m].tolist())
    for _, s in sents:
        for e in s.entities:
            e.source = "model"
    k_model = np.r_[0, np.cumsum(np.bincount(msent, minlength=len(sents)))].tolist()
    kept, mb_l, me_l, first_l = keep_m.tolist(), mb.tolist(), me.tolist(), first.tolist()
    found: dict[int, list] = {}
    for k, b, e, i in zip(psent.tolist(), pb[keep_p].tolist(), pe[keep_p].tolist(),
                          which[keep_p].tolist()):
        found.setdefault(k, []).append((b, e, i))
    for k in sorted(changed):
        chunk, s = sents[k]
        a, z = k_model[k], k_model[k + 1]
        _merge_sentence(rules, chunk, s, first_l[k], list(zip(
            mb_l[a:z], me_l[a:z], s.entities, kept[a:z])), found.get(k, []))


def _entity_tokens(sents, first: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The token spans ``(begin, end)`` of every sentence's entities, in the words end to
    end (``first``: each sentence's first token there)."""
    spans = [(f + bisect_left(s.tokens.starts, e.start), f + bisect_left(s.tokens.starts, e.end))
             for (_, s), f in zip(sents, first) for e in s.entities]
    arr = np.array(spans, np.int64).reshape(len(spans), 2)
    return arr[:, 0].copy(), arr[:, 1].copy()


def _merge_sentence(rules: Patterns, chunk: TaggedChunk, s: TaggedSentence, first: int,
                    model: list[tuple[int, int, Entity, bool]],
                    matches: list[tuple[int, int, int]]) -> None:
    """One sentence's entities and tags: its model entities that the merge keeps (``model``:
    ``(begin, end, entity, kept)``) and its kept pattern ``matches`` (``(begin, end,
    pattern)``), token spans counted from the batch's ``first`` token of the sentence."""
    starts, ends = s.tokens.starts, s.tokens.ends
    merged = [(b - first, e - first, ent) for b, e, ent, keep in model if keep]
    for b, e, i in matches:
        b, e = b - first, e - first
        a, z = starts[b], ends[e - 1]
        merged.append((b, e, Entity(a, z, rules.labels[i],
                                    chunk.text[a - chunk.offset:z - chunk.offset], 1.0,
                                    "pattern", rules.ids[i])))
    merged.sort(key=lambda m: m[0])
    tags = ["O"] * len(starts)
    for b, e, ent in merged:
        tags[b] = "B-" + ent.label
        tags[b + 1:e] = ["I-" + ent.label] * (e - b - 1)
    s.tags, s.entities = tags, [ent for _, _, ent in merged]


def _span_means(conf: np.ndarray, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The raw score (E,) of each token span ``begin:end`` (E,): the mean probability
    ``conf`` (N,) of its tokens' tags, summed span by span (the same bits wherever the
    sentence falls in a batch)."""
    bounds = np.stack([begin, end], axis=1).ravel()
    sums = np.add.reduceat(np.append(conf.astype(np.float64), 0.0), bounds)[::2] \
        if len(begin) else np.zeros(0)
    return sums / (end - begin)


def _entities(chunks, names, starts, ends, scores, sent_start, chunk_of, begin, end, typ
              ) -> list[list[Entity]]:
    """The entities of each sentence from the token spans ``begin:end`` (E,) of entity
    type ``typ`` (E,) with ``scores`` (E,); starts/ends: (N,) per token; sent_start,
    chunk_of: (S,) per sentence."""
    score = scores.tolist()
    sent_of = np.searchsorted(sent_start, begin, side="right") - 1
    ents: list[list[Entity]] = [[] for _ in sent_start]
    for a, b, t, sc, k, c in zip(starts[begin].tolist(), ends[end - 1].tolist(), typ.tolist(),
                                 score, sent_of.tolist(), chunk_of[sent_of].tolist()):
        off, text = chunks[c]
        ents[k].append(Entity(a, b, names[t], text[a - off:b - off], sc))
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
