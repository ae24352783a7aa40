"""The fast inference path gives the plain path's answers: TableScorer == window.scores (to
float rounding, same argmax), the word-id cache == Featurizer.feature_ids, the cheap
constrained Viterbi == crf.viterbi, and NerModel.predict with fast_inference == without."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.nn import crf

from nertag.inference import tables as fast
from nertag.inference import decode as D
from nertag.inference.word_types import WordCache, WordTypeScorer
from nertag.nn import layers as L
from nertag.nn import window as M
from nertag.inference import model as P
from nertag.text import tags as tagmod
from nertag.config import load_config
from nertag.text.conll import read_conll
from nertag.resources import sample_dev, sample_train
from nertag.training.loop import build_model, train

TOL = 2e-5  # scores are O(1..10); float32 sums in another order differ by ~1e-6


@pytest.fixture(scope="module")
def trained():
    model, _ = train(load_config("default", ["model.hidden=50", "train.epochs=2"]))
    return model


@pytest.fixture(scope="module")
def dev_words():
    return [s.words for s in read_conll(sample_dev()).sentences]


def untrained(*overrides):
    cfg = load_config("default", list(overrides))
    return build_model(cfg, read_conll(sample_train()))


def assert_same_scores(ref, out):
    assert out.shape == ref.shape and out.dtype == ref.dtype
    assert np.abs(out - ref).max() <= TOL * max(1.0, np.abs(ref).max())
    assert (out.argmax(1) == ref.argmax(1)).all()


@pytest.mark.parametrize("plan", ["auto", "tables", "light", "matmul",
                                  {"word": "table", "caps": "table"},
                                  {"word": "matmul", "caps": "joint"},
                                  {"word": "table", "caps": "matmul"}])
def test_fast_scorer_equals_plain_forward(trained, dev_words, plan):
    X = trained.featurizer.featurize(dev_words)
    ref = M.scores(trained.params, X, trained.arch)
    fs = fast.TableScorer(trained.params, trained.arch, plan=plan)
    assert_same_scores(ref, fs.scores(X))
    assert_same_scores(ref, fs.scores(X, chunk=7))  # a ragged last chunk


def test_table_is_the_product_of_embeddings_and_w_block(trained):
    """T[p] = E_f W_{p,f}ᵀ: one window's z is b + the sum of its rows."""
    fs = fast.TableScorer(trained.params, trained.arch, plan="tables")
    arch, p = trained.arch, trained.params
    X = trained.featurizer.featurize([["Peter", "Blackburn", "visited", "Paris", "."]])
    x, _ = L.embed_forward(X, M.tables(p, arch))
    z_ref = x @ p["W"].T + p["b"]
    z = p["b"].astype(np.float64).copy()
    for f, (name, _, _) in enumerate(arch.features):
        for q in range(arch.n):
            z = z + fs.tables[name][q][X[:, q, f]]
    assert np.abs(z - z_ref).max() < 1e-5


@pytest.mark.parametrize("overrides", [
    ("features.suffix_lengths=[2,3]", "features.prefix_lengths=[1]", "features.shape_dim=4"),
    ("features.window=0", "features.caps_dim=0"),
    ("features.window=4", "model.activation=relu", "train.dtype=float64"),
    ("model.head=crf", "model.activation=hardtanh"),
])
def test_other_architectures(dev_words, overrides):
    model = untrained(*overrides)
    X = model.featurizer.featurize(dev_words)
    ref = M.scores(model.params, X, model.arch)
    for plan in ("auto", "tables", "light"):
        assert_same_scores(ref, fast.TableScorer(model.params, model.arch, plan=plan).scores(X))


