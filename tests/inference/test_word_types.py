"""Tests for nertag.inference.word_types: the word-id cache equals Featurizer.feature_ids,
and the per-type scorer equals window.scores."""

from __future__ import annotations

import pytest

from conftest import assert_same_scores, untrained
from nertag.inference.word_types import WordCache, WordTypeScorer
from nertag.nn import window as M


@pytest.mark.parametrize("capacity_mb", [None, 0.05])
@pytest.mark.parametrize("overrides", [(), ("features.suffix_lengths=[2,3]",
                                            "features.prefix_lengths=[1]",
                                            "features.shape_dim=4", "model.activation=relu"),
                                       ("features.window=0",), ("train.dtype=float64",)])
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


def test_word_cache_equals_featurizer_encode(trained, dev_words):
    feat = trained.featurizer
    cache = WordCache(feat, max_words=50)
    for chunk in (dev_words[:20], dev_words[20:60], dev_words[:5], [["ÉCOLE", "x" * 40, "1,000"]]):
        words = [w for s in chunk for w in s]
        assert (cache.feature_ids(words) == feat.feature_ids(words)).all()
        assert len(cache.index) <= max(50, len(set(words)))
    assert cache.feature_ids([]).shape == (0, len(feat.features))
