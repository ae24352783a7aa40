"""Tests for nertag.inference.word_types: the word-id cache equals Featurizer.feature_ids,
and the per-type scorer equals window.scores."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_same_scores, untrained
from nertag.inference.word_types import CHUNK, WordCache, WordTypeScorer
from nertag.nn import window as M


@pytest.mark.parametrize("capacity_mb", [None, 0.05])
@pytest.mark.parametrize("overrides", [(), ("features.suffix_lengths=[2,3]",
                                            "features.prefix_lengths=[1]",
                                            "features.shape_dim=4", "model.activation=relu"),
                                       ("features.window=0",), ("train.dtype=float64",),
                                       ("features.char_dim=6", "features.char_filters=9",
                                        "features.char_max_len=8", "model.activation=relu")])
def test_type_scorer_equals_plain_forward(trained, dev_words, overrides, capacity_mb):
    """Per-type rows (all features at once), with the table big enough or so small that
    most types are computed per call, and across a cache that starts again."""
    model = trained if not overrides else untrained(*overrides)
    cache = WordCache(model.featurizer, max_words=400)
    budget = None if capacity_mb is None else int(capacity_mb * 2 ** 20)
    ts = WordTypeScorer(model.params, model.arch, cache, budget_bytes=budget)
    for part in (dev_words[:40], dev_words[40:120], dev_words, [["Zzyzx"], []]):
        words = [w for s in part for w in s]
        lengths = [len(s) for s in part]
        ref = M.scores(model.params, model.featurizer.featurize(part), model.arch)
        assert_same_scores(ref, ts.scores(cache.types(words), lengths))
    assert cache.generation > 0  # max_words was passed: the table followed


def test_type_scorer_segments_of_rows_past_the_table(trained, dev_words, monkeypatch):
    """Rows of types past the table, computed once per segment of chunks, whatever the
    segment and chunk sizes: the same scores as the plain forward."""
    from nertag.inference import word_types as type_scorer

    cache = WordCache(trained.featurizer)
    ts = WordTypeScorer(trained.params, trained.arch, cache, budget_bytes=20 * trained.arch.n *
                    trained.arch.hidden * 4)
    words = [w for s in dev_words for w in s]
    lengths = [len(s) for s in dev_words]
    ref = M.scores(trained.params, trained.featurizer.featurize(dev_words), trained.arch)
    for segment, chunk in ((1, 7), (3, 64), (16, 512)):
        monkeypatch.setattr(type_scorer, "SEGMENT_CHUNKS", segment)
        assert_same_scores(ref, ts.scores(cache.types(words), lengths, chunk=chunk))
    assert ts.capacity == 20 and cache.size > 20


@pytest.mark.parametrize("overflow_rows", [8192, 30])
def test_rows_past_the_table_are_the_tables_own_last_rows(trained, dev_words, monkeypatch,
                                                          overflow_rows):
    """The rows of types past the table go in its last OVERFLOW_ROWS rows (numbered
    capacity + r, summed without a fix-up), kept from segment to segment and started
    again when more come than fit, or computed for one segment only when a segment
    alone brings more: the scores of the plain forward, the same bits every call."""
    from nertag.inference import word_types as type_scorer

    monkeypatch.setattr(type_scorer, "OVERFLOW_ROWS", overflow_rows)
    monkeypatch.setattr(type_scorer, "SEGMENT_CHUNKS", 1)
    cache = WordCache(trained.featurizer)
    ts = WordTypeScorer(trained.params, trained.arch, cache,
                        budget_bytes=20 * trained.arch.n * trained.arch.hidden * 4)
    words = [w for s in dev_words for w in s]
    lengths = [len(s) for s in dev_words]
    ref = M.scores(trained.params, trained.featurizer.featurize(dev_words), trained.arch)
    first = ts.scores(cache.types(words), lengths, chunk=64)
    assert_same_scores(ref, first)
    assert ts.type_rows.shape[1] == ts.capacity + overflow_rows
    assert np.shares_memory(ts.over, ts.type_rows) and len(ts.over_slot) > 0
    again = ts.scores(cache.types(words), lengths, chunk=64)
    assert np.array_equal(first.view(np.uint32), again.view(np.uint32))


def test_word_cache_equals_featurizer_encode(trained, dev_words):
    feat = trained.featurizer
    cache = WordCache(feat, max_words=50)
    for chunk in (dev_words[:20], dev_words[20:60], dev_words[:5], [["ÉCOLE", "x" * 40, "1,000"]]):
        words = [w for s in chunk for w in s]
        assert (cache.feature_ids(words) == feat.feature_ids(words)).all()
        assert len(cache.index) <= max(50, len(set(words)))
    assert cache.feature_ids([]).shape == (0, len(feat.features))


def test_word_cache_with_characters_equals_featurizer_encode(trained_chars, dev_words):
    feat = trained_chars.featurizer
    cache = WordCache(feat, max_words=50)
    for chunk in (dev_words[:20], dev_words[20:60], [["ÉCOLE", "x" * 40, "Łódź", "北京"]]):
        words = [w for s in chunk for w in s]
        assert (cache.feature_ids(words) == feat.feature_ids(words)).all()
    assert cache.feature_ids([]).shape == (0, len(feat.features) + feat.chars.L)


def test_a_types_rows_with_characters_are_the_same_bits_in_any_batch(trained_chars, dev_words):
    """The character vector is a product per word: a type's rows do not depend on the
    other types computed with it."""
    cache = WordCache(trained_chars.featurizer)
    ts = WordTypeScorer(trained_chars.params, trained_chars.arch, cache)
    cache.types([w for s in dev_words for w in s])
    every = ts._rows(np.arange(cache.size))
    for sub in (np.array([5]), np.arange(40, 47), np.arange(3, cache.size, 7)):
        assert ts._rows(sub).tobytes() == every[:, sub].tobytes()


def _scores(model, sentences, *, budget=None, chunk=None, before=()):
    """Scores of ``sentences`` by a fresh scorer (after scoring ``before``), one array per
    sentence."""
    cache = WordCache(model.featurizer)
    ts = WordTypeScorer(model.params, model.arch, cache, budget_bytes=budget)
    for part in before:
        ts.scores(cache.types([w for s in part for w in s]), [len(s) for s in part])
    lengths = [len(s) for s in sentences]
    S = ts.scores(cache.types([w for s in sentences for w in s]), lengths, chunk=chunk or CHUNK)
    return np.split(S, np.cumsum(lengths)[:-1])


@pytest.mark.parametrize("overrides", [(), ("train.dtype=float64",)])
def test_a_sentences_scores_do_not_depend_on_its_batch(trained, dev_words, overrides):
    """The same bits for a sentence scored alone, in a batch, in another order, after other
    batches, with rows past the table: nertag tag --jobs, Dask and the Python API tag the
    same sentence in different batches and must write the same scores.  (A BLAS product
    rounds a row differently depending on its place in the matrix.)"""
    model = trained if not overrides else untrained(*overrides)
    sents = [s for s in dev_words if s][:80]
    small = 30 * model.arch.n * model.arch.hidden * model.params["W"].itemsize  # 30 types
    alone = [_scores(model, [s])[0] for s in sents]
    for got in (_scores(model, sents),
                _scores(model, sents[::-1])[::-1],
                _scores(model, sents, before=[dev_words[100:300], sents[40:]]),
                _scores(model, sents, budget=small),
                _scores(model, sents[::-1], budget=small, before=[dev_words[200:]])[::-1]):
        for a, b in zip(alone, got):
            assert a.tobytes() == b.tobytes()


def test_long_sentences_are_cut_the_same_way_in_any_batch(trained, dev_words):
    """A sentence longer than ``chunk`` tokens is multiplied in pieces cut from its start:
    the same bits alone and among others."""
    long = [w for s in dev_words[:12] for w in s]  # one sentence of ~150 tokens
    sents = [dev_words[20], long, dev_words[21], long[:9]]
    alone = [_scores(trained, [s], chunk=16)[0] for s in sents]
    for a, b in zip(alone, _scores(trained, sents, chunk=16)):
        assert a.tobytes() == b.tobytes()
    assert len(long) > 16


def test_pieces():
    """Sentences sorted by length (stably), long ones cut into pieces from their start,
    grouped into stacks of at most ``chunk`` rows."""
    import numpy as np

    from nertag.inference.word_types import pieces

    # sentences start at rows 0, 3, 3 (empty), 8, 11, 23, 24
    order, groups = pieces(np.array([3, 0, 5, 3, 12, 1, 5]), 4)
    assert order.tolist() == [7, 23, 28, 0, 1, 2, 8, 9, 10, 3, 4, 5, 6, 11, 12, 13, 14,
                              15, 16, 17, 18, 19, 20, 21, 22, 24, 25, 26, 27]
    assert groups == [(0, 3, 1), (3, 1, 3), (6, 1, 3), (9, 1, 4), (13, 1, 4), (17, 1, 4),
                      (21, 1, 4), (25, 1, 4)]
    order, groups = pieces(np.array([2, 2, 2, 2, 2]), 4)
    assert order.tolist() == list(range(10)) and groups == [(0, 2, 2), (4, 2, 2), (8, 1, 2)]
