"""Tag schemes and the entities they encode: parsing, validation, detection, the
conlleval chunk rules (:func:`get_entities`, and :func:`entity_spans` on label ids for
many sentences at once), conversion and transition masks.

Three schemes are supported:

* ``"iob1"`` -- original CoNLL-2003: an entity starts with ``I-``; ``B-`` only on the
  first token of an entity that directly follows another entity of the same type.
* ``"bio"`` (IOB2) -- every entity starts with ``B-`` and continues with ``I-``.
* ``"bioes"`` -- ``B-`` begin, ``I-`` inside, ``E-`` end, ``S-`` single token.

Files may also use **IO** labels (Stanford NER's TSV: ``PERSON``, ``O``, no prefixes):
a run of one label is one entity (:func:`io_to_bio`), so IO cannot separate two
touching entities of one type (:func:`bio_to_io` merges them).  What an entity type
may be: :func:`label_problem`.

Every conversion decodes the entities with the conlleval chunk rules (the rules
:mod:`nertag.text.scoring` scores with) and re-encodes them, so converting never
changes the entities the scorer sees (an ``I-X`` that starts an entity becomes
``B-X`` in BIO, which is what conlleval treats it as anyway).
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np

from nertag.errors import NertagError

SCHEMES: tuple[str, ...] = ("iob1", "bio", "bioes")
PREFIXES: dict[str, tuple[str, ...]] = {
    "iob1": ("B", "I"),
    "bio": ("B", "I"),
    "bioes": ("B", "I", "E", "S"),
}
_ALIASES = {"iob2": "bio", "iob": "bio", "iobes": "bioes", "bilou": "bioes"}


def check_scheme(scheme: str) -> str:
    """Return the canonical name of ``scheme`` (case-insensitive, aliases such
    as ``iob2`` accepted) or raise :class:`NertagError`."""
    name = str(scheme).strip().lower()
    name = _ALIASES.get(name, name)
    if name not in SCHEMES:
        raise NertagError(
            f"unknown tag scheme {scheme!r}: expected one of {', '.join(SCHEMES)}"
        )
    return name


def parse_tag(tag: str) -> tuple[str, str]:
    """Split a tag into ``(prefix, type)`` at the first ``-``: ``"B-PER"`` -> ``("B", "PER")``,
    ``"I-WORK-OF-ART"`` -> ``("I", "WORK-OF-ART")``, ``"O"`` -> ``("O", "")`` (no ``-``:
    the empty type)."""
    prefix, sep, type_ = tag.partition("-")
    return (prefix, type_) if sep else (tag, "")


def is_valid_tag(tag: str, scheme: str) -> bool:
    """True if ``tag`` is ``"O"`` or ``<prefix>-<type>`` with a prefix of the
    scheme (B/I for iob1 and bio, B/I/E/S for bioes) and a non-empty type."""
    if tag == "O":
        return True
    prefix, sep, type_ = tag.partition("-")
    return bool(sep and type_) and prefix in PREFIXES[check_scheme(scheme)]


def detect_scheme(sequences: Iterable[Sequence[str]]) -> str:
    """Guess the scheme of some tagged sentences.

    ``"bioes"`` if any ``E-``/``S-`` tag appears.  Otherwise count the entity
    starts written with ``I-`` (after ``O``, at sentence start, or after a
    different type: never in valid BIO, at every sentence's first entity in
    IOB1) against the ``B-`` tags that do *not* follow the same type (never in
    valid IOB1, every entity in BIO).  ``"iob1"`` if the ``I-`` starts are the
    majority, else ``"bio"`` (also for input without entities).
    """
    i_starts = b_starts = 0
    for seq in sequences:
        prev_type = ""  # "" = outside any entity
        for tag in seq:
            prefix, type_ = parse_tag(tag)
            if prefix in ("E", "S"):
                return "bioes"
            if prefix == "I" and type_ != prev_type:
                i_starts += 1
            elif prefix == "B" and type_ != prev_type:
                b_starts += 1
            prev_type = "" if prefix == "O" else type_
    return "iob1" if i_starts > b_starts else "bio"


# ------------------------------------------------------------------ the entities of tags
_SPLIT_CACHE: dict[str, tuple[str, str]] = {}


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """True if a chunk ended between the previous and the current token."""
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag != "O" and prev_tag != "." and prev_type != type_


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """True if a chunk started at the current token."""
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag != "O" and tag != "." and prev_type != type_


def get_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The chunks of one sentence as ``(type, start, end_exclusive)``, in order.

    Same logic as ``seqeval.metrics.sequence_labeling.get_entities`` (which
    returns inclusive ends), except that a tag without ``-`` has the empty type
    ``""`` where seqeval says ``"_"``.
    """
    cache = _SPLIT_CACHE
    chunks: list[tuple[str, int, int]] = []
    prev_tag, prev_type, begin = "O", "", 0
    n = len(tags)
    for i in range(n + 1):
        if i < n:
            t = tags[i]
            parsed = cache.get(t)
            if parsed is None:
                parsed = cache[t] = parse_tag(t)
            tag, type_ = parsed
        else:
            tag, type_ = "O", ""
        if prev_tag != "O" or tag != "O":  # fast path for runs of O
            if _end_of_chunk(prev_tag, tag, prev_type, type_):
                chunks.append((prev_type, begin, i))
            if _start_of_chunk(prev_tag, tag, prev_type, type_):
                begin = i
        prev_tag, prev_type = tag, type_
    return chunks


