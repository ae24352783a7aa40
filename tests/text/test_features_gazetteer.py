"""Name-list matches as token features: the columns and ids a token gets, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from nertag.config import FeaturesConfig
from nertag.text.features import END, GAZ_VOCAB, SPECIALS, START, Featurizer
from nertag.text.gazetteer import B, E, O, S, Gazetteer

LISTS = {"LOC": [("New", "York"), ("Paris",)], "PER": [("York",), ("Smith",)]}
SENTS = [["Smith", "flew", "to", "New", "York"], ["Paris", "!"]]
F_IDS = len(SPECIALS)  # the id of code O


def fcfg(**kw) -> FeaturesConfig:
    base = dict(window=1, word_dim=4, caps_dim=2, min_count=1, shape_dim=0,
                prefix_lengths=[], suffix_lengths=[], gazetteer="x", gazetteer_dim=3)
    base.update(kw)
    return FeaturesConfig(**base)


@pytest.fixture(scope="module")
def feat() -> Featurizer:
    return Featurizer.build(fcfg(), SENTS, gazetteer=Gazetteer(LISTS))


def test_vocabulary_is_specials_then_bioes():
    assert GAZ_VOCAB == ["<s>", "</s>", "<unk>", "O", "B", "I", "E", "S"]


def test_columns_word_then_token_then_characters(feat):
    assert feat.n_word_features == 2 and feat.n_token_features == 2
    assert feat.word_columns == 2 and feat.n_columns == 4
    assert feat.arch_features() == [("word", len(feat.features[0].vocab), 4), ("caps", 8, 2),
                                    ("gaz_LOC", 8, 3), ("gaz_PER", 8, 3)]
    with_chars = Featurizer.build(fcfg(char_dim=5, char_max_len=4, char_width=3), SENTS,
                                  gazetteer=Gazetteer(LISTS))
    L = with_chars.chars.L
    assert with_chars.word_columns == 2 + L and with_chars.n_columns == 2 + 2 + L
    flat = [w for s in SENTS for w in s]
    ids = with_chars.feature_ids(flat, [5, 2])
    words = with_chars.word_ids(flat)
    np.testing.assert_array_equal(ids[:, :2], words[:, :2])           # word features
    np.testing.assert_array_equal(ids[:, 4:], words[:, 2:])           # characters last
    assert ids[:, 2:4].tolist() == (with_chars.token_codes(flat, [5, 2]) + F_IDS).tolist()


def test_token_ids_are_three_plus_the_codes(feat):
    flat = [w for s in SENTS for w in s]
    codes = feat.token_codes(flat, [5, 2])
    #                 LOC  PER
    assert codes.tolist() == [[O, S],   # Smith
                              [O, O], [O, O],
                              [B, O],   # New
                              [E, S],   # York: in LOC's New York, and PER's York
                              [S, O],   # Paris
                              [O, O]]
    ids = feat.feature_ids(flat, [5, 2])
    assert ids.dtype == np.int32
    assert ids[:, 2:].tolist() == (codes + 3).tolist()
    assert GAZ_VOCAB[ids[3, 2]] == "B" and GAZ_VOCAB[ids[4, 3]] == "S"


def test_matches_stop_at_sentence_ends(feat):
    flat = ["to", "New", "York"]
    assert feat.token_codes(flat, [2, 1])[:, 0].tolist() == [O, O, O]   # New | York
    assert feat.token_codes(flat, [3])[:, 0].tolist() == [O, B, E]


def test_windows_pad_the_match_columns_like_every_column(feat):
    X = feat.featurize(SENTS)
    assert X.shape == (7, 3, 4)
    # token "Smith" (first of sentence 1): window <s> Smith flew
    assert X[0, :, 2].tolist() == [START, F_IDS + O, F_IDS + O]
    assert X[0, :, 3].tolist() == [START, F_IDS + S, F_IDS + O]
    # token "York" (last): window New York </s>
    assert X[4, :, 2].tolist() == [F_IDS + B, F_IDS + E, END]


def test_put_codes_rewrites_only_the_match_columns(feat):
    flat = [w for s in SENTS for w in s]
    X = feat.featurize(SENTS)
    before = X.copy()
    zero = np.zeros((7, 2), np.int8)
    feat.put_codes(X, zero, [5, 2])
    np.testing.assert_array_equal(X[:, :, :2], before[:, :, :2])
    assert set(np.unique(X[:, :, 2:])) == {START, END, F_IDS + O}
    feat.put_codes(X, feat.token_codes(flat, [5, 2]), [5, 2])
    np.testing.assert_array_equal(X, before)


def test_without_lists_nothing_changes():
    plain = Featurizer.build(fcfg(gazetteer=None), SENTS)
    flat = [w for s in SENTS for w in s]
    assert plain.n_token_features == 0 and plain.n_columns == plain.word_columns == 2
    assert plain.token_codes(flat, [5, 2]).shape == (7, 0)
    np.testing.assert_array_equal(plain.feature_ids(flat, [5, 2]), plain.word_ids(flat))


def test_from_vocabs_needs_the_lists(feat):
    with pytest.raises(KeyError):
        Featurizer.from_vocabs(fcfg(), feat.vocabs())
    again = Featurizer.from_vocabs(fcfg(), feat.vocabs(), gazetteer=Gazetteer(LISTS))
    flat = [w for s in SENTS for w in s]
    np.testing.assert_array_equal(again.feature_ids(flat, [5, 2]), feat.feature_ids(flat, [5, 2]))