def test_partial_tables_for_the_most_frequent_words(trained, dev_words, monkeypatch):
    """A table that fits the budget only in part serves the first (most frequent) rows;
    rarer ids fall back to the product."""
    monkeypatch.setattr(fast, "MIN_TABLE_ROWS", 10)
    arch = trained.arch
    V = arch.features[0][1]
    budget = (V // 3) * arch.n * arch.hidden * 4
    fs = fast.TableScorer(trained.params, arch, plan="tables", budget_bytes=budget)
    assert fs.plan["word"] == "table" and fs.rows["word"] == V // 3
    assert fs.tables["word"].shape == (arch.n, V // 3, arch.hidden)
    X = trained.featurizer.featurize(dev_words)
    assert (X[:, :, 0] >= V // 3).any() and (X[:, :, 0] < V // 3).any()
    assert_same_scores(M.scores(trained.params, X, arch), fs.scores(X))


def test_memory_budget_and_empty_and_bad_ids(trained):
    fs = fast.TableScorer(trained.params, trained.arch, plan="tables", budget_bytes=0)
    assert fs.plan["word"] == "matmul" and "word" not in fs.tables and fs.plan["caps"] == "joint"
    K = trained.arch.n_labels
    assert fs.scores(np.zeros((0, trained.arch.n, 2), np.int32)).shape == (0, K)
    X = np.zeros((3, trained.arch.n, 2), np.int32)
    X[1, 2, 0] = trained.arch.features[0][1]  # one past the vocabulary
    with pytest.raises(IndexError):
        fast.TableScorer(trained.params, trained.arch, plan="tables").scores(X)
    with pytest.raises(ValueError):
        fast.TableScorer(trained.params, trained.arch, plan="fastest")


def test_model_cache_follows_in_place_parameter_changes(trained, dev_words):
    model = P.NerModel(trained.cfg, trained.featurizer, trained.arch,
                       {k: v.copy() for k, v in trained.params.items()}, trained.labels,
                       fast_inference=True)
    X = model.featurizer.featurize(dev_words)
    fs = model.fast_scorer(tables=True)
    assert fs.tables and model.fast_scorer() is fs  # cached
    assert_same_scores(M.scores(model.params, X, model.arch), model.scores(X))
    model.params["W"] *= 1.5           # in place, as an optimiser step does
    model.params["E_word"][3:7] += 0.2
    assert_same_scores(M.scores(model.params, X, model.arch), model.scores(X))
    assert model.fast_scorer() is not fs


def test_tables_only_once_enough_tokens_were_scored(trained, dev_words, monkeypatch):
    model = P.NerModel(trained.cfg, trained.featurizer, trained.arch, trained.params,
                       trained.labels, fast_inference=True)
    X = model.featurizer.featurize(dev_words)
    monkeypatch.setattr(P, "FAST_TABLE_TOKENS", 2 * len(X))
    model.scores(X)
    assert model._fast.plan_kind == "light" and "word" not in model._fast.tables
    model.scores(X)
    assert model._fast.plan_kind == "auto"


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


def test_param_snapshot_of_read_only_arrays_keeps_no_copy():
    """A loaded model's read-only arrays cannot change in place: no copy, no compare;
    a writable view, or an array made writable again, no longer counts as unchanged."""
    W = np.arange(12, dtype=np.float32).reshape(3, 4).copy()  # owns its data
    W.flags.writeable = False
    params = {"W": W}
    snap = fast.ParamSnapshot(params, ["W"])
    assert snap.copies == {} and snap.matches(params)
    W.flags.writeable = True
    assert not snap.matches(params)
    base = np.zeros((3, 4), np.float32)
    view = base[:]
    view.flags.writeable = False                      # read-only, but base can change it
    snap = fast.ParamSnapshot({"W": view}, ["W"])
    assert "W" in snap.copies
    base[0, 0] = 1
    assert not snap.matches({"W": view})


def test_a_model_loaded_read_only_refuses_changes_and_tags_the_same(tmp_path):
    from nertag.modelio import load_model
    from nertag.resources import default_model

    ro = load_model(default_model(), read_only=True)
    rw = load_model(default_model())
    assert all(not a.flags.writeable for a in ro.params.values())
    with pytest.raises(ValueError):
        ro.params["W"][0, 0] = 0
    ro.fast_inference = rw.fast_inference = True
    words = [["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]]
    (tags_ro, conf_ro), (tags_rw, conf_rw) = ro.predict(words), rw.predict(words)
    assert tags_ro == tags_rw and tags_ro[0][:3] == ["B-ORG", "O", "B-MISC"]
    for a, b in zip(conf_ro, conf_rw):
        np.testing.assert_array_equal(a, b)


def test_param_snapshot_is_exact():
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((4, 6)).astype(np.float32), "E": np.zeros((3, 2)),
              "n": np.arange(5)}
    snap = fast.ParamSnapshot(params, ["W", "E", "n"])
    assert snap.matches(params)
    params["E"][1, 1] = np.nan
    assert not snap.matches(params)
    snap = fast.ParamSnapshot(params, ["W", "E", "n"])
    assert snap.matches(params)                       # NaN equals its own bits
    params["E"][0, 0] = -0.0                          # == 0.0, but other bits
    assert not snap.matches(params)
    snap = fast.ParamSnapshot(params, ["W", "E", "n"])
    params["W"][3, 5] = np.nextafter(params["W"][3, 5], np.float32(9))  # one ulp
    assert not snap.matches(params)
    snap = fast.ParamSnapshot(params, ["W", "E", "n"])
    params["n"] = params["n"][::-1].copy()
    assert not snap.matches(params)
    assert not snap.matches({k: v for k, v in params.items() if k != "W"})


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


@pytest.mark.parametrize("decoder", ["greedy", "constrained", "viterbi"])
@pytest.mark.parametrize("overrides", [(), ("model.head=crf",), ("model.tag_scheme=bioes",),
                                       ("model.head=binary",)])
def test_predict_fast_equals_plain(trained, dev_words, decoder, overrides):
    model = trained if not overrides else untrained(*overrides)
    plain = P.NerModel(model.cfg, model.featurizer, model.arch, model.params, model.labels)
    quick = P.NerModel(model.cfg, model.featurizer, model.arch, model.params, model.labels,
                       fast_inference=True)
    quick.fast_scorer(tables=True)
    words = dev_words + [[]] + [["Unseen", "Zzyzx", "words", "."]]
    tags_p, conf_p = plain.predict(words, decoder)
    tags_q, conf_q = quick.predict(words, decoder)
    assert tags_q == tags_p
    for a, b in zip(conf_p, conf_q):
        assert np.allclose(a, b, atol=1e-5)


def test_word_cache_equals_featurizer_encode(trained, dev_words):
    feat = trained.featurizer
    cache = WordCache(feat, max_words=50)
    for chunk in (dev_words[:20], dev_words[20:60], dev_words[:5], [["ÉCOLE", "x" * 40, "1,000"]]):
        words = [w for s in chunk for w in s]
        assert (cache.feature_ids(words) == feat.feature_ids(words)).all()
        assert len(cache.index) <= max(50, len(set(words)))
    assert cache.feature_ids([]).shape == (0, len(feat.features))


@pytest.mark.parametrize("scheme,types", [("bio", ["LOC", "PER", "ORG"]), ("bioes", ["X", "Y"]),
                                          ("iob1", ["A"])])
def test_constrained_viterbi_equals_crf_viterbi(scheme, types):
    rng = np.random.default_rng(7)
    labels = tagmod.labels_for(types, scheme)
    allowed, first, last = tagmod.transition_mask(labels, scheme)
    neg = np.float32(-np.inf)

    def pen(m):
        return np.where(m, 0, neg).astype(np.float32)

    for trial in range(15):
        lengths = rng.integers(0, 25, rng.integers(1, 40))
        lengths[rng.random(len(lengths)) < 0.1] = 0
        logp = L.log_softmax((3 * rng.standard_normal((lengths.sum(), len(labels))))
                             .astype(np.float32))
        ref = crf.viterbi(logp, lengths, pen(allowed), pen(first), pen(last))
        out = D.constrained_viterbi(logp, lengths, allowed, first, last, chunk=1 + trial % 5)
        assert (out == ref).all()


@pytest.mark.parametrize("K", [5, 17])
def test_fast_viterbi_equals_crf_viterbi(K):
    """Learned transitions, forbidden ones (−∞), ties, empty sentences, small chunks."""
    rng = np.random.default_rng(K)
    for trial in range(20):
        lengths = rng.integers(0, 25, rng.integers(1, 40))
        lengths[rng.random(len(lengths)) < 0.1] = 0
        S = (3 * rng.standard_normal((lengths.sum(), K))).astype(np.float32)
        A = rng.standard_normal((K, K)).astype(np.float32)
        A[rng.random((K, K)) < 0.3] = -np.inf
        start, end = rng.standard_normal((2, K)).astype(np.float32)
        start[rng.random(K) < 0.2] = -np.inf
        if trial % 4 == 0:  # many ties
            S, A = np.round(S), np.where(np.isfinite(A), np.round(A), A)
        ref = crf.viterbi(S, lengths, A, start, end)
        assert (D.fast_viterbi(S, lengths, A, start, end, chunk=1 + trial % 6) == ref).all()


def test_fast_viterbi_tags_without_predecessors_and_nan():
    """A tag nothing may follow from (a column of −∞) is never reached after the first
    token; NaN scores give some path of valid tag ids instead of an error."""
    rng = np.random.default_rng(5)
    K, lengths = 6, np.array([4, 1, 7, 3])
    S = rng.standard_normal((lengths.sum(), K)).astype(np.float32)
    A = rng.standard_normal((K, K)).astype(np.float32)
    A[:, 2] = -np.inf
    start, end = np.zeros((2, K), np.float32)
    ref = crf.viterbi(S, lengths, A, start, end)
    assert (D.fast_viterbi(S, lengths, A, start, end) == ref).all()
    S[3, :] = np.nan
    out = D.fast_viterbi(S, lengths, A, start, end)
    assert out.shape == (lengths.sum(),) and ((out >= 0) & (out < K)).all()


def test_keep_better_is_a_first_best_argmax():
    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal((7, 50)))        # many ties
    best, arg = x[0].copy(), np.zeros(50, dtype=np.int8)
    for i in range(1, 7):
        D.keep_better(best, arg, x[i], i)
    assert (arg == x.argmax(axis=0)).all() and (best == x.max(axis=0)).all()
