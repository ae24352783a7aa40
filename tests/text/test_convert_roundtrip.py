"""The README's promise: every file ``nertag convert`` writes reads back to the same
entities -- for every pair of formats, whatever line ends (LF, CRLF, CR alone) and
byte-order mark the input has, for sentences of random (also non-ASCII) tokens with
random non-overlapping labelled spans.

One exception, by the nature of the format: IO (``word<TAB>LABEL``) marks no entity
start, so two entities of one type that touch cannot be told apart.  The guarantee
there is exact too: whenever IO is the input or the output, each run of touching
entities of one type reads back as one entity covering the run; every other entity
reads back unchanged, and the conversion to IO reports how many entities merged.
"""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nertag.text.conll import Corpus, Sentence
from nertag.text.corpus_writers import write_corpus
from nertag.text.datasets import FORMATS, convert, read_corpus
from nertag.text.tags import entities_to_tags, get_entities, is_io_label, label_problem

Entities = list[tuple[str, int, int]]


@pytest.fixture(autouse=True)
def _no_fsync(monkeypatch):
    """convert writes atomically, fsyncing file and directory (~10 ms each on a disk):
    the content is what is tested here (the mechanics: tests/test_atomic.py)."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)

# words: any characters but whitespace, controls, surrogates and the byte-order mark (a
# word a CoNLL file can hold); a few chosen to trip format detection and tag parsing
_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
                       blacklist_characters="\ufeff")
_WORD = st.one_of(
    st.text(_CHARS, min_size=1, max_size=5),
    st.sampled_from(["Paris", ".", "(", ")", "{a", "{}", "[1]", '{"x":', "O", "B-PER", "I-X",
                     "Corp.", "U.S.", "'s", "\u00e9t\u00e9", "\u4eba", "\U0001f600", "-", "--"]),
).filter(lambda w: w.split() == [w] and w != "-DOCSTART-")
_LABEL = st.one_of(
    st.sampled_from(["PER", "LOC", "ORG", "MISC", "WORK_OF_ART", "person", "creative-work",
                     "Ort", "\u4eba\u540d", "B", "X-Y"]),
    st.text(_CHARS, min_size=1, max_size=4),
).filter(lambda label: label_problem(label) is None)


@st.composite
def _sentence(draw) -> tuple[list[str], Entities]:
    words = draw(st.lists(_WORD, min_size=1, max_size=7))
    labels = draw(st.lists(_LABEL, min_size=1, max_size=3))  # few types: some touch
    ents, i = [], 0
    while i < len(words):
        if draw(st.booleans()):
            end = draw(st.integers(i + 1, len(words)))
            ents.append((draw(st.sampled_from(labels)), i, end))
            i = end
        else:
            i += 1
    return words, ents


_CORPUS = st.lists(_sentence(), min_size=1, max_size=4)
_ENDING = st.tuples(st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())  # line end, BOM


def merged(ents: Entities) -> tuple[Entities, int]:
    """What IO keeps of some entities: each run of touching entities of one type joined
    into one, and how many joined the one before them."""
    out: Entities = []
    n = 0
    for t, a, b in ents:
        if out and out[-1][0] == t and out[-1][2] == a:
            out[-1] = (t, out[-1][1], b)
            n += 1
        else:
            out.append((t, a, b))
    return out, n


def write_input(path, sentences, fmt: str, eol: str, bom: bool) -> list[str]:
    """Write the generated sentences as a file in ``fmt`` with the given line ends."""
    corpus = Corpus("generated", [Sentence(w, entities_to_tags(e, len(w), "bio"), k + 1)
                                  for k, (w, e) in enumerate(sentences)], "bio")
    f = io.StringIO()
    notes = write_corpus(corpus, f, fmt)
    # every LF the writers put out ends a line (JSON escapes those in strings)
    path.write_bytes(b"\xef\xbb\xbf" * bom + f.getvalue().replace("\n", eol).encode("utf-8"))
    return notes


def read_back(path, fmt: str) -> list[tuple[list[str], Entities]]:
    return [(s.words, get_entities(s.tags)) for s in read_corpus(path, fmt).sentences]


def check_round_trip(tmp_path, sentences, src: str, dst: str, eol: str, bom: bool) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_input(a, sentences, src, eol, bom)
    io_labels = "io" in (src, dst)
    strict = all(is_io_label(t) for _, ents in sentences for t, _, _ in ents)
    done = convert(a, b, "io" if src == "io" and not strict else "auto", dst)
    expected = [(w, merged(e)[0] if io_labels else e) for w, e in sentences]
    assert read_back(b, dst) == expected
    if dst != "io" or strict:  # IO labels in capitals are detected; others need the name
        assert read_back(b, "auto") == expected
    n = sum(merged(e)[1] for _, e in sentences)
    if dst == "io" and src != "io" and n:
        assert done.notes == [f"{n} entit{'y' if n == 1 else 'ies'} touching an entity of "
                              f"the same type merged with it: IO cannot separate them"]
    else:
        assert done.notes == []
    assert done.sentences == len(sentences)


@pytest.mark.parametrize("dst", FORMATS)
@pytest.mark.parametrize("src", FORMATS)
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sentences=_CORPUS, ending=_ENDING)
def test_convert_then_read_gives_the_same_entities(tmp_path, src, dst, sentences, ending):
    check_round_trip(tmp_path, sentences, src, dst, *ending)


FIXED = [(["Laura", "Okafor", "(", "Acme", ")", "sa\u00efd", "."],
          [("PER", 0, 2), ("ORG", 3, 4)]),
         (["{Paris}", "Berlin", "Rome", "\u4eba"], [("LOC", 0, 1), ("LOC", 1, 3), ("MISC", 3, 4)])]


@pytest.mark.parametrize("eol,bom", [("\n", False), ("\r\n", False), ("\r", False),
                                     ("\n", True), ("\r\n", True), ("\r", True)])
@pytest.mark.parametrize("src", FORMATS)
def test_every_input_format_with_every_line_end(tmp_path, src, eol, bom):
    """Each input format with each kind of line end, with and without a BOM, to CoNLL
    and to IO: the exact entities (IO: Berlin Rome joins Paris, as the module says)."""
    check_round_trip(tmp_path, FIXED, src, "conll", eol, bom)
    check_round_trip(tmp_path, FIXED, src, "io", eol, bom)
    back = read_back(tmp_path / "b", "io")
    assert back[1] == (FIXED[1][0], [("LOC", 0, 3), ("MISC", 3, 4)])


def test_what_io_keeps():
    """Touching entities of one type join; of two types, or apart, they stay as they are."""
    assert merged([("LOC", 0, 1), ("LOC", 1, 3), ("PER", 3, 4), ("PER", 5, 6), ("PER", 6, 7)]) \
        == ([("LOC", 0, 3), ("PER", 3, 4), ("PER", 5, 7)], 2)
