"""Pattern matches merged into tagged sentences (``apply_patterns``): the entities and BIO
tags of each mode, exactly, on a sentence whose model entities overlap the matches."""

from __future__ import annotations

import pytest

from nertag.tagging.chunks import apply_patterns, model_patterns, tag_chunks, use_patterns
from nertag.text.patterns import patterns_from
from nertag.text.tagged import Entity, TaggedChunk, TaggedSentence
from nertag.text.tokenize import token_arrays

TEXT = "Tim Cook of Apple Inc showed the iPhone 15 Pro in Paris"
PATTERNS = [{"label": "PRODUCT", "pattern": "iPhone 15 Pro", "id": "ip15"},
            {"label": "COMPANY", "pattern": "Apple Inc"},
            {"label": "CITY", "pattern": "Paris"},
            {"label": "NAME", "pattern": [{"text": "Cook"}, {"lower": "of"}]}]


def tagged(offset: int = 100) -> TaggedChunk:
    """The text as the model tagged it: Tim Cook (PER), Apple (ORG), iPhone (MISC)."""
    words, starts, ends = token_arrays(TEXT, offset)
    tags = ["B-PER", "I-PER", "O", "B-ORG", "O", "O", "O", "B-MISC", "O", "O", "O", "O"]
    ents = [Entity(100, 108, "PER", "Tim Cook", 0.9), Entity(112, 117, "ORG", "Apple", 0.8),
            Entity(133, 139, "MISC", "iPhone", 0.7)]
    return TaggedChunk(offset, TEXT, [TaggedSentence(int(starts[0]), int(ends[-1]),
                                                     list(zip(words, starts.tolist(),
                                                              ends.tolist())), tags, ents)])


def merged(mode: str):
    chunk = tagged()
    apply_patterns(patterns_from(PATTERNS, mode), [chunk])
    s = chunk.sentences[0]
    return [(e.text, e.label, e.source, e.score, e.pattern_id) for e in s.entities], s.tags


def test_override_patterns_win():
    ents, tags = merged("override")
    # "Cook of" overlaps Tim Cook: the model's PER goes; the pattern is kept
    assert ents == [("Cook of", "NAME", "pattern", 1.0, None),
                    ("Apple Inc", "COMPANY", "pattern", 1.0, None),
                    ("iPhone 15 Pro", "PRODUCT", "pattern", 1.0, "ip15"),
                    ("Paris", "CITY", "pattern", 1.0, None)]
    assert tags == ["O", "B-NAME", "I-NAME", "B-COMPANY", "I-COMPANY", "O", "O",
                    "B-PRODUCT", "I-PRODUCT", "I-PRODUCT", "O", "B-CITY"]


def test_fill_the_model_wins():
    ents, tags = merged("fill")
    assert ents == [("Tim Cook", "PER", "model", 0.9, None), ("Apple", "ORG", "model", 0.8, None),
                    ("iPhone", "MISC", "model", 0.7, None),
                    ("Paris", "CITY", "pattern", 1.0, None)]
    assert tags == ["B-PER", "I-PER", "O", "B-ORG", "O", "O", "O", "B-MISC", "O", "O", "O",
                    "B-CITY"]


def test_patterns_mode_keeps_only_the_matches():
    ents, tags = merged("patterns")
    assert [e[:3] for e in ents] == [("Cook of", "NAME", "pattern"),
                                     ("Apple Inc", "COMPANY", "pattern"),
                                     ("iPhone 15 Pro", "PRODUCT", "pattern"),
                                     ("Paris", "CITY", "pattern")]
    assert tags[0] == "O" and tags[1:3] == ["B-NAME", "I-NAME"]


def test_offsets_are_the_inputs_and_sentences_without_matches_keep_their_tags():
    chunk = tagged()
    other = TaggedSentence(200, 205, [("Hello", 200, 205)], ["B-PER"],
                           [Entity(200, 205, "PER", "Hello", 0.5)])
    chunk.sentences.append(other)
    apply_patterns(patterns_from(PATTERNS), [chunk])
    paris = chunk.sentences[0].entities[-1]
    assert (paris.start, paris.end) == (100 + TEXT.index("Paris"), 100 + len(TEXT))
    assert other.tags == ["B-PER"] and other.entities[0].source == "model"


@pytest.fixture(scope="module")
def model(small_model):
    from nertag.modelio import load_model

    m = load_model(small_model, read_only=True)
    m.fast_inference = True
    return m


def test_tag_chunks_merges_and_patterns_mode_ignores_the_model(model):
    text = "Apple Inc showed the iPhone 15 Pro in Paris .\n\nNothing here .\n"
    assert model_patterns(model) is None
    plain = tag_chunks(model, [(0, text)])
    try:
        use_patterns(model, patterns_from(PATTERNS, "patterns"))
        only = tag_chunks(model, [(0, text)])
        use_patterns(model, patterns_from(PATTERNS, "override"))
        over = tag_chunks(model, [(0, text)])
    finally:
        use_patterns(model, None)
    assert [(e.text, e.source) for s in only[0].sentences for e in s.entities] == [
        ("Apple Inc", "pattern"), ("iPhone 15 Pro", "pattern"), ("Paris", "pattern")]
    assert [t for s in only[0].sentences[1:] for t in s.tags] == ["O", "O", "O"]
    first = over[0].sentences[0]
    assert {e.text for e in first.entities if e.source == "pattern"} == {
        "Apple Inc", "iPhone 15 Pro", "Paris"}
    # the sentence without a match is the model's, untouched but for the source
    assert over[0].sentences[1].tags == plain[0].sentences[1].tags
    assert all(e.source == "model" for e in over[0].sentences[1].entities)
    assert all(e.source is None for s in plain[0].sentences for e in s.entities)


@pytest.mark.parametrize("mode", ["override", "fill", "patterns"])
def test_raw_text_merge_equals_the_merge_of_tagged_chunks(model, mode):
    """tag_chunks merges before it makes its sentences; apply_patterns merges into made
    ones (the --tokenized path): the same entities, sources, ids, scores and tags."""
    text = ("Tim Cook of Apple Inc showed the iPhone 15 Pro in Paris .\n\nNothing here .\n\n"
            "Apple Inc and Paris and London .\n\nCook of Apple , Paris .\n")
    pats = patterns_from(PATTERNS + [{"label": "TOWN", "pattern": "London", "id": "ldn"}], mode)
    try:
        use_patterns(model, pats)
        merged_raw = tag_chunks(model, [(7, text)])
    finally:
        use_patterns(model, None)
    after = tag_chunks(model, [(7, text)])
    apply_patterns(pats, after)

    def view(chunks):
        return [(s.tags, [(e.start, e.end, e.label, e.text, e.score, e.source, e.pattern_id)
                          for e in s.entities]) for c in chunks for s in c.sentences]

    got, want = view(merged_raw), view(after)
    assert got == want
    assert any(e[5] == "pattern" for _, es in got for e in es)
    london = [(tags, e) for tags, es in got for e in es if e[3] == "London"]
    if mode != "fill":  # (fill: the model's own entity there, if it has one, wins)
        assert london[0][1][2:] == ("TOWN", "London", 1.0, "pattern", "ldn")
        assert "B-TOWN" in london[0][0]
