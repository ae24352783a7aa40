"""Document context: the codes of a word's other occurrences, documents in corpora, and
the token columns they take."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.config import FeaturesConfig
from nertag.text.conll import read_conll
from nertag.text.datasets import read_corpus
from nertag.text.doc_context import (LEVELS, category_names, doc_of_tokens, document_codes,
                                     document_parts, spans_to_types)
from nertag.text.features import SPECIALS, Featurizer

LOC, ORG, PER = 0, 1, 2


def codes(words, types, docs=None, T=3):
    docs = np.zeros(len(words), np.int64) if docs is None else np.array(docs)
    return document_codes(words, np.array(types), docs, T).tolist()


def test_levels_and_names():
    assert LEVELS == ("none", "some", "half", "all")
    assert category_names(["LOC", "PER"]) == ["doc_LOC", "doc_PER"]


def test_a_word_alone_in_its_document_has_no_context():
    assert codes(["Paris", "is", "big"], [LOC, -1, -1]) == [[0, 0, 0]] * 3


def test_other_occurrences_counted_case_insensitively_never_itself():
    # PARIS (a headline, tagged O) sees Paris (LOC) and paris (LOC): all its others are LOC
    got = codes(["PARIS", "Paris", "paris"], [-1, LOC, LOC])
    assert got[0] == [3, 0, 0]
    # Paris sees PARIS (O) and paris (LOC): 1 of 2 others is LOC -> half
    assert got[1] == [2, 0, 0] and got[2] == [2, 0, 0]


def test_exact_levels_of_a_mixed_word():
    words = ["Jordan"] * 5
    got = np.array(codes(words, [PER, LOC, LOC, LOC, -1]))
    # token 0 (PER): others = LOC LOC LOC O -> LOC 3/4 = half, PER 0 -> none
    assert got[0].tolist() == [2, 0, 0]
    # token 1 (LOC): others = PER LOC LOC O -> LOC 2/4 = half, PER 1/4 = some
    assert got[1].tolist() == [2, 0, 1]
    # token 4 (O): others = PER LOC LOC LOC -> LOC 3/4 = half, PER 1/4 = some
    assert got[4].tolist() == [2, 0, 1]


def test_documents_never_mix():
    words = ["Paris", "Paris", "Paris"]
    assert codes(words, [LOC, -1, -1], docs=[0, 1, 1]) == [[0, 0, 0]] * 3
    assert codes(words, [LOC, -1, -1], docs=[0, 0, 1]) == [[0, 0, 0], [3, 0, 0], [0, 0, 0]]


def test_spans_to_types_and_doc_of_tokens():
    assert spans_to_types(8, np.array([2, 7]), np.array([4, 8]), np.array([1, 0])).tolist() == \
        [-1, -1, 1, 1, -1, -1, -1, 0]
    assert spans_to_types(3, np.array([], int), np.array([], int), np.array([], int)).tolist() \
        == [-1, -1, -1]
    assert doc_of_tokens(np.array([2, 1, 3]), np.array([2, 1])).tolist() == [0, 0, 0, 1, 1, 1]
    assert doc_of_tokens(np.array([2, 1]), None).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="documents hold 2 sentences, not 3"):
        doc_of_tokens(np.array([1, 1, 1]), np.array([2]))


def test_conll_documents_start_at_docstart(tmp_path):
    p = tmp_path / "d.conll"
    p.write_text("-DOCSTART- O\n\nA O\n\nB O\n\n-DOCSTART- O\n\nC O\n\n-DOCSTART- O\n"
                 "D O\nE O\n\nF O\n", encoding="utf-8")
    c = read_conll(p)
    assert [s.doc for s in c.sentences] == [0, 0, 1, 2, 2]
    assert c.doc_sizes() == [2, 1, 2]
    q = tmp_path / "none.conll"
    q.write_text("A O\n\nB O\n", encoding="utf-8")
    assert read_conll(q).doc_sizes() == [2]  # no -DOCSTART-: one document


def test_jsonl_records_are_documents(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "Paris is big. So is Rome.", "entities": []}\n'
                 '{"text": "Oslo too.", "entities": []}\n', encoding="utf-8")
    c = read_corpus(p)
    assert len(c.sentences) == 3 and c.doc_sizes() == [2, 1]


def test_featurizer_puts_document_codes_after_the_word_features():
    fc = FeaturesConfig(window=1, word_dim=4, caps_dim=2, prefix_lengths=[], suffix_lengths=[],
                        shape_dim=0, doc_context=True, doc_context_dim=3)
    feat = Featurizer.build(fc, [["Paris", "x"]], doc_types=["LOC", "PER"])
    assert feat.n_token_features == 2 and feat.n_gazetteer == 0
    assert feat.arch_features()[-2:] == [("doc_LOC", 8, 3), ("doc_PER", 8, 3)]
    ids = feat.feature_ids(["Paris", "x"], None, np.array([[3, 0], [1, 2]]))
    assert ids[:, 2:].tolist() == [[len(SPECIALS) + 3, len(SPECIALS)],
                                   [len(SPECIALS) + 1, len(SPECIALS) + 2]]
    with pytest.raises(ValueError, match="needs document-context codes"):
        feat.feature_ids(["Paris", "x"])


@pytest.mark.parametrize("sizes,cap,parts", [
    ([130], 50, [44, 43, 43]),             # ⌈130/50⌉ = 3 near-equal parts, longest first
    ([50, 51, 3], 50, [50, 26, 25, 3]),    # only a document over the cap is cut
    ([100], 50, [50, 50]),
    ([400], 0, [400]),                     # 0: no cap
    ([12, 7], 50, [12, 7]),
    ([], 50, []),
])
def test_document_parts(sizes, cap, parts):
    got = document_parts(sizes, cap)
    assert got.tolist() == parts and got.sum() == sum(sizes)
    assert cap == 0 or all(p <= cap for p in got)


def test_doc_of_tokens_cuts_long_documents_and_one_unnamed_document():
    lengths = np.array([1, 2, 1, 1, 1])
    assert doc_of_tokens(lengths, [5], 2).tolist() == [0, 0, 0, 1, 1, 2]
    assert doc_of_tokens(lengths, None, 2).tolist() == [0, 0, 0, 1, 1, 2]
    assert doc_of_tokens(lengths, None).tolist() == [0] * 6
