"""Continuing a trained model (train.base, nertag train --from): the grown model keeps
every base parameter, new words and types get rows, labels.map, the config's fixed keys,
pseudo-rehearsal and rehearsal draws."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DOC_CONTEXT

from nertag.config import load_config
from nertag.errors import NertagError
from nertag.modelio import load_model
from nertag.resources import sample_dev, sample_train
from nertag.text.conll import Corpus, Sentence, read_conll
from nertag.training import checkpoint as ckpt
from nertag.training.adapt import (adapt_config, extend, fixed_keys, new_words,
                                   pretrained_rows, read_adapt_corpora)
from nertag.training.loop import train
from nertag.training.rehearsal import draw, pseudo_rehearse

#: A small CRF base with BIOES labels and document context (a two-stage model).
CRF_DOC = DOC_CONTEXT + ["model.head=crf", "model.tag_scheme=bioes", "train.batch_size=4"]


def user_file(path: Path) -> Path:
    """The sample dev set relabelled as a user's data: MISC -> product (a new type), ORG
    -> org (a new type, or ORG with labels.map), PER not annotated (all O)."""
    out = []
    for line in sample_dev().read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] != "-DOCSTART-":
            tag = parts[-1]
            tag = ("O" if tag.endswith("-PER") else tag.replace("-MISC", "-product")
                   .replace("-ORG", "-org"))
            line = " ".join(parts[:-1] + [tag])
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def crf_doc_base(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("crf-doc") / "base"
    train(load_config(None, CRF_DOC), output=out, report=False)
    return out


@pytest.fixture
def user(tmp_path) -> Path:
    return user_file(tmp_path / "user.conll")


def _grown(base_dir: Path, user: Path, vectors=None):
    base = load_model(base_dir)
    cfg = adapt_config(base_dir, None, [f"data.train={user}"])
    corpus = read_conll(user)
    words = new_words(base, corpus)
    return base, extend(base, cfg, words, ["org", "product"], vectors or {}), words


def test_the_grown_model_keeps_every_base_parameter_bit_for_bit(crf_doc_base, user):
    base, grown, words = _grown(crf_doc_base, user)
    K, V = len(base.labels), base.params["E_word"].shape[0]
    assert grown.labels[:K] == base.labels
    assert grown.labels[K:] == ["B-org", "I-org", "E-org", "S-org",
                                "B-product", "I-product", "E-product", "S-product"]
    assert words and grown.params["E_word"].shape[0] == V + len(words)
    new_types = grown.featurizer.doc_context.types
    assert new_types == ["LOC", "MISC", "ORG", "PER", "org", "product"]
    for name, old in base.params.items():
        new = grown.params[name]
        if name == "W":  # the new document-context columns sit before nothing else: chars off
            H, n = old.shape[0], base.arch.n
            added = grown.arch.D - base.arch.D
            assert added == 2 * grown.cfg.features.doc_context_dim
            w = new.reshape(H, n, -1)
            np.testing.assert_array_equal(w[:, :, :base.arch.D], old.reshape(H, n, -1))
            assert not w[:, :, base.arch.D:].any()
            continue
        lead = tuple(slice(0, s) for s in old.shape)
        assert new[lead].tobytes() == old.tobytes(), name  # bit-identical
        if name in ("U", "c", "A", "start", "end"):
            rest = new.copy()
            rest[lead] = 0
            assert not rest.any(), f"{name}: the new rows and columns start at 0"
    assert {"E_doc_org", "E_doc_product"} <= set(grown.params)


def test_before_its_first_update_it_scores_the_old_labels_as_the_base(crf_doc_base, user):
    """Same scores for the old labels (the new features' W columns are 0; new labels 0)."""
    base, grown, _ = _grown(crf_doc_base, user)
    grown.stage1 = base.stage1  # (the base's first stage: its codes for the old types)
    sents = [s.words for s in read_conll(sample_train()).sentences[:40]]
    lengths = np.array([len(s) for s in sents])
    flat = [w for s in sents for w in s]
    old = base.scores_flat(flat, lengths, None)
    new = grown.scores_flat(flat, lengths, None)
    K = len(base.labels)
    np.testing.assert_allclose(new[:, :K], old, rtol=0, atol=1e-5)
    assert not new[:, K:].any()


def test_new_words_get_their_pretrained_vectors_and_only_those_are_read(small_model, tmp_path,
                                                                        user):
    vec = tmp_path / "vectors.txt"
    base = load_model(small_model)
    d = base.params["E_word"].shape[1]
    words = new_words(base, read_conll(user))
    lines = [f"{w} " + " ".join(["0.5"] * d) for w in words[:3]] + \
        [f"not-a-word-of-it {' '.join(['9'] * d)}"]
    vec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = pretrained_rows(vec, words, d, 2.0)
    assert sorted(found) == sorted(words[:3])
    assert all((v == 1.0).all() for v in found.values())  # scaled by embeddings.scale
    cfg = adapt_config(small_model)
    grown = extend(base, cfg, words, [], found)
    V = base.params["E_word"].shape[0]
    assert (grown.params["E_word"][V:V + 3] == 1.0).all()
    rest = grown.params["E_word"][V + 3:]
    assert rest.any() and np.abs(rest).max() <= cfg.model.init_scale


def test_fixed_keys_are_refused_and_the_rest_may_change(small_model):
    cfg = adapt_config(small_model, None, ["train.lr=0.05", "model.dropout_hidden=0.3",
                                           "labels.map.person=PER"])
    assert cfg.train.lr == 0.05 and cfg.train.base == str(small_model)
    assert cfg.train.epochs == 5 and cfg.data.train is None  # the adaptation defaults
    assert fixed_keys(cfg) == fixed_keys(load_model(small_model).cfg)
    with pytest.raises(NertagError, match=r"^override: 'model.hidden' is 30 but 20 in the "
                                          r"base model .*; train from scratch"):
        adapt_config(small_model, None, ["model.hidden=30"])
    with pytest.raises(NertagError, match=r"conll2003.yaml: 'features.\w+' is .* but .* in "
                                          r"the base model"):
        adapt_config(small_model, load_config("conll2003"), src="conll2003.yaml")


def test_labels_map_renames_types_and_an_unknown_target_is_an_error(small_model, user):
    base = load_model(small_model)
    cfg = adapt_config(small_model, None, [f"data.train={user}", "labels.map.org=ORG"])
    train_c, _ = read_adapt_corpora(cfg, base, lambda e, i: None)
    assert train_c.entity_types() == ["LOC", "ORG", "product"]
    bad = adapt_config(small_model, None, [f"data.train={user}", "labels.map.product=PRODUCT"])
    with pytest.raises(NertagError, match=r"^'labels.map': product -> PRODUCT: PRODUCT is "
                                          r"neither a type of the base model nor of .*; known "
                                          r"types: LOC, MISC, ORG, PER, org, product$"):
        read_adapt_corpora(bad, base, lambda e, i: None)


def test_labels_map_applies_when_training_from_scratch_too(tmp_path, user):
    cfg = load_config(None, ["train.epochs=1", "model.hidden=10", "labels.map.product=MISC",
                             "labels.map.org=ORG"])
    model, _ = train(cfg, output=tmp_path / "m", train_path=user, report=False)
    assert sorted({lab[2:] for lab in model.labels if lab != "O"}) == ["LOC", "MISC", "ORG"]


class _Base:
    """A base that tags every 'Kim' PER and every 'Acme' ORG."""

    labels = ["O", "B-ORG", "I-ORG", "B-PER", "I-PER"]

    def predict(self, sentences, docs=None):
        tag = {"Kim": "B-PER", "Acme": "B-ORG"}
        return [[tag.get(w, "O") for w in s] for s in sentences], None


def test_pseudo_rehearsal_adds_only_unannotated_types_where_the_gold_is_o():
    sents = [Sentence(["Kim", "bought", "Acme", "Phone"], ["O", "O", "B-product", "I-product"]),
             Sentence(["Kim", "met", "Acme"], ["O", "O", "B-ORG"]),
             Sentence(["Kim", "Lee"], ["B-product", "I-product"])]
    out, added = pseudo_rehearse(_Base(), Corpus("u", sents, "bio"))
    assert added == 2  # Kim twice; Acme is ORG, a type the data annotates; Kim in product
    assert [s.tags for s in out.sentences] == [
        ["B-PER", "O", "B-product", "I-product"], ["B-PER", "O", "B-ORG"],
        ["B-product", "I-product"]]
    assert sents[0].tags[0] == "O"  # the input is not changed


def test_rehearsal_draws_afresh_each_epoch_with_the_seed():
    corpus = Corpus("r", [Sentence([f"w{i}"], ["O"]) for i in range(50)], "bio")
    a, b = draw(corpus, 10, 1.5, 3, seed=7), draw(corpus, 10, 1.5, 3, seed=7)
    assert [len(d) for d in a.draws] == [15, 15, 15]
    assert all((x == y).all() for x, y in zip(a.draws, b.draws))
    assert not (a.draws[0] == a.draws[1]).all()
    picked = [{a.pool.sentences[i].words[0] for i in d} for d in a.draws]
    assert all(len(p) == 15 for p in picked)
    assert len(a.pool.sentences) == len(set().union(*picked))
    assert [len(d) for d in draw(corpus, 10, 100.0, 1, seed=7).draws] == [50]


def test_a_continued_two_stage_run_saves_a_complete_model(crf_doc_base, user, tmp_path):
    cfg = adapt_config(crf_doc_base, None, ["train.epochs=2", "train.rehearse_ratio=0.5",
                                            f"train.rehearse={sample_train()}"])
    events = []
    model, history = train(cfg, output=tmp_path / "m", train_path=user,
                           dev_path=sample_dev(), report=False,
                           callback=lambda e, i: events.append((e, i)))
    loaded = load_model(tmp_path / "m")
    assert loaded.labels == model.labels and "S-product" in loaded.labels
    assert loaded.stage1.labels == loaded.labels
    assert not (tmp_path / "m" / "stage1" / "vocab.json").exists()  # shares the vocabulary
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    prov = meta["provenance"]
    assert prov["base"]["path"] == str(crf_doc_base)
    assert len(prov["base"]["manifest_sha256"]) == 64
    assert prov["rehearsal"]["file"]["path"] == str(sample_train())
    assert prov["rehearsal"]["ratio"] == 0.5 and prov["rehearsal"]["pseudo"] is True
    start = next(i for e, i in events if e == "start")
    assert start["sentences"] == 120 + 60  # the user's and half as many drawn
    assert any("pseudo-rehearsal:" in i.get("message", "") for e, i in events)
    pred, _ = loaded.predict([["Kim", "went", "to", "Paris", "."]])
    assert len(pred[0]) == 5


def test_an_interrupted_continued_run_resumes_to_the_same_model(small_model, user, tmp_path):
    cfg = adapt_config(small_model, None, ["train.epochs=2"])
    train(cfg, output=tmp_path / "whole", train_path=user, report=False)
    calls = iter(range(10**6))
    with pytest.raises(ckpt.Interrupted):
        train(cfg, output=tmp_path / "m", train_path=user, report=False,
              should_stop=lambda: next(calls) == 2)
    train(ckpt.load_config(tmp_path / "m"), output=tmp_path / "m", resume=True, report=False)
    a = np.load(tmp_path / "whole" / "weights.npz")
    b = np.load(tmp_path / "m" / "weights.npz")
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_an_epoch_is_the_users_sentences_and_its_share_of_the_draw():
    """A model of fewer sentences (a jackknife fold) takes the first ratio × its own."""
    from nertag.training.data import TrainData

    pool = Corpus("r", [Sentence([f"r{i}"], ["O"]) for i in range(50)], "bio")
    rehearsal = draw(pool, 10, 1.5, 2, seed=7)
    for n_user in (10, 4):
        user = Corpus("u", [Sentence([f"u{i}"], ["O"]) for i in range(n_user)], "bio")
        joined, codes, mine = rehearsal.joined(user, None)
        n = len(joined.sentences)
        data = TrainData(np.arange(n).reshape(n, 1, 1), np.arange(n), np.ones(n, np.int64),
                         joined)
        for epoch in (1, 2):
            picked = np.sort(rehearsal.draws[epoch - 1][:round(1.5 * n_user)])
            got = mine.epoch(data, epoch)
            assert got.y.tolist() == list(range(n_user)) + (n_user + picked).tolist()
            assert [s.words[0] for s in got.corpus.sentences][n_user:] == \
                [rehearsal.pool.sentences[i].words[0] for i in picked]
    assert codes is None and rehearsal.n_user == 0  # (joined gives a copy)
