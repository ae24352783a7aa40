"""How a model directory stores a model: a two-stage model's first stage sharing the
vocabulary and word vectors (format 2), older full ``stage1/`` copies (format 1), and
the opt-in compaction ``save.float16`` / ``save.max_words``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import DOC_CONTEXT
from nertag.config import load_config
from nertag.errors import NertagError
from nertag.inference import storage
from nertag.modelio import load_model, load_weights, model_files, save_model, sha256
from nertag.resources import default_model, sample_train
from nertag.text.conll import read_conll

N_EXTRA, KEEP = 1000, 500  # pretrained words beyond the training words; kept by max_words


def _extra(i: int) -> str:
    """The i-th made-up pretrained word (letters only: a word is looked up normalised)."""
    return "zz" + "".join(chr(97 + i // 26 ** k % 26) for k in range(3))


@pytest.fixture(scope="module")
def compact(tmp_path_factory):
    """A two-stage model with pretrained vectors, saved with save.float16 and
    save.max_words: (its directory, the model as trained)."""
    from nertag.training.loop import train

    d = tmp_path_factory.mktemp("compact")
    words = sorted({w.lower() for s in read_conll(sample_train()).sentences for w in s.words})
    rng = np.random.default_rng(0)
    lines = [f"{w} " + " ".join(f"{x:.4f}" for x in rng.uniform(-1, 1, 50))
             for w in words[:40] + [_extra(i) for i in range(N_EXTRA)]]
    (d / "vectors.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = load_config(None, DOC_CONTEXT + [f"embeddings.path={d / 'vectors.txt'}",
                                           "save.float16=true", f"save.max_words={KEEP}"])
    model, _ = train(cfg, output=d / "model", report=False)
    return d / "model", model


def _word_vocab(model):
    return next(f.vocab for f in model.featurizer.features if f.name == "word")


def test_a_compacted_two_stage_model_round_trips(compact):
    d, trained = compact
    assert not (d / "stage1" / "vocab.json").exists()
    assert json.loads((d / "meta.json").read_text())["format_version"] == 2
    assert json.loads((d / "stage1" / "meta.json").read_text())["shared"] == ["vocab.json",
                                                                              "E_word"]
    manifest = json.loads((d / "manifest.json").read_text())
    assert set(manifest) == set(model_files(d)) and "stage1/weights.npz" in manifest
    seen = _word_vocab(trained).n_seen
    assert len(_word_vocab(trained)) >= seen + N_EXTRA  # (in memory: every word)
    stored = load_weights(d / "weights.npz")
    assert stored["E_word"].dtype == np.float16 and stored["W"].dtype == np.float32
    assert stored["E_caps"].dtype == np.float32  # a small table stays as it is
    loaded = load_model(d)
    assert _word_vocab(loaded).items == _word_vocab(trained).items[:seen + KEEP]
    assert _word_vocab(loaded).n_seen == seen
    for got, want in ((loaded, trained), (loaded.stage1, trained.stage1)):
        assert got.params["E_word"].dtype == np.float32
        np.testing.assert_allclose(got.params["E_word"], want.params["E_word"][:seen + KEEP],
                                   rtol=1e-3, atol=1e-4)  # float16: 11 significant bits
        for name in ("W", "U", "b"):
            np.testing.assert_array_equal(got.params[name], want.params[name])
    assert _word_vocab(loaded.stage1).items == _word_vocab(loaded).items
    alone = load_model(d / "stage1")  # still a model of its own
    for name, a in loaded.stage1.params.items():
        np.testing.assert_array_equal(alone.params[name], a)


def test_a_pruned_word_is_unknown_to_the_saved_model(compact):
    d, trained = compact
    loaded = load_model(d)
    kept, dropped = _extra(KEEP - 100), _extra(KEEP)  # (a few real words come first)
    unk = loaded.featurizer.word_ids(["qqnever"])[0, 0]
    assert loaded.featurizer.word_ids([kept, dropped])[:, 0].tolist()[1] == unk
    assert loaded.featurizer.word_ids([kept])[0, 0] != unk
    assert trained.featurizer.word_ids([dropped])[0, 0] != unk  # (known before the save)
    sentence = [["Peter", "visited", kept, dropped, "in", "Berlin", "."]]
    assert loaded.predict(sentence)[0] and len(loaded.predict(sentence)[0][0]) == 7


def test_the_first_stage_is_shared_by_default_and_loads_as_trained(doc_model, tmp_path):
    manifest = json.loads((doc_model / "manifest.json").read_text())
    assert "stage1/vocab.json" not in manifest and "stage1/weights.npz" in manifest
    stored = load_weights(doc_model / "stage1" / "weights.npz")
    assert "E_word" not in stored and storage.DELTA_ROWS in stored
    assert load_weights(doc_model / "weights.npz")["E_word"].dtype == np.float32  # (opt-in)


def _old_layout(doc_model, out):
    """``doc_model`` as format 1 writes it: ``stage1/`` a full model directory."""
    shutil.copytree(doc_model, out)
    model = load_model(doc_model)
    shutil.rmtree(out / "stage1")
    save_model(out / "stage1", model.stage1, [], force=True)
    meta = json.loads((out / "meta.json").read_text())
    (out / "meta.json").write_text(json.dumps(dict(meta, format_version=1), indent=2))
    manifest = {name: sha256(out / name) for name in model_files(out)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return model


def test_old_layouts_still_load(doc_model, tmp_path):
    model = _old_layout(doc_model, tmp_path / "old")
    assert (tmp_path / "old" / "stage1" / "vocab.json").is_file()
    old = load_model(tmp_path / "old")
    for a, b in ((old, model), (old.stage1, model.stage1)):
        assert a.featurizer.vocabs() == b.featurizer.vocabs()
        for name in b.params:
            np.testing.assert_array_equal(a.params[name], b.params[name])
    shipped = default_model()  # today's shipped model: two stages in the new layout
    assert load_model(shipped).stage1 is not None
    assert not (shipped / "stage1" / "vocab.json").exists()


def test_resaving_an_old_layout_shares_and_keeps_the_weights(doc_model, tmp_path):
    model = _old_layout(doc_model, tmp_path / "old")
    save_model(tmp_path / "new", model, [], stage1_dir=tmp_path / "old" / "stage1")
    new = load_model(tmp_path / "new")
    assert not (tmp_path / "new" / "stage1" / "vocab.json").exists()
    for name, a in model.stage1.params.items():
        np.testing.assert_array_equal(new.stage1.params[name], a)


@pytest.mark.parametrize("name", ["vocab.json", "weights.npz"])
def test_a_changed_shared_file_is_refused(doc_model, tmp_path, name):
    bad = tmp_path / "bad"
    shutil.copytree(doc_model, bad)
    path = bad / name
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"LOC"', b'"LOX"') if name == "vocab.json"
                     else data[:-10] + b"0123456789")
    for d in (bad, bad / "stage1"):  # the first stage alone checks what it shares too
        with pytest.raises(NertagError, match=f"{name}: checksum does not match"):
            load_model(d)


def test_a_shared_first_stage_without_its_model_is_refused(doc_model, tmp_path):
    shutil.copytree(doc_model / "stage1", tmp_path / "stage1")
    (tmp_path / "vocab.json").write_text("{}")  # (not a model directory around it)
    with pytest.raises(NertagError, match="shares that model's vocab.json and weights.npz"):
        load_model(tmp_path / "stage1")
    shutil.copytree(doc_model / "stage1", tmp_path / "elsewhere")
    with pytest.raises(NertagError, match="first stage of a two-stage model"):
        load_model(tmp_path / "elsewhere")


def test_bad_word_rows_are_refused(doc_model, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(doc_model, bad)
    arrays = load_weights(bad / "stage1" / "weights.npz")
    arrays[storage.DELTA_ROWS] = arrays[storage.DELTA_ROWS] + 10 ** 6
    np.savez(bad / "stage1" / "weights.npz", **arrays)
    with pytest.raises(NertagError, match=r"E_word.rows / E_word.values do not fit"):
        load_model(bad, verify=False)


def test_float16_only_where_it_holds_the_values():
    big = np.full((storage.FLOAT16_ROWS, 4), 0.1, np.float32)
    huge = big.copy()
    huge[0, 0] = 1e6  # beyond float16's range: stays float32
    out = storage.stored_params({"E_word": big, "E_huge": huge, "E_caps": big[:8],
                                 "W": big}, len(big), float16=True)
    assert {k: v.dtype.name for k, v in out.items()} == {
        "E_word": "float16", "E_huge": "float32", "E_caps": "float32", "W": "float32"}
    np.testing.assert_allclose(out["E_word"].astype(np.float32), big, rtol=1e-3)
    assert storage.stored_params({"E_word": big}, 10, False)["E_word"].shape == (10, 4)


def test_max_words_needs_to_know_the_training_words():
    assert storage.words_kept(100, 40, 0) == 100
    assert storage.words_kept(100, 40, 20) == 60
    assert storage.words_kept(100, 40, 80) == 100
    with pytest.raises(NertagError, match="save.max_words"):
        storage.words_kept(100, None, 20)
