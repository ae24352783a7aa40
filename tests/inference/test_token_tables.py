"""The tagging fast path with name lists (token features): the per-type rows plus one
row per distinct window of match codes equal the plain forward on windows, the same
bits in any batch, and ``nertag tag --jobs`` writes what one process writes."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TRICKY, assert_same_scores
from nertag.inference import token_tables as TT
from nertag.inference.token_tables import TokenFeatureRows, token_feature_columns
from nertag.inference.word_types import WordCache, WordTypeScorer
from nertag.modelio import load_model
from nertag.text.gazetteer import Gazetteer
from nertag.nn import window as M


@pytest.fixture(scope="module")
def gaz(gazetteer_model):
    return load_model(gazetteer_model, read_only=True)


def flat(sents):
    return [w for s in sents for w in s], [len(s) for s in sents]


def test_the_arch_marks_the_token_features(gaz):
    a = gaz.arch
    assert a.token_features == 7 and a.n_word_features == 2  # word, caps
    assert [n for n, _, _ in a.features[2:]] == gaz.featurizer.gazetteer.names
    assert token_feature_columns(a) == (50 + 5, 50 + 5 + 7 * 4)


def test_rows_are_the_sum_of_the_tables_over_the_window(gaz):
    """R[index[t]] = Σ_q Σ_c E_c[id_c(t+q)] W_{q,c}ᵀ, written out for every token."""
    words, lengths = flat([["Peter", "Smith", "flew", "to", "New", "York"], ["Paris"]])
    codes = gaz.featurizer.token_codes(words, lengths)
    assert codes.any()
    rows = TokenFeatureRows(gaz.params, gaz.arch)
    R, index = rows.rows(codes, lengths)
    X = gaz.featurizer.featurize([words[:6], words[6:]])
    a, b = token_feature_columns(gaz.arch)
    n, H, D = gaz.arch.n, gaz.arch.hidden, gaz.arch.D
    Wr = gaz.params["W"].astype(np.float64).reshape(H, n, D)
    F = gaz.arch.n_word_features
    for t in range(len(words)):
        want = np.zeros(H)
        for q in range(n):
            e = np.concatenate([gaz.params[f"E_{name}"][X[t, q, F + c]]
                                for c, (name, _, _) in enumerate(gaz.arch.features[F:])])
            want += Wr[:, q, a:b] @ e
        np.testing.assert_allclose(R[index[t]], want, rtol=1e-5, atol=1e-5)
    assert len(R) == len(set(map(bytes, X[:, :, F:F + 7].copy())))  # one row per window


def test_a_windows_row_is_the_same_bits_in_any_block_and_batch(gaz, dev_words, monkeypatch):
    """The rows are summed a block of windows at a time: the same bits whatever the block
    size, and a window's row is the same bits whatever else the batch holds."""
    words, lengths = flat(dev_words)
    codes = gaz.featurizer.token_codes(words, lengths)
    rows = TokenFeatureRows(gaz.params, gaz.arch)
    R, index = rows.rows(codes, lengths)
    assert len(R) > 3
    for block in (1, 3, 10 ** 6):
        monkeypatch.setattr(TT, "_ROW_BLOCK", block)
        R2, index2 = rows.rows(codes, lengths)
        assert np.array_equal(R2.view(np.uint32), R.view(np.uint32))
        assert np.array_equal(index2, index)
    k = lengths[0]  # the first sentence alone
    R1, index1 = rows.rows(codes[:k], lengths[:1])
    assert np.array_equal(R1[index1].view(np.uint32), R[index[:k]].view(np.uint32))


@pytest.mark.parametrize("budget_mb", [None, 0.05])
def test_fast_path_equals_the_plain_forward(gaz, dev_words, budget_mb):
    cache = WordCache(gaz.featurizer, max_words=400)
    budget = None if budget_mb is None else int(budget_mb * 2 ** 20)
    ts = WordTypeScorer(gaz.params, gaz.arch, cache, budget_bytes=budget)
    for part in (dev_words[:40], dev_words, [["Zzyzx"], [], ["New", "York"]]):
        words, lengths = flat(part)
        ref = M.scores(gaz.params, gaz.featurizer.featurize(part), gaz.arch)
        codes = gaz.featurizer.token_codes(words, lengths)
        assert_same_scores(ref, ts.scores(cache.types(words), lengths, codes))
    with pytest.raises(ValueError, match="7 token features"):
        ts.scores(cache.types(["x"]), [1])


def test_model_fast_inference_equals_the_reference(gazetteer_model, dev_words):
    slow = load_model(gazetteer_model, read_only=True)
    fast = load_model(gazetteer_model, read_only=True)
    fast.fast_inference = True
    words, lengths = flat(dev_words)
    ref = M.scores(slow.params, slow.featurizer.featurize(dev_words), slow.arch)
    assert_same_scores(ref, fast.scores_flat(words, lengths))
    assert_same_scores(ref, slow.scores_flat(words, lengths))
    X = fast.windows(dev_words)  # the word cache's windows are the featurizer's
    np.testing.assert_array_equal(X, slow.featurizer.featurize(dev_words))
    assert fast.predict(dev_words)[0] == slow.predict(dev_words)[0]


