"""Tests for nertag.text.features: word normalisation, caps/shape classes, vocabularies,
encoding and the window builder (exact windows, padding, sentence boundaries)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nertag.config import FeaturesConfig
from nertag.text.features import (CAPS, END, SPECIALS, START, UNK, Featurizer, Vocab, caps,
                             feature_keys, normalize, shape)

S, E = START, END


def fcfg(**kw) -> FeaturesConfig:
    base = dict(window=1, word_dim=4, caps_dim=2, min_count=1, shape_dim=0,
                prefix_lengths=[], suffix_lengths=[])
    base.update(kw)
    return FeaturesConfig(**base)


def bare(window: int) -> Featurizer:
    """A featurizer used only for ``windows`` (which looks at nothing but the window)."""
    return Featurizer([], window)


def reference_windows(ids: np.ndarray, lengths, w: int) -> np.ndarray:
    """Straightforward per-token loop: the specification of ``Featurizer.windows``."""
    out, o = [], 0
    F = ids.shape[1]
    for L in lengths:
        sent = ids[o:o + L]
        for t in range(L):
            win = []
            for k in range(t - w, t + w + 1):
                if k < 0:
                    win.append(np.full(F, START))
                elif k >= L:
                    win.append(np.full(F, END))
                else:
                    win.append(sent[k])
            out.append(win)
        o += L
    return np.array(out, dtype=np.int64).reshape(len(out), 2 * w + 1, F)


# ------------------------------------------------------------------ normalize
@pytest.mark.parametrize("word, expected", [
    ("Hello", "hello"), ("USA", "usa"), ("1996", "0000"), ("3:45pm", "0:00pm"),
    ("B52-Bomber", "b00-bomber"), ("", ""), ("٣", "0"),  # a Unicode digit is a digit too
])
def test_normalize_lowercases_and_zeroes_digits(word, expected):
    assert normalize(word) == expected


def test_normalize_switches():
    assert normalize("Ab12", lowercase=False) == "Ab00"
    assert normalize("Ab12", digits_to_zero=False) == "ab12"
    assert normalize("Ab12", lowercase=False, digits_to_zero=False) == "Ab12"


# ------------------------------------------------------------------ caps
@pytest.mark.parametrize("word, expected", [
    ("the", "lower"), ("e.g.", "lower"), ("1st", "lower"), ("ß", "lower"),
    ("USA", "upper"), ("U.S.", "upper"), ("NATO-led".upper(), "upper"), ("3M", "upper"),
    ("ÉCOLE", "upper"),
    ("Paris", "title"), ("I", "title"), ("A.", "title"), ("X", "title"), ("I'm", "title"),
    ("Émile", "title"),
    ("McDonald", "mixed"), ("iPhone", "mixed"), ("eBay", "mixed"), ("O'Neil", "mixed"),
    ("ABC-def", "mixed"),
    ("1996", "none"), ("", "none"), ("...", "none"), ("--", "none"), ("3,000", "none"),
])
def test_caps_classes(word, expected):
    assert caps(word) == expected


def test_caps_classes_are_the_caps_vocabulary():
    assert CAPS == ["lower", "upper", "title", "mixed", "none"]
    for w in ["a", "AB", "Ab", "aB", "1", "A", "a1B"]:
        assert caps(w) in CAPS


# ------------------------------------------------------------------ shape
@pytest.mark.parametrize("word, expected", [
    ("Paris", "Xxxxx"),             # a run of 4 lower-case letters is kept
    ("Washington", "Xxxxx"),        # longer runs are cut to 4
    ("1996", "dddd"), ("123456", "dddd"),
    ("U.S.", "X.X."), ("McDonald", "XxXxxxx"), ("iPhone", "xXxxxx"),
    ("3:45", "d:dd"), ("----------", "----"), ("", ""),
])
def test_shape(word, expected):
    assert shape(word) == expected


def test_shape_is_at_most_20_characters():
    w = "a1" * 30
    assert shape(w) == ("xd" * 10)
    assert len(shape("A-b-C-d-E-f-G-h-I-j-K-l")) == 20


# ------------------------------------------------------------------ Vocab
def test_vocab_specials_first_and_unknowns():
    v = Vocab(["paris", "<unk>", "london", "<s>"])
    assert v.items == SPECIALS + ["paris", "london"]
    assert (v.get("<s>"), v.get("</s>"), v.get("<unk>")) == (START, END, UNK) == (0, 1, 2)
    assert v.get("paris") == 3 and v.get("london") == 4
    assert v.get("berlin") == UNK
    assert len(v) == 5
    assert len(Vocab([])) == 3


# ------------------------------------------------------------------ build / encode
SENTS = [["The", "cat", "sat", "in", "Paris"], ["the", "dog", "THE", "1996", "Paris"],
         ["A", "cat", "in", "1997"]]


def test_build_min_count_counts_normalised_forms():
    f1 = Featurizer.build(fcfg(min_count=1), SENTS)
    f2 = Featurizer.build(fcfg(min_count=2), SENTS)
    f3 = Featurizer.build(fcfg(min_count=3), SENTS)
    words1 = f1.features[0].vocab.items
    assert words1[:3] == SPECIALS
    assert set(words1[3:]) == {"the", "cat", "sat", "in", "paris", "dog", "0000", "a"}
    assert words1[3] == "the"  # most frequent first (the/The/THE: 3)
    # "0000" is 1996 + 1997: two tokens once normalised
    assert set(f2.features[0].vocab.items[3:]) == {"the", "cat", "in", "paris", "0000"}
    assert f3.features[0].vocab.items == SPECIALS + ["the"]
    assert f1.features[1].name == "caps"
    assert f1.features[1].vocab.items == SPECIALS + CAPS


def test_build_extra_words_appended_once():
    f = Featurizer.build(fcfg(min_count=2), SENTS, extra_words=["the", "berlin", "rome"])
    items = f.features[0].vocab.items
    assert items[-2:] == ["berlin", "rome"]
    assert items.count("the") == 1


def test_feature_order_with_affixes_and_shape():
    cfg = fcfg(prefix_lengths=[2, 1, 2], suffix_lengths=[3], shape_dim=3, affix_min_count=1)
    assert [n for n, _, _ in feature_keys(cfg)] == ["word", "caps", "prefix1", "prefix2",
                                                   "suffix3", "shape"]
    f = Featurizer.build(cfg, SENTS)
    ids = f.feature_ids(["Paris"])
    got = [f.features[j].vocab.items[ids[0, j]] for j in range(len(f.features))]
    assert got == ["paris", "title", "p", "pa", "ris", "Xxxxx"]


@pytest.mark.parametrize("lowercase,digits", [(True, True), (False, True), (True, False),
                                               (False, False)])
def test_type_ids_normalise_once_and_equal_each_key(lowercase, digits):
    """type_ids shares one normalised form per word among the word and affix keys: the
    ids are those of each feature's own key (digits, case, short words, a capital whose
    lower case is longer: İ)."""
    cfg = fcfg(lowercase=lowercase, digits_to_zero=digits, prefix_lengths=[1, 3],
               suffix_lengths=[2, 4], shape_dim=3, affix_min_count=1, min_count=1)
    words = ["Paris", "İstanbul", "B52s", "x", "", "1999", "ROME", "rome", "Ünïcode"]
    f = Featurizer.build(cfg, SENTS + [words])
    out = np.empty((len(words), f.word_columns), np.int32)
    f.type_ids(words, out)
    ref = [[ft.vocab.get(ft.key(w)) for ft in f.features] for w in words]
    assert out.tolist() == ref
    prefix3, suffix4 = (ft.key for ft in f.features if ft.name in ("prefix3", "suffix4"))
    assert prefix3("İstanbul") == "i̇s" and suffix4("B52s") == ("b00s" if digits else "b52s")
    assert f.features[0].key("ROME") == ("rome" if lowercase else "ROME")


def test_encode_same_word_same_ids_and_unknowns():
    f = Featurizer.build(fcfg(min_count=1, shape_dim=2), SENTS)
    words = ["Paris", "zebra", "Paris", "the", "Zebra", "McZebra", "THE"]
    ids = f.feature_ids(words)
    assert ids.shape == (7, 3) and ids.dtype == np.int32
    np.testing.assert_array_equal(ids[0], ids[2])
    word_v, caps_v, shape_v = (ft.vocab for ft in f.features)
    assert ids[1, 0] == UNK and ids[4, 0] == UNK and ids[5, 0] == UNK
    # unknown word but known caps class; the three spellings of "the" share the word id
    assert ids[4, 1] == caps_v.get("title") and ids[5, 1] == caps_v.get("mixed")
    assert ids[3, 0] == ids[6, 0] == word_v.get("the")
    assert ids[3, 1] == caps_v.get("lower") and ids[6, 1] == caps_v.get("upper")
    assert ids[0, 1] == CAPS.index("title") + 3
    assert ids[5, 2] == UNK  # shape XxXxxxx never seen in training
    assert f.feature_ids([]).shape == (0, 3)


def test_from_vocabs_round_trip():
    cfg = fcfg(suffix_lengths=[2], affix_min_count=1, shape_dim=2)
    f = Featurizer.build(cfg, SENTS)
    g = Featurizer.from_vocabs(cfg, f.vocabs())
    words = ["Paris", "dog", "unseen", "1999", "iPhone"]
    np.testing.assert_array_equal(f.feature_ids(words), g.feature_ids(words))


# ------------------------------------------------------------------ characters
def test_char_vocabulary_from_training_words_by_frequency():
    f = Featurizer.build(fcfg(char_dim=4), [["aab", "b"], ["b", "Ça"]])
    assert f.chars.vocab.items == SPECIALS + ["a", "b", "Ç"]  # 3×, 3× (seen later), 1×
    assert f.n_columns == 2 + f.chars.L and f.chars.L == 20 + 2
    assert Featurizer.build(fcfg(), SENTS).chars is None


def test_char_ids_padding_unknowns_and_long_words():
    cfg = fcfg(char_dim=4, char_width=5, char_max_len=6)
    f = Featurizer.build(cfg, [["Łódź", "北京", "e\u0301té", "abcdefghij"]])
    v = f.chars.vocab
    assert f.chars.pad == 2 and f.chars.L == 10
    ids = f.chars.ids(["Łódź", "北京x", "", "abcdefghij", "e\u0301"])
    assert ids.shape == (5, 10) and ids.dtype == np.int32
    assert ids[0].tolist() == [S, S] + [v.get(c) for c in "Łódź"] + [E] * 4
    assert ids[1].tolist() == [S, S, v.get("北"), v.get("京"), UNK] + [E] * 5
    assert ids[2].tolist() == [S, S] + [E] * 8
    # longer than char_max_len = 6: the first 3 and the last 3 characters
    assert ids[3].tolist() == [S, S] + [v.get(c) for c in "abchij"] + [E, E]
    assert ids[4].tolist()[2:4] == [v.get("e"), v.get("\u0301")]  # code points, as read


def test_char_ids_are_the_last_columns_and_windows_pad_them():
    f = Featurizer.build(fcfg(char_dim=4, char_max_len=3), SENTS)
    F, L = len(f.features), f.chars.L
    ids = f.feature_ids(["Paris", "the", "Paris"])
    assert ids.shape == (3, F + L)
    np.testing.assert_array_equal(ids[:, F:], f.chars.ids(["Paris", "the", "Paris"]))
    np.testing.assert_array_equal(ids[:, :F], Featurizer.build(fcfg(), SENTS).feature_ids(
        ["Paris", "the", "Paris"]))
    X = f.featurize([["Paris", "the"]])                   # window 1: a padding word each side
    assert X.shape == (2, 3, F + L)
    assert (X[0, 0, F:] == START).all() and (X[1, 2, F:] == END).all()
    np.testing.assert_array_equal(X[0, 1], ids[0])


def test_from_vocabs_round_trip_with_chars():
    cfg = fcfg(char_dim=3)
    f = Featurizer.build(cfg, SENTS)
    g = Featurizer.from_vocabs(cfg, f.vocabs(), f.chars.vocab.items)
    words = ["Paris", "dog", "Ünseen", "1999"]
    np.testing.assert_array_equal(f.feature_ids(words), g.feature_ids(words))
    with pytest.raises(KeyError):
        Featurizer.from_vocabs(cfg, f.vocabs())


# ------------------------------------------------------------------ windows
IDS = np.array([[10, 110], [11, 111], [12, 112], [20, 120], [21, 121]], dtype=np.int32)


def test_windows_w1_exact():
    X = bare(1).windows(IDS, np.array([3, 2]))
    expected_word = [[S, 10, 11], [10, 11, 12], [11, 12, E], [S, 20, 21], [20, 21, E]]
    expected_other = [[S, 110, 111], [110, 111, 112], [111, 112, E], [S, 120, 121],
                      [120, 121, E]]
    assert X.shape == (5, 3, 2)
    np.testing.assert_array_equal(X[:, :, 0], expected_word)
    np.testing.assert_array_equal(X[:, :, 1], expected_other)


def test_windows_w2_exact_no_leak_across_sentences():
    X = bare(2).windows(IDS, [3, 2])
    expected = [[S, S, 10, 11, 12], [S, 10, 11, 12, E], [10, 11, 12, E, E],
                [S, S, 20, 21, E], [S, 20, 21, E, E]]
    assert X.shape == (5, 5, 2)
    np.testing.assert_array_equal(X[:, :, 0], expected)
    np.testing.assert_array_equal(X[:, :, 1], np.where(np.array(expected) > 2,
                                                       np.array(expected) + 100, expected))


def test_windows_sentence_of_length_one():
    X = bare(2).windows(np.array([[7, 8]]), [1])
    np.testing.assert_array_equal(X[0, :, 0], [S, S, 7, E, E])
    np.testing.assert_array_equal(X[0, :, 1], [S, S, 8, E, E])
    X = bare(1).windows(np.array([[7], [9]]), [1, 1])
    np.testing.assert_array_equal(X[:, :, 0], [[S, 7, E], [S, 9, E]])


def test_windows_w0_is_the_token():
    X = bare(0).windows(IDS, [3, 2])
    np.testing.assert_array_equal(X[:, 0, :], IDS)


def test_windows_empty_sentence_between_does_not_shift():
    X = bare(1).windows(np.array([[5], [6], [7]]), [2, 0, 1])
    np.testing.assert_array_equal(X[:, :, 0], [[S, 5, 6], [5, 6, E], [S, 7, E]])


def test_windows_empty_list():
    X = bare(2).windows(np.zeros((0, 2), dtype=np.int32), np.zeros(0, dtype=np.int64))
    assert X.shape == (0, 5, 2)
    f = Featurizer.build(fcfg(window=2), SENTS)
    assert f.featurize([]).shape == (0, 5, 2)


def test_featurize_equals_encode_then_windows():
    f = Featurizer.build(fcfg(window=2), SENTS)
    sents = [["The", "cat"], ["Paris"], ["unseen", "word", "here", "A"]]
    X = f.featurize(sents)
    flat = [w for s in sents for w in s]
    np.testing.assert_array_equal(X, reference_windows(f.feature_ids(flat), [2, 1, 4], 2))
    assert X[2, 2, 0] == f.features[0].vocab.get("paris")


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(1, 7), min_size=1, max_size=6), w=st.integers(0, 4))
def test_windows_match_reference(lengths, w):
    N = sum(lengths)
    ids = (np.arange(N * 2, dtype=np.int32).reshape(N, 2) + 3)
    np.testing.assert_array_equal(bare(w).windows(ids, lengths), reference_windows(ids, lengths, w))


def test_windows_100k_token_sentence():
    N = 100_000
    ids = (np.arange(N, dtype=np.int32) + 3)[:, None]
    t0 = time.perf_counter()
    X = bare(2).windows(ids, [N])
    elapsed = time.perf_counter() - t0
    assert X.shape == (N, 5, 1)
    np.testing.assert_array_equal(X[0, :, 0], [S, S, 3, 4, 5])
    np.testing.assert_array_equal(X[1, :, 0], [S, 3, 4, 5, 6])
    np.testing.assert_array_equal(X[N - 1, :, 0], [N, N + 1, N + 2, E, E])  # last id: N-1+3
    middle = X[2:N - 2, :, 0]
    np.testing.assert_array_equal(middle - middle[:, 2:3], np.tile(np.arange(-2, 3), (N - 4, 1)))
    np.testing.assert_array_equal(middle[:, 2], np.arange(2, N - 2) + 3)
    assert elapsed < 2.0


@given(st.text(max_size=40) | st.text("aA1.-_ÄÉß٣Ⅻ²", max_size=40))
def test_shape_is_the_per_character_rule(word):
    """shape (an ASCII translation table, runs cut by one regex) equals the rule written
    out character by character."""
    import re

    out = "".join("d" if c.isdigit() else ("X" if c.isupper() else "x") if c.isalpha()
                  else c for c in word)
    want = re.sub(r"(.)\1{3,}", lambda m: m.group(1) * 4, out)[:20]
    assert shape(word) == want
