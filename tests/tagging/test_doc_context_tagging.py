"""Tagging with a document-context model: what a document is for each input, and the
same output whatever the batching (texts, --tokenized documents, --jobs)."""

from __future__ import annotations

import subprocess

import numpy as np

from conftest import NERTAG
from nertag.api import load
from nertag.tagging.tokenized import tag_file
from nertag.modelio import load_model
from nertag.resources import sample_dev
from nertag.text.conll import read_conll

TEXTS = ["Kim Jong met Paris officials in PARIS on Monday.\n\nParis is big.",
         "PARIS , France . Kim said so."]


def test_each_text_is_a_document(doc_model):
    tagger = load(doc_model)
    together = tagger.pipe(TEXTS)
    alone = [tagger(t) for t in TEXTS]
    assert [d.to_json() for d in together] == [d.to_json() for d in alone]


def test_the_codes_see_the_whole_text_and_only_it(doc_model):
    model = load_model(doc_model)
    words = ["Paris", "is", "big", ".", "PARIS", "!"]
    one = model.doc_codes(words, np.array([4, 2]))                 # one document
    two = model.doc_codes(words, np.array([4, 2]), np.array([1, 1]))  # two
    first = model.stage1.predict_ids(words, np.array([4, 2]))[0]
    if model.stage1.labels[first[0]] != "O":  # Paris tagged: PARIS sees it in its document
        assert one[4].any()
    assert not two[4].any() and not two[0].any()  # alone in its document: no context


def test_tokenized_batches_hold_whole_documents(doc_model):
    model = load_model(doc_model)
    corpus = read_conll(sample_dev())
    want, _ = model.predict([s.words for s in corpus.sentences], docs=corpus.doc_sizes())
    got = [t for _, tags, _ in tag_file(model, str(sample_dev())) for t in tags]
    assert got == want


def test_jobs_give_the_same_output(doc_model, tmp_path):
    text = tmp_path / "big.txt"
    para = "\n\n".join(TEXTS) + "\n\n"
    text.write_text(para * (1_200_000 // len(para)), encoding="utf-8")  # > 1 MB: split size
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.jsonl"
        subprocess.run(NERTAG + ["tag", str(text), "-m", str(doc_model), "--jobs", jobs,
                                 "-f", "jsonl", "-o", str(out)], check=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and len(outs[0]) > 1_000_000