def test_a_sentences_scores_do_not_depend_on_its_batch(gaz, dev_words):
    sents = [s for s in dev_words if s][:60] + [["Peter", "Smith", "flew", "to", "New", "York"]]

    def scores(batch, before=()):
        cache = WordCache(gaz.featurizer)
        ts = WordTypeScorer(gaz.params, gaz.arch, cache)
        for part in before:
            w, ln = flat(part)
            ts.scores(cache.types(w), ln, gaz.featurizer.token_codes(w, ln))
        w, ln = flat(batch)
        S = ts.scores(cache.types(w), ln, gaz.featurizer.token_codes(w, ln))
        return np.split(S, np.cumsum(ln)[:-1])

    alone = [scores([s])[0] for s in sents]
    for got in (scores(sents), scores(sents[::-1])[::-1],
                scores(sents, before=[dev_words[100:300]])):
        for a, b in zip(alone, got):
            assert a.tobytes() == b.tobytes()


def test_jobs_writes_what_one_process_writes(gazetteer_model, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from nertag.cli import app
    from nertag.tagging import chunks as tagging, parallel

    def run(*args):
        r = CliRunner().invoke(app, [str(a) for a in args])
        assert r.exit_code == 0, (r.output, r.exception)

    monkeypatch.setattr(tagging, "CHUNK_CHARS", 700)
    monkeypatch.setattr(tagging, "MAX_CHUNK_CHARS", 3000)
    monkeypatch.setattr(tagging, "BATCH_CHARS", 4000)
    monkeypatch.setattr(parallel, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "RANGE_MIN_BYTES", 1500)
    src = tmp_path / "in.txt"
    paras = [p for p in TRICKY.replace("\r\n\r\n", "\n\n").split("\n\n") if p.strip()]
    paras.append("Peter Smith flew from Paris to New York and met Acme Corp in Rio de Janeiro.")
    src.write_bytes("\n\n".join(paras[i % len(paras)] for i in range(300)).encode("utf-8"))
    o1, o2 = tmp_path / "o1", tmp_path / "o2"
    run("tag", "-m", gazetteer_model, src, "-f", "jsonl", "-o", o1)
    run("tag", "-m", gazetteer_model, src, "-f", "jsonl", "-o", o2, "--jobs", "2")
    assert o1.read_bytes() == o2.read_bytes() and len(o1.read_bytes()) > 10_000


@pytest.mark.parametrize("C", [1, 5, 8, 9, 11, 16, 17, 26])
def test_code_keys_is_np_unique_of_the_base5_keys(C, monkeypatch):
    """code_keys numbers the tokens' codes as np.unique of Σ code_c 5^c would (ascending
    keys, the same inverse): through tables, through the pair table of two halves, and
    through the sort when the pair table would be too big."""
    rng = np.random.default_rng(C)
    codes = np.where(rng.random((3000, C)) < 0.9, 0, rng.integers(0, 5, (3000, C))).astype(np.int8)
    codes[:5] = 4  # the largest key
    ref_keys, ref_inv = np.unique(codes.astype(np.int64) @ 5 ** np.arange(C, dtype=np.int64),
                                  return_inverse=True)
    for pair_table in (TT._PAIR_TABLE, 4):
        monkeypatch.setattr(TT, "_PAIR_TABLE", pair_table)
        keys, inv = TT.code_keys(codes)
        assert keys.tolist() == ref_keys.tolist() and inv.tolist() == ref_inv.reshape(-1).tolist()


def test_word_cache_keeps_the_name_list_keys_per_type(gaz, dev_words):
    """WordCache.gazetteer_keys: each token's Gazetteer.word_keys, looked up once per type,
    across new words, a cache that starts again, and other lists; the codes from them
    are the codes from the words."""
    lists = gaz.featurizer.gazetteer.lists
    cache = WordCache(gaz.featurizer, max_words=300)
    words = [w for s in dev_words for w in s][:2000]
    words += ["PARIS", "Paris", "paris", "New", "York", ""]
    for part in (words[:700], words[700:1400], words[1400:], words[:50]):
        keys = cache.gazetteer_keys(cache.types(part), lists)
        assert keys.tolist() == lists.word_keys(part).tolist()
        lengths = [len(part) // 2, len(part) - len(part) // 2]
        assert np.array_equal(lists.codes(part, lengths, keys=keys), lists.codes(part, lengths))
    assert cache.generation > 0  # (the cache started again on the way)
    other = Gazetteer({"LOC": [("Paris",)]})
    part = ["Paris", "PARIS", "York"]
    assert cache.gazetteer_keys(cache.types(part), other).tolist() == \
        other.word_keys(part).tolist() == [2 * other.vocab["paris"] + 1] * 2 + [1]