_PREFIX = {"O": 0, "B": 1, "I": 2, "E": 3, "S": 4}


class LabelCodes:
    """Per label id of a model: its prefix (O B I E S) and entity type, as arrays for
    vectorised chunking (:func:`entity_spans`), and the BIO tag strings output uses."""

    def __init__(self, labels: Sequence[str]):
        self.labels = list(labels)
        prefix, types = [], []
        for lab in self.labels:
            p, t = parse_tag(lab)
            prefix.append(_PREFIX.get(p, -1) if "-" in lab or lab == "O" else -1)
            types.append(t)
        # every label is O or PREFIX-TYPE with a known prefix (else: sentence by sentence)
        self.ok = all(p >= 0 and (p == 0) == (lab == "O") for p, lab in zip(prefix, self.labels))
        self.prefix = np.array(prefix, dtype=np.int8)
        names = sorted(set(types))
        self.entity_types = names                                      # "" for O
        self.entity_type = np.array([names.index(t) for t in types], dtype=np.int32)
        self.as_array = np.array(self.labels, dtype=object)
        # BIO output tags: 0 = O, 1 + 2k = B-type_k, 2 + 2k = I-type_k
        self.bio_tags = np.array(["O"] + [f"{p}-{t}" for t in names for p in "BI"], dtype=object)


_CODES_CACHE: dict[tuple, LabelCodes] = {}


def label_codes(labels: Sequence[str]) -> LabelCodes:
    """The (cached) :class:`LabelCodes` of a label list."""
    key = tuple(labels)
    if key not in _CODES_CACHE:
        _CODES_CACHE[key] = LabelCodes(labels)
    return _CODES_CACHE[key]


def entity_spans(ids: np.ndarray, starts: np.ndarray, lab: LabelCodes):
    """Entities of tag ids (BIO or BIOES) laid end to end; sentence ``k`` starts at
    ``starts[k]``.  Returns ``(begin, end, type_id, bio)``: token index arrays of the
    chunks and every token's BIO tag id (see ``LabelCodes.bio_tags``).

    The chunks are exactly those :func:`get_entities` (conlleval's
    rules) finds sentence by sentence: a non-O token starts a chunk if it is B or S,
    or an I/E after O/E/S (or at a sentence start), or its type differs from the
    previous token's; otherwise it continues the previous token's chunk.
    """
    pre, typ = lab.prefix[ids], lab.entity_type[ids]
    sent_first = np.zeros(len(ids), dtype=bool)  # the first token of a sentence
    sent_first[starts] = True
    prev_pre = np.empty_like(pre)
    prev_typ = np.empty_like(typ)
    if len(ids):
        prev_pre[0], prev_typ[0] = 0, -1
        prev_pre[1:], prev_typ[1:] = pre[:-1], typ[:-1]
    prev_pre[sent_first] = 0   # a sentence starts after "O", whose type matches no entity
    prev_typ[sent_first] = -1
    start = ((pre == 1) | (pre == 4)
             | (((prev_pre == 0) | (prev_pre == 3) | (prev_pre == 4)) & ((pre == 2) | (pre == 3)))
             | (typ != prev_typ))
    inside = pre != 0
    cont = inside & ~start
    begin = np.flatnonzero(inside & start)
    stops = np.append(np.flatnonzero(~cont), len(ids))
    end = stops[np.searchsorted(stops, begin, side="right")]
    bio = np.where(inside, np.where(cont, 2, 1) + 2 * typ, 0)
    return begin, end, typ[begin], bio


