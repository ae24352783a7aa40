"""Tests for nertag.inference.tagging: text cut into chunks and batches, tagged in one
vectorised pass, gives every token and the sentence-by-sentence path's entities."""

from __future__ import annotations

import pytest

from conftest import TRICKY
from nertag.config import load_config
from nertag.inference import tagging
from nertag.text.tags import get_entities
from nertag.text.tokenize import split_sentences, tokenize
from nertag.training.loop import train


def test_tag_chunks_covers_every_token(model_dir):
    import io

    from nertag.modelio import load_model

    model = load_model(model_dir)
    sents = [s for b in tagging.batches(io.StringIO(TRICKY, newline=""))
             for c in tagging.tag_chunks(model, b) for s in c.sentences]
    assert [t.text for s in sents for t in s.tokens] == [t.text for t in tokenize(TRICKY)]
    for s in sents:
        for e in s.entities:
            assert TRICKY[e.start:e.end] == e.text


@pytest.mark.parametrize("scheme,decoder", [("bioes", "constrained"), ("bioes", "greedy"),
                                            ("bio", "greedy")])
def test_tag_chunks_like_the_sentence_by_sentence_path(tmp_path_factory, tricky, scheme,
                                                       decoder):
    from nertag.modelio import load_model

    out = tmp_path_factory.mktemp(scheme) / "model"
    train(load_config("default", ["model.hidden=30", "train.epochs=1",
                                  f"model.tag_scheme={scheme}"]), output=out)
    model = load_model(out)
    model.cfg.model.decoder = decoder
    model.fast_inference = True
    text = tricky.read_bytes().decode("utf-8") * 3
    chunks = [(0, text)]
    fast = tagging.tag_chunks(model, chunks)
    # the reference: sentence by sentence, BIO tags from predict, chunks from get_entities
    sents = [s for s in split_sentences(text, 0) if s]
    tags, conf = model.predict([[t.text for t in s] for s in sents])
    assert len(fast[0].sentences) == len(sents)
    for a, s, tg, cf in zip(fast[0].sentences, sents, tags, conf):
        assert a.tags == tg and a.tokens == s
        want = [(s[b].start, s[e - 1].end, label, text[s[b].start:s[e - 1].end],
                 float(cf[b:e].mean())) for label, b, e in get_entities(tg)]
        assert [(e.start, e.end, e.label, e.text) for e in a.entities] == [w[:4] for w in want]
        for ea, w in zip(a.entities, want):
            assert abs(ea.score - w[4]) < 1e-5


def test_a_long_line_of_raw_text_is_tagged(tmp_path, cli, small_model):
    """A line is a paragraph in raw text; longer than the tokenizer's limit, it is cut."""
    p = tmp_path / "long.txt"
    p.write_text("EU rejects German call . " * 45_000 + "\n")  # 1.1 M characters
    r = cli("tag", "-m", small_model, p, "-f", "conll")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.count("\n") > 200_000
