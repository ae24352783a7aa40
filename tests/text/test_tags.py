"""Tests for nertag.text.tags: parsing, detection, conversions, transition masks, and
get_entities (the conlleval chunk rules) and entity_spans (their vectorised form)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nertag.errors import NertagError
from nertag.text.tags import get_entities
from nertag.text.tags import (
    bio_to_bioes,
    bio_to_iob1,
    bioes_to_bio,
    check_scheme,
    convert,
    detect_scheme,
    entities_to_tags,
    bio_to_io,
    io_to_bio,
    iob1_to_bio,
    is_io_label,
    is_valid_tag,
    labels_for,
    parse_tag,
    transition_mask,
)

try:
    from seqeval.metrics.sequence_labeling import get_entities as seqeval_entities
except ImportError:  # seqeval is a test extra: without it only the comparisons with it skip
    def seqeval_entities(tags):
        pytest.skip("seqeval is not installed")

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "tag, expected",
    [
        ("B-PER", ("B", "PER")),
        ("I-LOC", ("I", "LOC")),
        ("O", ("O", "")),
        ("E-WORK-OF-ART", ("E", "WORK-OF-ART")),
        ("S-X", ("S", "X")),
        ("B", ("B", "")),
    ],
)
def test_parse_tag(tag, expected):
    assert parse_tag(tag) == expected


@pytest.mark.parametrize(
    "tag, scheme, ok",
    [
        ("O", "bio", True),
        ("O", "bioes", True),
        ("B-PER", "bio", True),
        ("I-PER", "iob1", True),
        ("E-PER", "bio", False),
        ("S-PER", "iob1", False),
        ("E-PER", "bioes", True),
        ("S-GPE-X", "bioes", True),
        ("B-", "bio", False),
        ("B", "bio", False),
        ("PER", "bio", False),
        ("X-PER", "bioes", False),
        ("o", "bio", False),
    ],
)
def test_is_valid_tag(tag, scheme, ok):
    assert is_valid_tag(tag, scheme) is ok


def test_check_scheme_aliases_and_error():
    assert check_scheme("IOB2") == "bio"
    assert check_scheme("iobes") == "bioes"
    assert check_scheme("iob1") == "iob1"
    with pytest.raises(NertagError, match="unknown tag scheme 'bilu'"):
        check_scheme("bilu")


# -------------------------------------------------------------- detection


@pytest.mark.parametrize(
    "seqs, expected",
    [
        ([["B-PER", "I-PER", "O", "B-LOC"]], "bio"),
        ([["I-PER", "I-PER", "O", "I-LOC"]], "iob1"),
        ([["I-PER", "B-PER", "O"]], "iob1"),  # B only where same types touch
        ([["O", "O"], ["I-ORG"]], "iob1"),
        ([["I-LOC", "I-PER"]], "iob1"),  # type switch is an I- start
        ([["B-PER", "E-PER", "O"]], "bioes"),
        ([["S-PER"]], "bioes"),
        ([["O", "O"], []], "bio"),  # no entities: default
        ([], "bio"),
        # mostly BIO with one broken I- start (typical model output) -> bio
        ([["B-PER", "I-PER", "O", "B-LOC", "O", "I-LOC"], ["B-ORG"]], "bio"),
        # mostly IOB1 with one stray B- start -> iob1
        ([["I-PER", "I-PER", "O", "I-LOC", "O", "B-LOC"], ["I-ORG"]], "iob1"),
    ],
)
def test_detect_scheme(seqs, expected):
    assert detect_scheme(seqs) == expected


def test_detect_scheme_accepts_generator():
    assert detect_scheme(s for s in [["O", "I-X"]]) == "iob1"


# ------------------------------------------------------ exact conversions

IOB1_TO_BIO = [
    ([], []),
    (["O", "O"], ["O", "O"]),
    (["I-PER"], ["B-PER"]),  # I- at sentence start
    (["I-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"]),
    (["I-PER", "B-PER"], ["B-PER", "B-PER"]),  # adjacent same type
    (["I-PER", "I-PER", "B-PER", "I-PER"], ["B-PER", "I-PER", "B-PER", "I-PER"]),
    (["I-LOC", "I-PER"], ["B-LOC", "B-PER"]),  # type switch
    (["O", "I-LOC", "I-LOC", "I-PER", "O", "I-MISC"],
     ["O", "B-LOC", "I-LOC", "B-PER", "O", "B-MISC"]),
    (["B-LOC"], ["B-LOC"]),  # non-canonical IOB1 still reads as one entity
]


@pytest.mark.parametrize("iob1, bio", IOB1_TO_BIO)
def test_iob1_to_bio(iob1, bio):
    assert iob1_to_bio(iob1) == bio
    assert convert(iob1, "iob1", "bio") == bio


BIO_TO_IOB1 = [
    (["B-PER", "I-PER", "O"], ["I-PER", "I-PER", "O"]),
    (["B-PER", "B-PER"], ["I-PER", "B-PER"]),
    (["B-PER", "I-PER", "B-PER", "I-PER"], ["I-PER", "I-PER", "B-PER", "I-PER"]),
    (["B-LOC", "B-PER"], ["I-LOC", "I-PER"]),
    (["B-LOC", "O", "B-LOC"], ["I-LOC", "O", "I-LOC"]),
    (["I-LOC", "I-LOC"], ["I-LOC", "I-LOC"]),  # broken BIO read as one entity
]


@pytest.mark.parametrize("bio, iob1", BIO_TO_IOB1)
def test_bio_to_iob1(bio, iob1):
    assert bio_to_iob1(bio) == iob1
    assert convert(bio, "bio", "iob1") == iob1


BIO_TO_BIOES = [
    ([], []),
    (["O"], ["O"]),
    (["B-PER"], ["S-PER"]),
    (["B-PER", "I-PER"], ["B-PER", "E-PER"]),
    (["B-PER", "I-PER", "I-PER", "O"], ["B-PER", "I-PER", "E-PER", "O"]),
    (["B-PER", "B-PER"], ["S-PER", "S-PER"]),
    (["B-PER", "I-PER", "B-PER"], ["B-PER", "E-PER", "S-PER"]),
    (["B-LOC", "B-PER", "I-PER"], ["S-LOC", "B-PER", "E-PER"]),
    # repairs: an I- that starts an entity is a B-
    (["I-PER"], ["S-PER"]),
    (["O", "I-PER", "I-PER"], ["O", "B-PER", "E-PER"]),
    (["I-LOC", "I-PER"], ["S-LOC", "S-PER"]),
    (["B-LOC", "I-PER", "I-PER"], ["S-LOC", "B-PER", "E-PER"]),
]


@pytest.mark.parametrize("bio, bioes", BIO_TO_BIOES)
def test_bio_to_bioes(bio, bioes):
    assert bio_to_bioes(bio) == bioes
    assert convert(bio, "bio", "bioes") == bioes


BIOES_TO_BIO = [
    (["S-PER"], ["B-PER"]),
    (["B-PER", "E-PER"], ["B-PER", "I-PER"]),
    (["B-PER", "I-PER", "E-PER", "O"], ["B-PER", "I-PER", "I-PER", "O"]),
    (["S-PER", "S-PER"], ["B-PER", "B-PER"]),
    (["B-PER", "E-PER", "S-PER", "S-LOC"], ["B-PER", "I-PER", "B-PER", "B-LOC"]),
    # ill-formed BIOES, read with the conlleval rules
    (["B-PER", "O"], ["B-PER", "O"]),
    (["I-PER", "I-PER"], ["B-PER", "I-PER"]),
    (["E-PER", "E-PER"], ["B-PER", "B-PER"]),
    (["S-PER", "I-PER", "E-PER"], ["B-PER", "B-PER", "I-PER"]),
    (["B-PER", "E-LOC"], ["B-PER", "B-LOC"]),
]


@pytest.mark.parametrize("bioes, bio", BIOES_TO_BIO)
def test_bioes_to_bio(bioes, bio):
    assert bioes_to_bio(bioes) == bio
    assert convert(bioes, "bioes", "bio") == bio


def test_convert_other_pairs():
    iob1 = ["I-PER", "B-PER", "O", "I-LOC", "I-LOC", "I-ORG"]
    bioes = ["S-PER", "S-PER", "O", "B-LOC", "E-LOC", "S-ORG"]
    assert convert(iob1, "iob1", "bioes") == bioes
    assert convert(bioes, "bioes", "iob1") == iob1
    assert convert(iob1, "iob1", "iob1") == iob1
    assert convert(bioes, "IOBES", "bioes") == bioes


def test_convert_rejects_tags_of_another_scheme():
    with pytest.raises(NertagError, match=r"'S-PER' at position 1 is not a valid bio tag"):
        bio_to_bioes(["O", "S-PER"])
    with pytest.raises(NertagError, match="not a valid iob1 tag"):
        iob1_to_bio(["PER"])
    with pytest.raises(NertagError, match="unknown tag scheme"):
        convert(["O"], "bio", "ioe2")


def test_convert_returns_new_list():
    tags = ["B-PER", "O"]
    out = convert(tags, "bio", "bio")
    assert out == tags and out is not tags


# ---------------------------------------------- property-based round trips

TYPES = ["PER", "LOC", "ORG-X"]


@st.composite
def entity_sequences(draw):
    """A sentence length and non-overlapping entities (type, start, end)."""
    n = draw(st.integers(0, 14))
    entities, i = [], 0
    while i < n:
        if draw(st.booleans()):
            length = draw(st.integers(1, min(4, n - i)))
            entities.append((draw(st.sampled_from(TYPES)), i, i + length))
            i += length
        else:
            i += 1
    return n, entities


@settings(max_examples=200, deadline=None)
@given(entity_sequences())
def test_round_trips(data):
    n, entities = data
    bio, iob1, bioes = (entities_to_tags(entities, n, s) for s in ("bio", "iob1", "bioes"))
    for tags, scheme in ((bio, "bio"), (iob1, "iob1"), (bioes, "bioes")):
        assert all(is_valid_tag(t, scheme) for t in tags)
        assert get_entities(tags) == entities
    assert bioes_to_bio(bio_to_bioes(bio)) == bio
    assert bio_to_iob1(iob1_to_bio(iob1)) == iob1
    assert iob1_to_bio(iob1) == bio
    assert bio_to_iob1(bio) == iob1
    assert bio_to_bioes(bio) == bioes
    assert bioes_to_bio(bioes) == bio
    for src, tags in (("bio", bio), ("iob1", iob1), ("bioes", bioes)):
        for dst, expected in (("bio", bio), ("iob1", iob1), ("bioes", bioes)):
            assert convert(tags, src, dst) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(
    ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]),
    max_size=15))
def test_conversion_preserves_scored_entities(tags):
    """Any (even ill-formed) tags: conversion never changes what conlleval sees,
    and its output is valid in the target scheme and allowed by the masks."""
    for dst in ("iob1", "bio", "bioes"):
        out = convert(tags, "bioes", dst)
        assert get_entities(out) == get_entities(tags)
        assert all(is_valid_tag(t, dst) for t in out)
        if dst != "iob1":
            labels = labels_for(["PER", "LOC"], dst)
            allowed, start, end = transition_mask(labels, dst)
            idx = [labels.index(t) for t in out]
            if idx:
                assert start[idx[0]] and end[idx[-1]]
            assert all(allowed[a, b] for a, b in zip(idx, idx[1:]))


# ------------------------------------------------------- labels and masks


def test_labels_for():
    assert labels_for(["PER", "LOC", "PER"], "bio") == [
        "O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert labels_for(["PER", "LOC"], "bioes") == [
        "O", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B-PER", "I-PER", "E-PER", "S-PER"]
    assert labels_for([], "bioes") == ["O"]
    assert labels_for(iter(["MISC"]), "iob1") == ["O", "B-MISC", "I-MISC"]
    with pytest.raises(NertagError):
        labels_for(["PER", ""], "bio")


def _allowed_pairs(labels, allowed):
    return {(labels[i], labels[j]) for i, j in zip(*np.nonzero(allowed))}


def test_transition_mask_bio():
    labels = labels_for(["LOC", "PER"], "bio")  # O B-LOC I-LOC B-PER I-PER
    allowed, start, end = transition_mask(labels, "bio")
    assert allowed.shape == (5, 5) and allowed.dtype == bool
    assert start.dtype == bool and end.dtype == bool
    free = {"O", "B-LOC", "B-PER"}
    expected = {(a, b) for a in labels for b in free}
    expected |= {("B-LOC", "I-LOC"), ("I-LOC", "I-LOC"), ("B-PER", "I-PER"), ("I-PER", "I-PER")}
    assert _allowed_pairs(labels, allowed) == expected
    assert start.tolist() == [True, True, False, True, False]
    assert end.tolist() == [True] * 5
    assert not allowed[labels.index("O"), labels.index("I-PER")]
    assert not allowed[labels.index("B-LOC"), labels.index("I-PER")]


def test_transition_mask_bioes():
    labels = labels_for(["LOC", "PER"], "bioes")
    allowed, start, end = transition_mask(labels, "bioes")
    closed = ["O", "E-LOC", "S-LOC", "E-PER", "S-PER"]
    opening = ["O", "B-LOC", "S-LOC", "B-PER", "S-PER"]
    expected = {(a, b) for a in closed for b in opening}
    for t in ("LOC", "PER"):
        expected |= {(f"{a}-{t}", f"{b}-{t}") for a in "BI" for b in "IE"}
    assert _allowed_pairs(labels, allowed) == expected
    by_label = dict(zip(labels, zip(start.tolist(), end.tolist())))
    assert by_label == {
        "O": (True, True),
        "B-LOC": (True, False), "I-LOC": (False, False),
        "E-LOC": (False, True), "S-LOC": (True, True),
        "B-PER": (True, False), "I-PER": (False, False),
        "E-PER": (False, True), "S-PER": (True, True),
    }


def test_transition_mask_iob1_and_label_order():
    labels = ["I-X", "O", "B-X"]  # any order of labels works
    allowed, start, end = transition_mask(labels, "iob1")
    assert allowed.tolist() == [
        [True, True, True],    # I-X -> I-X, O, B-X
        [True, True, False],   # O -> B-X not allowed
        [True, True, True],    # B-X -> B-X allowed (third touching entity)
    ]
    assert start.tolist() == [True, True, False]
    assert end.tolist() == [True, True, True]


def test_transition_mask_rejects_foreign_labels():
    with pytest.raises(NertagError, match="'E-X'"):
        transition_mask(["O", "B-X", "E-X"], "bio")


# ------------------------------------------------- shared CoNLL-2003 corpus


def _read_conll(path: Path) -> list[list[str]]:
    """Last column = tag, blank line = sentence break, -DOCSTART- skipped."""
    sentences, current = [], []
    with path.open(encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields:
                if current:
                    sentences.append(current)
                current = []
            elif fields[0] != "-DOCSTART-":
                current.append(fields[-1])
    if current:
        sentences.append(current)
    return sentences


@pytest.mark.parametrize("iob1_name, bio_name", [
    ("eng.testa", "valid.txt"),
    ("eng.train", "train.txt"),
])
def test_shared_corpus_iob1_to_bio(iob1_name, bio_name):
    iob1_path = SHARED / "conll2003-iob1" / iob1_name
    bio_path = SHARED / "conll2003" / bio_name
    if not (iob1_path.is_file() and bio_path.is_file()):
        pytest.skip(f"shared corpus not available ({iob1_path}, {bio_path})")
    iob1, bio = _read_conll(iob1_path), _read_conll(bio_path)
    assert len(iob1) == len(bio) > 0
    assert detect_scheme(iob1) == "iob1"
    assert detect_scheme(bio) == "bio"
    for k, (src, expected) in enumerate(zip(iob1, bio)):
        assert iob1_to_bio(src) == expected, f"sentence {k}"
    # and back.  eng.train has two non-canonical "O B-MISC" (B- not after the
    # same type, where canonical IOB1 writes I-); everything else round-trips.
    odd = 0
    for k, (src, tags) in enumerate(zip(iob1, bio)):
        back = bio_to_iob1(tags)
        if back != src:
            odd += 1
            for i, (t, b) in enumerate(zip(src, back)):
                if t != b:
                    assert t.startswith("B-") and b == "I-" + t[2:], f"sentence {k}"
                    assert i == 0 or parse_tag(src[i - 1])[1] != t[2:], f"sentence {k}"
    assert odd <= 2


# ------------------------------------------- get_entities, against seqeval

TAG_POOL = ["O"] + [f"{p}-{t}" for t in ["PER", "LOC", "MISC-X"] for p in "BIES"]


@pytest.mark.parametrize(
    "tags, expected",
    [
        ([], []),
        (["O", "O"], []),
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
        (["I-PER", "I-PER"], [("PER", 0, 2)]),  # I- at start opens a chunk
        (["O", "I-PER", "O"], [("PER", 1, 2)]),  # I- after O opens a chunk
        (["I-LOC", "I-PER"], [("LOC", 0, 1), ("PER", 1, 2)]),  # type switch
        (["B-LOC", "I-PER"], [("LOC", 0, 1), ("PER", 1, 2)]),
        (["I-PER", "B-PER", "I-PER"], [("PER", 0, 1), ("PER", 1, 3)]),  # IOB1
        (["B-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["B-PER", "I-PER", "E-PER", "S-LOC"], [("PER", 0, 3), ("LOC", 3, 4)]),
        (["S-PER", "S-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["E-PER", "E-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["S-PER", "I-PER", "E-PER"], [("PER", 0, 1), ("PER", 1, 3)]),
        (["E-PER", "I-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["B-PER", "E-PER", "B-PER"], [("PER", 0, 2), ("PER", 2, 3)]),
        (["B-PER", "S-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["I-PER", "S-PER", "I-PER"], [("PER", 0, 1), ("PER", 1, 2), ("PER", 2, 3)]),
        (["B-PER", "O", "I-PER"], [("PER", 0, 1), ("PER", 2, 3)]),
        (["B-GPE-X", "I-GPE-X"], [("GPE-X", 0, 2)]),  # hyphen in the type
    ],
)
def test_get_entities_exact(tags, expected):
    assert get_entities(tags) == expected
    # seqeval reports inclusive ends
    assert seqeval_entities(tags) == [(t, s, e - 1) for t, s, e in expected]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TAG_POOL), max_size=20))
def test_get_entities_matches_seqeval_on_any_sequence(tags):
    assert get_entities(tags) == [(t, s, e + 1) for t, s, e in seqeval_entities(tags)]


# ------------------------------------------- entity_spans, the vectorised chunks
@pytest.mark.parametrize("scheme", ["bio", "bioes"])
def test_entity_spans_equal_get_entities_and_convert(scheme):
    """Random (also ill-formed) tag sequences: the vectorised chunks and BIO tags are
    get_entities' chunks and tags.convert's BIO tags, sentence by sentence."""
    from nertag.text import tags as tagmod

    rng = np.random.default_rng(3)
    labels = tagmod.labels_for(["LOC", "PER", "WORK-OF-ART"], scheme)
    lab = tagmod.label_codes(labels)
    assert lab.ok
    for _ in range(300):
        lengths = rng.integers(1, 12, rng.integers(1, 8))
        ids = rng.integers(0, len(labels), lengths.sum())
        starts = np.cumsum(lengths) - lengths
        begin, end, typ, bio = tagmod.entity_spans(ids, starts, lab)
        got = [(lab.entity_types[t], b, e) for b, e, t in zip(begin, end, typ)]
        want = [(name, s + o, e + o) for o, n in zip(starts, lengths)
                for name, s, e in get_entities([labels[i] for i in ids[o:o + n]])]
        assert got == want
        want_bio = [t for o, n in zip(starts, lengths)
                    for t in tagmod.convert([labels[i] for i in ids[o:o + n]], scheme, "bio")]
        assert lab.bio_tags[bio].tolist() == want_bio


# ---------------------------------------------------------------- IO labels
@pytest.mark.parametrize("tag,strict,loose", [
    ("PERSON", True, True), ("WORK_OF_ART", True, True), ("GPE-LOC", True, True),
    ("O", False, False), ("", False, False), ("B-PER", False, False), ("I-PER", False, True),
    ("b-org", False, False), ("Q-XX", False, False), ("B-", False, False), ("I-", False, False),
    ("person", False, True), ("X", False, True), ("mat.", False, True), ("1996", False, True),
])
def test_is_io_label(tag, strict, loose):
    assert is_io_label(tag) is strict
    assert is_io_label(tag, strict=False) is loose


def test_io_to_bio_and_back():
    io = ["PERSON", "PERSON", "O", "LOCATION", "ORG", "ORG", "O", "I-ORG"]
    bio = ["B-PERSON", "I-PERSON", "O", "B-LOCATION", "B-ORG", "I-ORG", "O", "B-ORG"]
    assert io_to_bio(io) == bio
    assert bio_to_io(bio) == (["PERSON", "PERSON", "O", "LOCATION", "ORG", "ORG", "O", "ORG"], 0)
    # two touching entities of one type cannot be told apart in IO: they merge (counted)
    touching = ["B-PER", "B-PER", "I-PER", "B-LOC", "B-PER"]
    assert bio_to_io(touching) == (["PER", "PER", "PER", "LOC", "PER"], 1)
    assert get_entities(io_to_bio(bio_to_io(touching)[0])) == [("PER", 0, 3), ("LOC", 3, 4),
                                                               ("PER", 4, 5)]


def test_an_o_entity_is_no_merge():
    # "B-O" (an entity typed O) is outside in IO: it is lost, not merged with anything
    assert bio_to_io(["B-O", "O", "B-O"]) == (["O", "O", "O"], 0)
    assert bio_to_io(["B-PER", "B-PER", "B-O", "B-O"]) == (["PER", "PER", "O", "O"], 1)


@pytest.mark.parametrize("label,problem", [
    ("PER", None), ("WORK_OF_ART", None), ("creative-work", None), ("Ort\u00e9", None),
    ("\u4eba", None), ("B", None), ("XY-", None), ("B--", "it looks like a tag (a letter then "
                                                        "'-'); give the entity type alone, "
                                                        "e.g. '-'"),
    ("", "an entity type cannot be empty; give one such as PER"),
    ("O", "O means outside any entity; give an entity type such as PER (or drop the span)"),
    ("B-PER", "it looks like a tag (a letter then '-'); give the entity type alone, e.g. 'PER'"),
    ("i-x", "it looks like a tag (a letter then '-'); give the entity type alone, e.g. 'x'"),
    ("S-", "it looks like a tag (a letter then '-'); give the entity type alone, e.g. 'PER'"),
    ("NEW PER", "an entity type cannot hold whitespace; join its words with _"),
    ("PER\n", "an entity type cannot hold whitespace; join its words with _"),
    ("P\u00a0ER", "an entity type cannot hold whitespace; join its words with _"),
    ("P\x00ER", "an entity type cannot hold the control character U+0000; remove it"),
    ("P\x85", "an entity type cannot hold whitespace; join its words with _"),
    ("P\ud800", "an entity type cannot hold the unpaired surrogate U+D800; remove it"),
    (3, "an entity type is a string, such as \"PER\""),
])
def test_label_problem(label, problem):
    from nertag.text.tags import label_problem

    assert label_problem(label) == problem