# ------------------------------------------------------------------ IO labels
_IO_STRICT = re.compile(r"[A-Z][A-Z0-9_-]+")


def is_io_label(tag: str, strict: bool = True) -> bool:
    """True if ``tag`` is an IO label (an entity type with no prefix, e.g. ``PERSON``).

    Never ``O``, and never a tag that looks prefixed (``B-X``, ``b-org``, ``Q-XX``,
    ``B-``: a character then ``-``).  ``strict`` (used to auto-detect IO files) also
    asks for capitals, digits, ``_`` and ``-`` only, two characters or more, so that
    the last word of a line of plain text is not taken for a label; an ``I-X`` tag
    is read as ``X`` when the file is declared IO (``strict=False``).
    """
    if tag == "O" or not tag:
        return False
    if not strict and tag.startswith("I-") and len(tag) > 2:
        return True
    if len(tag) >= 2 and tag[1] == "-":
        return False
    return bool(_IO_STRICT.fullmatch(tag)) if strict else True


def label_problem(label) -> str | None:
    """Why ``label`` cannot be an entity type, and what to do (None: it can). A type must
    read back as itself from every format: a non-empty string, not ``O``, without
    whitespace (columns split on it) or control characters (NUL makes a file binary),
    not like a prefixed tag (a character then ``-``: IO files would read ``B-PER`` as PER).
    """
    if not isinstance(label, str):
        return 'an entity type is a string, such as "PER"'
    if not label or label == "O":
        return ("O means outside any entity; give an entity type such as PER (or drop the "
                "span)") if label else "an entity type cannot be empty; give one such as PER"
    for ch in label:
        if ch.isspace():
            return "an entity type cannot hold whitespace; join its words with _"
        if ch < " " or "\x7f" <= ch <= "\x9f" or "\ud800" <= ch <= "\udfff":
            what = "unpaired surrogate" if ch >= "\ud800" else "control character"
            return f"an entity type cannot hold the {what} U+{ord(ch):04X}; remove it"
    if len(label) >= 2 and label[1] == "-":
        return (f"it looks like a tag (a letter then '-'); give the entity type alone, "
                f"e.g. {label[2:] or 'PER'!r}")
    return None


def io_to_bio(tags: Sequence[str]) -> list[str]:
    """IO labels (``O``, ``PERSON``, or ``I-PER``) -> BIO: a run of one label is one entity."""
    out, prev = [], "O"
    for tag in tags:
        label = tag[2:] if tag.startswith("I-") else tag
        if label == "O":
            out.append("O")
        else:
            out.append(f"I-{label}" if label == prev else f"B-{label}")
        prev = label
    return out


def bio_to_io(tags: Sequence[str]) -> tuple[list[str], int]:
    """BIO -> IO labels (the type alone, ``O`` outside), and the number of entities that
    merged with the entity before them (touching, same type: IO cannot separate them)."""
    out, merged, prev = [], 0, "O"
    for tag in tags:
        prefix, type_ = parse_tag(tag)
        label = type_ if prefix != "O" else "O"
        merged += prefix == "B" and label == prev != "O"
        out.append(label)
        prev = label
    return out, merged


# ------------------------------------------------------------------ conversion
def _check_tags(tags: Sequence[str], scheme: str) -> None:
    for i, tag in enumerate(tags):
        if not is_valid_tag(tag, scheme):
            raise NertagError(
                f"tag {tag!r} at position {i} is not a valid {scheme} tag"
            )


