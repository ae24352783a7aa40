"""Tests for nertag.tagging.chunks: text cut into chunks and batches, tagged in one
vectorised pass, gives every token and the sentence-by-sentence path's entities."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TRICKY
from nertag.config import load_config
from nertag.errors import NertagError
from nertag.inference.calibration import calibrated
from nertag.tagging import chunks as tagging
from nertag.text.sentences import MODES
from nertag.text.tags import get_entities
from nertag.text.tokenize import split_sentences, tokenize
from nertag.training.loop import train


@pytest.mark.parametrize("mode", MODES)
def test_tag_chunks_covers_every_token(model_dir, mode):
    import io

    from nertag.modelio import load_model

    model = load_model(model_dir)
    sents = [s for b in tagging.batches(io.StringIO(TRICKY, newline=""))
             for c in tagging.tag_chunks(model, b, mode) for s in c.sentences]
    assert [s.tokens for s in sents] == split_sentences(TRICKY, 0, mode)
    assert "".join(t.text for s in sents for t in s.tokens) == \
        "".join(t.text for t in tokenize(TRICKY))
    for s in sents:
        for e in s.entities:
            assert TRICKY[e.start:e.end] == e.text


def test_tag_chunks_splits_at_line_breaks_by_default(model_dir):
    from nertag.modelio import load_model

    model = load_model(model_dir)
    text = "Obama visits Paris\nMerkel meets Macron\nApple hires Tim Cook\n"
    for mode, n in (("auto", 3), ("line", 3), ("blank", 1)):
        (chunk,) = tagging.tag_chunks(model, [(0, text)], mode)
        assert len(chunk.sentences) == n
        assert all("\n" not in e.text for s in chunk.sentences for e in s.entities) or n == 1
    assert len(tagging.tag_chunks(model, [(0, text)])[0].sentences) == 3  # the default
    with pytest.raises(NertagError, match="unknown sentence mode 'para'"):
        tagging.tag_chunks(model, [(0, text)], "para")


@pytest.mark.parametrize("scheme,decoder", [("bioes", "constrained"), ("bioes", "greedy"),
                                            ("bio", "greedy")])
def test_tag_chunks_like_the_sentence_by_sentence_path(tmp_path_factory, tricky, scheme,
                                                       decoder):
    from nertag.modelio import load_model

    out = tmp_path_factory.mktemp(scheme) / "model"
    train(load_config("default", ["model.hidden=30", "train.epochs=1",
                                  f"model.tag_scheme={scheme}"]), output=out)
    model = load_model(out)
    model.fast_inference = True
    text = tricky.read_bytes().decode("utf-8") * 3
    chunks = [(0, text)]
    for mode in MODES:
        fast = tagging.tag_chunks(model, chunks, mode, decoder=decoder)
        _like_sentence_by_sentence(model, text, fast, split_sentences(text, 0, mode), decoder)


def _like_sentence_by_sentence(model, text, fast, sents, decoder):
    """``fast`` (tag_chunks' result) as tagging ``sents`` one by one gives: BIO tags from
    predict, entities from get_entities."""
    tags, conf = model.predict([[t.text for t in s] for s in sents], decoder=decoder)
    assert len(fast[0].sentences) == len(sents)
    for a, s, tg, cf in zip(fast[0].sentences, sents, tags, conf):
        assert a.tags == tg and a.tokens == s
        want = [(s[b].start, s[e - 1].end, label, text[s[b].start:s[e - 1].end],
                 float(calibrated(model, cf[b:e].mean(dtype=np.float64))))
                for label, b, e in get_entities(tg)]  # (through the model's calibration)
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


def test_group_chunks_cuts_after_the_chunk_that_reaches_the_size():
    chunks = [(0, "a" * 3), (3, "b" * 4), (7, "c" * 2), (9, "d" * 6), (15, "e")]
    assert [[o for o, _ in g] for g in tagging.group_chunks(chunks, 7)] == [[0, 3], [7, 9], [15]]
    assert [[o for o, _ in g] for g in tagging.group_chunks(iter(chunks), 1)] == \
        [[0], [3], [7], [9], [15]]
    assert list(tagging.group_chunks([], 5)) == []
    # a size that depends on what is done: 3 characters, then 100
    assert [[o for o, _ in g] for g in tagging.group_chunks(chunks, lambda done: 3 if
                                                            done == 0 else 100)] == \
        [[0], [3, 7, 9, 15]]
