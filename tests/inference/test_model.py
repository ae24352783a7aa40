"""Tests for nertag.inference.model (NerModel): its fast scorer follows parameter changes,
windows given as X take the plain forward, and predict as the plain path does."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_same_scores, untrained
from nertag.inference import model as P
from nertag.nn import window as M


def test_windows_given_as_x_take_the_plain_forward(trained, dev_words):
    """With fast_inference, windows given as X (training's evaluation path) are scored by
    the plain forward: the same bits, and after an in-place parameter change too."""
    model = P.NerModel(trained.cfg, trained.featurizer, trained.arch,
                       {k: v.copy() for k, v in trained.params.items()}, trained.labels,
                       fast_inference=True)
    X = model.featurizer.featurize(dev_words)
    np.testing.assert_array_equal(model.scores(X), M.scores(model.params, X, model.arch))
    model.params["W"] *= 1.5           # in place, as an optimiser step does
    np.testing.assert_array_equal(model.scores(X), M.scores(model.params, X, model.arch))


def test_type_scorer_follows_parameter_changes(trained, dev_words):
    model = P.NerModel(trained.cfg, trained.featurizer, trained.arch,
                       {k: v.copy() for k, v in trained.params.items()}, trained.labels,
                       fast_inference=True)
    words = [w for s in dev_words for w in s]
    lengths = [len(s) for s in dev_words]
    X = model.featurizer.featurize(dev_words)
    assert_same_scores(M.scores(model.params, X, model.arch), model.scores_flat(words, lengths))
    ts = model.type_scorer()
    model.params["E_word"][2:9] -= 0.3
    assert_same_scores(M.scores(model.params, X, model.arch), model.scores_flat(words, lengths))
    assert model.type_scorer() is not ts
    ts = model.type_scorer()
    model.params["b"] += 0.25          # folded into the rows of window position 0
    assert_same_scores(M.scores(model.params, X, model.arch), model.scores_flat(words, lengths))
    assert model.type_scorer() is not ts
    ts = model.type_scorer()
    model.params["W"] = model.params["W"].copy()   # the same numbers in a new array
    assert model.type_scorer() is not ts


@pytest.mark.parametrize("decoder", ["greedy", "constrained", "viterbi"])
@pytest.mark.parametrize("overrides", [(), ("model.head=crf",), ("model.tag_scheme=bioes",),
                                       ("model.head=binary",), ("features.char_dim=5",)])
def test_predict_fast_equals_plain(trained, dev_words, decoder, overrides):
    model = trained if not overrides else untrained(*overrides)
    plain = P.NerModel(model.cfg, model.featurizer, model.arch, model.params, model.labels)
    quick = P.NerModel(model.cfg, model.featurizer, model.arch, model.params, model.labels,
                       fast_inference=True)
    words = dev_words + [[]] + [["Unseen", "Zzyzx", "words", "."]]
    tags_p, conf_p = plain.predict(words, decoder)
    tags_q, conf_q = quick.predict(words, decoder)
    assert tags_q == tags_p
    for a, b in zip(conf_p, conf_q):
        assert np.allclose(a, b, atol=1e-5)


def test_a_character_model_tags_raw_text_as_the_reference_path(trained_chars, dev_words,
                                                                tricky):
    """Tagging (word types, their rows with the character vectors, nertag tag's chunks)
    gives the tags the plain forward gives, on the dev set and on text with unseen
    words in other scripts."""
    from nertag.tagging.chunks import tag_chunks

    m = trained_chars
    plain = P.NerModel(m.cfg, m.featurizer, m.arch, m.params, m.labels)
    quick = P.NerModel(m.cfg, m.featurizer, m.arch, m.params, m.labels, fast_inference=True)
    words = dev_words + [["Unseen", "Zzyzx", "Łódź", "北京", "."]]
    (tags_p, conf_p), (tags_q, conf_q) = plain.predict(words), quick.predict(words)
    assert tags_q == tags_p and any(t != "O" for s in tags_p for t in s)
    for a, b in zip(conf_p, conf_q):
        assert np.allclose(a, b, atol=1e-5)
    text = tricky.read_text(encoding="utf-8")
    tagged = [s for c in tag_chunks(quick, [(0, text)]) for s in c.sentences]
    ref, _ = plain.predict([s.tokens.texts for s in tagged])
    assert [s.tags for s in tagged] == ref and len(tagged) > 3


# ------------------------------------------------------------------ two stages, one pass
def test_the_first_stage_reuses_the_second_stages_word_types(doc_model):
    """A format-2 model's first stage sees words as the second does: tagging reuses the
    second stage's word types and lower-case numbers, and gives the same scores as the
    first stage computing everything itself."""
    from nertag.inference.model import first_stage_codes
    from nertag.modelio import load_model
    from nertag.resources import sample_dev
    from nertag.text.conll import read_conll

    model = load_model(doc_model, read_only=True)
    model.fast_inference = True
    assert model.shares_words()
    sents = read_conll(sample_dev()).sentences[:60]
    words = [w for s in sents for w in s.words]
    lengths = np.array([len(s.words) for s in sents])
    shared = model.scores_flat(words, lengths)
    assert model.stage1.word_cache() is model.word_cache()  # one cache, one featurisation
    alone = load_model(doc_model, read_only=True)
    alone.fast_inference = True
    alone._shares = False  # the first stage on its own
    np.testing.assert_array_equal(alone.scores_flat(words, lengths), shared)
    assert alone.stage1.word_cache() is not alone.word_cache()
    dc = model.featurizer.doc_context
    np.testing.assert_array_equal(  # the codes as training computes them (no cache at all)
        model.doc_codes(words, lengths),
        first_stage_codes(load_model(doc_model).stage1, words, lengths, None, dc.types,
                          model.cfg.features.doc_max_sentences))


def test_lower_ids_number_the_lower_case_forms(small_model):
    from nertag.inference.word_types import WordCache
    from nertag.modelio import load_model

    cache = WordCache(load_model(small_model).featurizer)
    a = cache.lower_ids(cache.types(["Paris", "PARIS", "is", "Is"]))
    b = cache.lower_ids(cache.types(["paris", "Berlin", "IS", "Paris"]))
    assert a.tolist() == [a[0], a[0], a[2], a[2]] and a[0] != a[2]
    assert b.tolist() == [a[0], b[1], a[2], a[0]] and b[1] not in (a[0], a[2])
