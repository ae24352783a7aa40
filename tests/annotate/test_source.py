"""The sentences to annotate: their uncertainty score, the lower of the model's lowest
entity score and its margin (the lowest probability of a token it tags O)."""

from __future__ import annotations

import pytest

import nertag
from nertag.annotate.queue import Queue
from nertag.annotate.source import Item, o_margins, read_items

TEXT = ("Kim lives in Paris .\nThe weather was fine all week .\n"
        "Zorblax Quuxware shipped the Frobnicator 9000 today .\n")


@pytest.fixture(scope="module")
def tagger(small_model):
    return nertag.load(small_model)


def test_each_item_keeps_its_margin_the_lowest_o_probability(tagger):
    items = read_items(tagger, ["t.txt"], [TEXT], sentences="line")
    assert [i.text for i in items] == TEXT.splitlines()
    probs = tagger.token_probabilities([[t[0] for t in i.tokens] for i in items])
    for item, tokens in zip(items, probs):
        o = [p for tag, p in tokens if tag == "O"]
        assert item.margin == (min(o) if o else 1.0)
        assert 0.0 < item.margin <= 1.0
        assert item.score == min([s[3] for s in item.spans] + [item.margin])


def test_a_sentence_without_entities_is_ranked_by_its_margin():
    sure = Item("a", "t.txt", 0, "Kim ran .", [], [(0, 3, "PER", 0.7)], margin=0.95)
    unsure_o = Item("b", "t.txt", 10, "Zorblax shipped .", [], [], margin=0.4)
    certain = Item("c", "t.txt", 30, "It rained .", [], [], margin=0.99)
    assert [i.score for i in (sure, unsure_o, certain)] == [0.7, 0.4, 0.99]
    q = Queue([i.score for i in (sure, unsure_o, certain)], "uncertain", random_share=0.0)
    assert [q.take(c) for c in ("x", "y", "z")] == [1, 0, 2]


def test_margins_are_computed_in_chunks_with_the_same_result(tagger):
    docs = list(tagger.pipe([TEXT * 3], sentences="line"))
    sents = docs[0].sentences
    assert o_margins(tagger, sents, chunk=2) == pytest.approx(o_margins(tagger, sents))
    assert len(o_margins(tagger, sents, chunk=2)) == 9


def test_token_probabilities_give_the_taggers_tags(tagger):
    words = [["Kim", "lives", "in", "Paris", "."], ["Nothing", "here", "."]]
    out = tagger.token_probabilities(words)
    assert [[tag for tag, _ in s] for s in out] == [
        [t.tag for t in s.tokens] for s in tagger(" ".join(words[0]) + "\n"
                                                  + " ".join(words[1]), sentences="line"
                                                  ).sentences]
    assert all(0.0 < p <= 1.0 for s in out for _, p in s)
    assert tagger.token_probabilities([]) == []