def entities_to_tags(entities: Iterable[tuple[str, int, int]], length: int,
                     scheme: str) -> list[str]:
    """Write entities ``(type, start, end_exclusive)`` as ``length`` tags."""
    scheme = check_scheme(scheme)
    tags = ["O"] * length
    prev_end, prev_type = -1, None
    for type_, start, end in sorted(entities, key=lambda e: (e[1], e[2])):
        if scheme == "bioes" and end - start == 1:
            tags[start] = f"S-{type_}"
            prev_end, prev_type = end, type_
            continue
        for k in range(start, end):
            tags[k] = f"I-{type_}"
        if scheme == "bio" or scheme == "bioes":
            tags[start] = f"B-{type_}"
        elif prev_end == start and prev_type == type_:  # iob1: touching same type
            tags[start] = f"B-{type_}"
        if scheme == "bioes":
            tags[end - 1] = f"E-{type_}"
        prev_end, prev_type = end, type_
    return tags


def convert(tags: Sequence[str], src: str, dst: str) -> list[str]:
    """Convert one sentence's tags from scheme ``src`` to scheme ``dst``.

    Raises :class:`NertagError` if a tag is not valid in ``src``.  Entities are
    read with the conlleval rules, so ill-formed input is repaired the way the
    scorer would read it (e.g. BIO ``O I-X`` becomes ``O B-X``).
    """
    src, dst = check_scheme(src), check_scheme(dst)
    _check_tags(tags, src)
    return entities_to_tags(get_entities(tags), len(tags), dst)


def iob1_to_bio(tags: Sequence[str]) -> list[str]:
    """IOB1 -> BIO: every entity starts with ``B-``."""
    return convert(tags, "iob1", "bio")


def bio_to_iob1(tags: Sequence[str]) -> list[str]:
    """BIO -> IOB1: ``B-`` only where an entity touches one of the same type."""
    return convert(tags, "bio", "iob1")


def bio_to_bioes(tags: Sequence[str]) -> list[str]:
    """BIO -> BIOES (single-token entities become ``S-``, last tokens ``E-``)."""
    return convert(tags, "bio", "bioes")


def bioes_to_bio(tags: Sequence[str]) -> list[str]:
    """BIOES -> BIO (``S-`` becomes ``B-``, ``E-`` becomes ``I-``)."""
    return convert(tags, "bioes", "bio")


def labels_for(types: Iterable[str], scheme: str) -> list[str]:
    """All labels of a scheme for some entity types: ``"O"`` first, then per
    type (sorted) the prefixes in scheme order, e.g. O, B-LOC, I-LOC, B-PER, I-PER."""
    prefixes = PREFIXES[check_scheme(scheme)]
    unique = sorted(set(types))
    if "" in unique:
        raise NertagError("entity types must not be empty")
    return ["O"] + [f"{p}-{t}" for t in unique for p in prefixes]


def transition_mask(
    labels: Sequence[str], scheme: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allowed label transitions for constrained (Viterbi) decoding.

    Returns ``(allowed, allowed_start, allowed_end)``: ``allowed[i, j]`` is True
    when ``labels[j]`` may follow ``labels[i]``; ``allowed_start[j]`` /
    ``allowed_end[j]`` say whether a sentence may start / end with ``labels[j]``.

    * bio: ``I-X`` only after ``B-X`` or ``I-X``, never first; anything may end.
    * bioes: after ``B-X``/``I-X`` only ``I-X`` or ``E-X``; after ``O``/``E-*``/
      ``S-*`` only ``O``, ``B-*``, ``S-*``; start with O/B/S, end with O/E/S.
    * iob1: ``B-X`` only after ``B-X`` or ``I-X``, never first; anything may end.
    """
    scheme = check_scheme(scheme)
    _check_tags(labels, scheme)
    parsed = [parse_tag(label) for label in labels]
    k = len(labels)
    allowed = np.zeros((k, k), dtype=bool)
    start = np.ones(k, dtype=bool)
    end = np.ones(k, dtype=bool)
    # the prefix that may only continue an entity of the same type
    inside = {"bio": "I", "iob1": "B"}.get(scheme)
    for j, (pj, tj) in enumerate(parsed):
        for i, (pi, ti) in enumerate(parsed):
            if scheme == "bioes":
                if pj in ("I", "E"):
                    ok = pi in ("B", "I") and ti == tj
                else:
                    ok = pi in ("O", "E", "S")
            elif pj == inside:
                ok = pi in ("B", "I") and ti == tj
            else:
                ok = True
            allowed[i, j] = ok
        if scheme == "bioes":
            start[j] = pj in ("O", "B", "S")
            end[j] = pj in ("O", "E", "S")
        else:
            start[j] = pj != inside
    return allowed, start, end
