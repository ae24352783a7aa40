"""nertag.inference.shared_types: one word-type table for forked workers.  Scores are the
same bits as with a private table (also for types that do not fit: a full table, long
words); processes forked after share() compute each type once and use each other's."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

from nertag.inference import shared_types
from nertag.inference.word_types import WordCache, WordTypeScorer


def _private_scores(model, sentences):
    cache = WordCache(model.featurizer)
    ts = WordTypeScorer(model.params, model.arch, cache)
    words = [w for s in sentences for w in s]
    return ts.scores(cache.types(words), [len(s) for s in sentences])


def _shared_scores(model, sentences):
    words = [w for s in sentences for w in s]
    return model._types.scores(model._words.types(words), [len(s) for s in sentences])


@pytest.fixture(params=["words", "chars"])
def model(request):
    """The trained model (and one with a character CNN), with its own caches put back
    afterwards."""
    trained = request.getfixturevalue("trained" if request.param == "words" else "trained_chars")
    saved = trained._words, trained._types, trained.fast_inference
    trained.fast_inference = True
    yield trained
    trained._words, trained._types, trained.fast_inference = saved


@pytest.mark.parametrize("budget_types", [None, 40])
def test_shared_table_scores_are_the_private_ones(model, dev_words, budget_types):
    """With room for every type, and with a table of 40 slots (the rest private, and
    started again when more than 300 are known)."""
    budget = None if budget_types is None else \
        budget_types * model.arch.n * model.arch.hidden * model.params["W"].itemsize
    shared_types.share(model, budget)
    model._words.max_words = 300
    long = "x" * (shared_types.WORD_BYTES + 5)
    parts = [dev_words[:50], dev_words[50:200] + [[long, "Zürich", long]], dev_words]
    for part in parts:
        assert _shared_scores(model, part).tobytes() == _private_scores(model, part).tobytes()
    store = model._words.store
    if budget_types is not None:
        assert model._words.generation > 0  # the private types started again
        assert int(store.counter[0]) == store.capacity == 40
    assert long not in [store.words[k, :store.length[k]].tobytes().decode()
                        for k in range(int(store.counter[0]))]


def _child(model, sentences, conn):
    S = _shared_scores(model, sentences)
    conn.send((S.tobytes(), int(model._words.store.counter[0])))
    conn.close()


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_forked_processes_share_the_types(model, dev_words):
    """Two processes forked after share(): the second uses the types the first made."""
    shared_types.share(model)
    ctx = mp.get_context("fork")
    results = []
    for part in (dev_words[:300], dev_words[100:400]):  # one after the other
        a, b = ctx.Pipe()
        p = ctx.Process(target=_child, args=(model, part, b))
        p.start()
        results.append(a.recv())
        p.join()
        assert p.exitcode == 0
    distinct = len({w for s in dev_words[:400] for w in s})
    assert results[1][1] == distinct + 2  # each type took one slot, once
    assert results[0][0] == _private_scores(model, dev_words[:300]).tobytes()
    assert results[1][0] == _private_scores(model, dev_words[100:400]).tobytes()
    # this process adopts them all too, without computing any
    cache = model._words
    cache.types([w for s in dev_words[:400] for w in s])
    assert int(cache.store.counter[0]) == distinct + 2 and not cache.pending
