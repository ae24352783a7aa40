"""Two-stage training for document context: jackknifed first-stage tags, the first model
inside the model directory, the same model from the same seed."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from conftest import DOC_CONTEXT
from nertag.config import load_config
from nertag.errors import NertagError
from nertag.inference.model import first_stage_codes
from nertag.modelio import load_model, load_weights
from nertag.resources import sample_train
from nertag.text.conll import read_conll
from nertag.training import loop, two_stage
from nertag.text.doc_context import document_parts
from nertag.training.two_stage import fold_sentences, stages_dir


def test_folds_deal_documents_round_robin():
    corpus = read_conll(sample_train())
    sizes = corpus.doc_sizes()
    folds, docs = fold_sentences(np.array(sizes), 3)
    doc_of = np.repeat(np.arange(len(sizes)), sizes)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(corpus.sentences)))
    for f, rows in enumerate(folds):
        assert set((doc_of[rows] % 3).tolist()) == {f}
        assert docs[f].tolist() == sizes[f::3]  # each fold's documents, whole and in order


def test_each_fold_model_never_sees_the_documents_it_tags(tmp_path, monkeypatch):
    seen = tmp_path / "seen.jsonl"
    real = two_stage.fit

    def spy(cfg, train, dev=None, **kw):  # (runs in the forked workers: it writes to a file)
        assert not cfg.features.doc_context and "train_codes" not in kw
        with open(seen, "a") as f:
            f.write(json.dumps([s.line for s in train.sentences]) + "\n")
        return real(cfg, train, dev, **kw)

    monkeypatch.setattr(two_stage, "fit", spy)
    cfg = load_config(None, DOC_CONTEXT + ["train.epochs=1", "train.doc_folds=3"])
    model, _ = loop.train(cfg, output=tmp_path / "m", report=False)
    runs = [set(json.loads(line)) for line in seen.read_text().splitlines()]
    corpus = read_conll(sample_train())
    lines = {s.line for s in corpus.sentences}
    assert len(runs) == 4 and lines in runs  # stage1: on every document
    for rows in fold_sentences(np.array(corpus.doc_sizes()), 3)[0]:  # fold f: on every document but its own
        held = {corpus.sentences[i].line for i in rows}
        assert held and runs.count(lines - held) == 1
    assert model.stage1 is not None and not stages_dir(tmp_path / "m").exists()


def test_a_smaller_first_stage(tmp_path):
    """train.doc_first_hidden: the first models get that many hidden units (the second
    keeps model.hidden); the first stage still shares the vocabulary and the word types."""
    cfg = load_config(None, DOC_CONTEXT + ["train.epochs=1", "train.doc_first_hidden=7"])
    loop.train(cfg, output=tmp_path / "m", report=False)
    model = load_model(tmp_path / "m")
    assert model.stage1.arch.hidden == 7 and model.arch.hidden == 20
    assert model.stage1.cfg.model.hidden == 7
    assert not (tmp_path / "m" / "stage1" / "vocab.json").exists()
    model.fast_inference = True
    assert model.shares_words()
    assert len(model.predict([["Paris", "is", "big", "."], ["PARIS", "!"]])[0]) == 2


def test_the_model_directory_carries_the_first_model(doc_model):
    manifest = json.loads((doc_model / "manifest.json").read_text())
    assert {"stage1/weights.npz", "stage1/manifest.json"} <= set(manifest)  # (its vocabulary:
    assert "stage1/vocab.json" not in manifest  # the model's, shared: tests/test_modelio_storage)
    vocab = json.loads((doc_model / "vocab.json").read_text())
    assert vocab["doc_context"] == ["LOC", "MISC", "ORG", "PER"]
    model = load_model(doc_model)
    assert model.stage1 is not None and model.stage1.featurizer.doc_context is None
    assert model.arch.token_features == 4
    assert load_model(doc_model / "stage1").labels == model.labels  # a model of its own


def test_a_changed_or_missing_first_model_is_refused(doc_model, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(doc_model, bad)
    w = bad / "stage1" / "weights.npz"
    w.write_bytes(w.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(NertagError, match="stage1/weights.npz: checksum does not match"):
        load_model(bad)
    shutil.rmtree(bad / "stage1")
    with pytest.raises(NertagError, match=r"stage1/\S+ is missing \(manifest.json lists it\)"):
        load_model(bad)
    with pytest.raises(NertagError, match=r"stage1/ \(the first model\) is missing"):
        load_model(bad, verify=False)


def test_same_config_and_seed_same_model(doc_model, tmp_path):
    loop.train(load_config(None, DOC_CONTEXT), output=tmp_path / "again", report=False)
    for part in ("weights.npz", "stage1/weights.npz"):
        a, b = load_weights(doc_model / part), load_weights(tmp_path / "again" / part)
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{part}: {k}")


class _First:
    """A first model that tags every 'Paris' LOC and every 'Kim' PER."""

    labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]

    def scores_flat(self, words, lengths):  # (N, L) one-hot scores of those tags
        ids = np.array([1 if w == "Paris" else 3 if w == "Kim" else 0 for w in words])
        return np.eye(len(self.labels))[ids]

    def decode_ids(self, S, lengths):
        return S.argmax(axis=1)


def test_first_stage_codes_per_document():
    words = ["PARIS", "Paris", "Kim", "KIM", "Paris", "PARIS"]
    # two documents: the first 2 sentences [PARIS Paris][Kim KIM], then [Paris PARIS]
    codes = first_stage_codes(_First(), words, [2, 2, 2], [2, 1], ["LOC", "MISC", "PER"])
    assert codes.tolist() == [[3, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 3],
                              [0, 0, 0], [3, 0, 0]]


def test_ctrl_c_in_the_first_stage_saves_nothing(tmp_path):
    out = tmp_path / "m"
    with pytest.raises(NertagError, match="interrupted while training the first-stage models"
                       ) as e:
        loop.train(load_config(None, DOC_CONTEXT), output=out, report=False,
                   should_stop=lambda: True)
    assert e.value.exit_code == 130 and not out.exists()


def test_an_interrupted_second_stage_resumes_to_the_same_model(doc_model, tmp_path):
    from nertag.training import checkpoint as ckpt

    out, calls, parent = tmp_path / "m", {"n": 0}, os.getpid()

    def first_stage_done():
        return all((stages_dir(out) / name / "manifest.json").is_file()
                   for name in ("stage1", "fold0", "fold1"))

    def should_stop():  # in the second stage (the parent also asks during the first)
        calls["n"] += os.getpid() == parent and first_stage_done()
        return calls["n"] == 20

    with pytest.raises(ckpt.Interrupted):
        loop.train(load_config(None, DOC_CONTEXT), output=out, should_stop=should_stop,
                   report=False)
    assert (stages_dir(out) / "stage1" / "manifest.json").is_file()
    loop.train(ckpt.load_config(out), output=out, resume=True, report=False)
    for part in ("weights.npz", "stage1/weights.npz"):
        a, b = load_weights(doc_model / part), load_weights(out / part)
        for k in a:
            assert a[k].tobytes() == b[k].tobytes(), f"{part}: {k}"
    assert not stages_dir(out).exists()


def test_a_corpus_without_documents_is_jackknifed_by_parts_of_documents(tmp_path):
    """A file without -DOCSTART- is one document: cut into parts of at most
    features.doc_max_sentences (50) sentences, dealt to the folds whole."""
    from nertag.resources import sample_dev

    src = tmp_path / "nodocs.conll"
    src.write_text("".join(line for line in sample_train().read_text(encoding="utf-8")
                           .splitlines(keepends=True) if not line.startswith("-DOCSTART-")),
                   encoding="utf-8")
    corpus = read_conll(src)
    assert corpus.doc_sizes() == [len(corpus.sentences)]
    assert len(corpus.sentences) == 400
    parts = document_parts(corpus.doc_sizes(), 50)
    assert parts.tolist() == [50] * 8
    folds, docs = fold_sentences(parts, 2)
    assert folds[0].tolist() == [s for p in (0, 2, 4, 6) for s in range(50 * p, 50 * p + 50)]
    assert docs[0].tolist() == docs[1].tolist() == [50] * 4
    warnings = []
    model, _ = loop.train(load_config(None, DOC_CONTEXT + ["train.epochs=1"]),
                          train_path=src, dev_path=sample_dev(), report=False,
                          callback=lambda e, i: warnings.append(i["message"]) if e == "warn"
                          else None)
    assert model.stage1 is not None
    assert any("1 document(s) (no -DOCSTART- lines?): documents are parts of at most 50 "
               "sentences (features.doc_max_sentences)" in w for w in warnings), warnings


def test_without_a_cap_a_one_document_corpus_is_jackknifed_by_sentences():
    folds, docs = fold_sentences(document_parts([7], 0), 2)
    assert [f.tolist() for f in folds] == [[0, 2, 4, 6], [1, 3, 5]] and docs == [None, None]


def test_a_long_document_gets_the_codes_of_its_parts():
    """Tagging a document of 5 sentences with a cap of 2 gives the codes of its parts
    [2, 2, 1] tagged as documents of their own: Paris in the last part has no other
    occurrence there, whatever the first parts hold."""
    words = ["Paris", "x", "Paris", "x", "Kim", "x", "Kim", "x", "Paris", "x"]
    types = ["LOC", "MISC", "PER"]
    capped = first_stage_codes(_First(), words, [2] * 5, [5], types, max_sentences=2)
    parts = first_stage_codes(_First(), words, [2] * 5, [2, 2, 1], types)
    whole = first_stage_codes(_First(), words, [2] * 5, [5], types)
    assert capped.tolist() == parts.tolist()
    assert capped[8].tolist() == [0, 0, 0] and whole[8].tolist() == [3, 0, 0]
