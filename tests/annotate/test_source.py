"""The sentences to annotate: their uncertainty score, the lower of the model's lowest
entity score and its margin (the lowest probability of a token it tags O)."""

from __future__ import annotations

import pytest

import nertag
from nertag.annotate.queue import Queue
from nertag.api.tagger import Token
from nertag.annotate.source import Item, o_margin, read_items

TEXT = ("Kim lives in Paris .\nThe weather was fine all week .\n"
        "Zorblax Quuxware shipped the Frobnicator 9000 today .\n")


@pytest.fixture(scope="module")
def tagger(small_model):
    return nertag.load(small_model)


def test_each_item_keeps_its_margin_the_lowest_o_probability(tagger):
    items = read_items(tagger, ["t.txt"], [TEXT], sentences="line")
    assert [i.text for i in items] == TEXT.splitlines()
    tags, probs = tagger._model.predict([[t[0] for t in i.tokens] for i in items],
                                        docs=[len(items)])  # the model itself, one call
    for item, t, p in zip(items, tags, probs):
        o = [float(x) for g, x in zip(t, p) if g == "O"]
        assert item.margin == pytest.approx(min(o) if o else 1.0, abs=1e-6)
        assert 0.0 < item.margin <= 1.0
        assert item.score == min([s[3] for s in item.spans] + [item.margin])
    assert any(i.margin < 1.0 for i in items)


def test_a_sentence_without_entities_is_ranked_by_its_margin():
    sure = Item("a", "t.txt", 0, "Kim ran .", [], [(0, 3, "PER", 0.7)], margin=0.95)
    unsure_o = Item("b", "t.txt", 10, "Zorblax shipped .", [], [], margin=0.4)
    certain = Item("c", "t.txt", 30, "It rained .", [], [], margin=0.99)
    assert [i.score for i in (sure, unsure_o, certain)] == [0.7, 0.4, 0.99]
    q = Queue([i.score for i in (sure, unsure_o, certain)], "uncertain", random_share=0.0)
    assert [q.take(c) for c in ("x", "y", "z")] == [1, 0, 2]


def test_span_probabilities_are_the_models_raw_probabilities_of_its_tags(tagger):
    doc = tagger(TEXT, sentences="line")
    tags, probs = tagger._model.predict([[t.text for t in s.tokens] for s in doc.sentences],
                                        docs=[len(doc.sentences)])
    for span, t, p in zip(doc.sentences, tags, probs):
        assert [tok.tag for tok in span.tokens] == list(t)
        assert span.probabilities == pytest.approx([float(x) for x in p], abs=1e-6)
        assert all(isinstance(x, float) and 0.0 < x <= 1.0 for x in span.probabilities)
    assert o_margin(doc.sentences[1]) == min(doc.sentences[1].probabilities)  # all O


def test_a_margin_is_one_without_o_tokens():
    class Tagged:  # a sentence all of whose tokens are entity tokens
        tokens = [Token("Kim", 0, 3, "B-PER")]
        probabilities = [0.3]
    assert o_margin(Tagged()) == 1.0
