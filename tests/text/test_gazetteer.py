"""Name lists: the file, longest-match over token n-grams, BIOES codes per category, dropout."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest

from nertag.errors import NertagError
from nertag.text import gazetteer as gz
from nertag.text import gazetteer_file as gzf
from nertag.text.gazetteer import (B, CODES, E, I, O, S, Gazetteer, drop_matches, match_spans,
                                   read_lists, write_lists)


def toks(*entries: str) -> list[tuple[str, ...]]:
    return [tuple(e.split()) for e in entries]


def column(g: Gazetteer, sentence: str, category: str, lengths=None) -> list[str]:
    words = sentence.split()
    return [CODES[c] for c in g.codes(words, lengths)[:, g.categories.index(category)]]


def test_codes_are_bioes_ids():
    assert CODES == ("O", "B", "I", "E", "S") and (O, B, I, E, S) == (0, 1, 2, 3, 4)


def test_longest_match_wins():
    g = Gazetteer({"LOC": toks("New York", "New York City", "York")})
    assert column(g, "in New York City today", "LOC") == ["O", "B", "I", "E", "O"]
    assert column(g, "in New York today", "LOC") == ["O", "B", "E", "O"]
    assert column(g, "York and New Jersey", "LOC") == ["S", "O", "O", "O"]


def test_overlapping_and_nested_matches_exact_codes():
    """Each category is matched on its own; inside one, leftmost-longest."""
    g = Gazetteer({"LOC": toks("New York", "York"), "PER": toks("York", "New"),
                   "ORG": toks("York City Council", "City")})
    words = "New York City Council met".split()
    got = g.codes(words)
    assert g.categories == ["LOC", "ORG", "PER"]
    assert got.dtype == np.int8 and got.shape == (5, 3)
    assert got.tolist() == [[B, O, S],
                            [E, B, S],
                            [O, I, O],
                            [O, E, O],
                            [O, O, O]]


def test_leftmost_match_is_taken_then_the_scan_goes_on_after_it():
    g = Gazetteer({"LOC": toks("Rio Grande", "Grande Prairie City", "City")})
    assert column(g, "Rio Grande Prairie City", "LOC") == ["B", "E", "O", "S"]


def test_case_rule():
    g = Gazetteer({"LOC": toks("Paris", "Rio de Janeiro", "d'Ivoire"), "PER": toks("Mcdonald")})
    assert column(g, "Paris PARIS paris pARIS", "LOC") == ["S", "S", "O", "O"]
    assert column(g, "Rio De Janeiro RIO DE JANEIRO rio de janeiro", "LOC") == \
        ["B", "I", "E", "B", "I", "E", "O", "O", "O"]
    assert column(g, "D'Ivoire d'ivoire", "LOC") == ["S", "S"]  # the entry needs no capital
    assert column(g, "McDonald MCDONALD mcdonald", "PER") == ["S", "S", "O"]


def test_same_casefold_entries_need_capitals_only_where_all_have_them():
    g = Gazetteer({"LOC": toks("Rio De Janeiro", "Rio de Janeiro", "Bay", "bay")})
    assert column(g, "Rio de Janeiro", "LOC") == ["B", "I", "E"]
    assert column(g, "the bay", "LOC") == ["O", "S"]


def test_digits_and_punctuation_must_be_the_same():
    g = Gazetteer({"LOC": toks("St. Louis", "Route 66")})
    assert column(g, "St. Louis St Louis", "LOC") == ["B", "E", "O", "O"]
    assert column(g, "Route 66 Route 67", "LOC") == ["B", "E", "O", "O"]


def test_matches_stay_inside_a_sentence():
    g = Gazetteer({"LOC": toks("New York", "York")})
    words = "to New York . New York".split()
    col = g.codes(words, [2, 2, 2])[:, 0].tolist()
    assert col == [O, O, S, O, B, E]  # "New | York" crosses a boundary: only "York"
    with pytest.raises(ValueError, match="add up to 5, not to the 6 words"):
        g.codes(words, [2, 3])


def test_a_sentence_with_no_match_and_empty_input():
    g = Gazetteer({"LOC": toks("Paris"), "PER": toks("Smith")})
    assert g.codes("nothing to see here".split()).tolist() == [[O, O]] * 4
    assert g.codes([]).shape == (0, 2)
    assert Gazetteer({}).codes(["a"]).shape == (1, 0)


def reference(lists, words, lengths):
    """Leftmost-longest per category, in plain Python, for comparison."""
    cats = sorted(lists)
    out = np.zeros((len(words), len(cats)), np.int8)
    bounds = np.cumsum([0, *lengths])
    for c, cat in enumerate(cats):
        entries = {}
        for e in lists[cat]:
            key = tuple(t.casefold() for t in e)
            need = [gz.capitalised(t) for t in e]
            old = entries.get(key, need)
            entries[key] = [a and b for a, b in zip(old, need)]
        for s0, s1 in zip(bounds[:-1], bounds[1:]):
            i = s0
            while i < s1:
                best = 0
                for n in range(1, s1 - i + 1):
                    key = tuple(w.casefold() for w in words[i:i + n])
                    need = entries.get(key)
                    if need and all(gz.capitalised(w) or not r
                                    for w, r in zip(words[i:i + n], need)):
                        best = n
                if best == 1:
                    out[i, c] = S
                elif best:
                    out[i, c], out[i + best - 1, c] = B, E
                    out[i + 1:i + best - 1, c] = I
                i += max(best, 1)
    return out


def test_agrees_with_a_plain_python_reference_on_random_text():
    rng = np.random.default_rng(0)
    vocab = ["a", "A", "b", "B", "c", "İx", "ß", "SS", "東京"]
    for trial in range(300):
        lists = {}
        for cat in ("X", "Y"):
            lists[cat] = [tuple(rng.choice(vocab, size=rng.integers(1, 4)).tolist())
                          for _ in range(rng.integers(1, 6))]
        lengths = rng.integers(0, 9, size=rng.integers(1, 4)).tolist()
        words = rng.choice(vocab, size=sum(lengths)).tolist()
        got = Gazetteer(lists).codes(words, lengths)
        assert got.tolist() == reference(lists, words, lengths).tolist(), (lists, words, lengths)


def test_match_spans():
    col = np.array([S, O, B, I, E, B, E, O], np.int8)
    assert match_spans(col).tolist() == [[0, 1], [2, 5], [5, 7]]
    assert match_spans(np.zeros(3, np.int8)).shape == (0, 2)
    with pytest.raises(ValueError, match="malformed BIOES"):
        match_spans(np.array([B, I, O]))


def many_matches(n_sentences: int = 2000) -> tuple[Gazetteer, np.ndarray]:
    g = Gazetteer({"LOC": toks("Paris", "New York City"), "PER": toks("Paris", "Smith")})
    words = "Paris and New York City , said Smith".split() * n_sentences
    return g, g.codes(words, [8] * n_sentences)


def test_dropout_drops_whole_matches_at_the_expected_rate():
    g, codes = many_matches()
    p = 0.3
    dropped = drop_matches(codes, p, np.random.default_rng(1))
    assert codes.dtype == dropped.dtype and codes.shape == dropped.shape
    for c in range(codes.shape[1]):
        spans = match_spans(codes[:, c])
        kept = [bool((dropped[i:j, c] == codes[i:j, c]).all()) for i, j in spans]
        gone = [bool((dropped[i:j, c] == O).all()) for i, j in spans]
        assert all(k != g_ for k, g_ in zip(kept, gone))  # each match whole or not at all
        assert (dropped[:, c][codes[:, c] == O] == O).all()  # nothing new appears
        n, n_gone = len(spans), sum(gone)
        sd = math.sqrt(n * p * (1 - p))
        assert abs(n_gone - n * p) < 4 * sd, (n, n_gone)
    assert match_spans(dropped[:, 0]).shape[1] == 2  # still well-formed BIOES


def test_dropout_edge_cases_and_determinism():
    _, codes = many_matches(50)
    assert np.array_equal(drop_matches(codes, 0.0, np.random.default_rng(0)), codes)
    assert not drop_matches(codes, 1.0, np.random.default_rng(0)).any()
    one = drop_matches(codes, 0.5, np.random.default_rng(7))
    assert np.array_equal(one, drop_matches(codes, 0.5, np.random.default_rng(7)))
    assert not np.array_equal(one, drop_matches(codes, 0.5, np.random.default_rng(8)))
    assert codes.any()  # the input was not changed in place
    with pytest.raises(ValueError, match="between 0 and 1"):
        drop_matches(codes, 1.5, np.random.default_rng(0))


LISTS = {"PER-last": toks("Smith", "Mcdonald", "Smith"),
         "LOC-city": toks("São Paulo", "Rio de Janeiro", "İstanbul", "東京", "Straße"),
         "ORG-suffix": toks("Inc.", "Gmbh & co. kg")}


def test_file_round_trip(tmp_path):
    path = tmp_path / "lists.tsv.gz"
    size = write_lists(path, LISTS)
    assert size == path.stat().st_size
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == gz.FORMAT_LINE
    assert lines[1:] == ["LOC-city\tRio de Janeiro", "LOC-city\tStraße", "LOC-city\tSão Paulo",
                         "LOC-city\tİstanbul", "LOC-city\t東京", "ORG-suffix\tGmbh & co. kg",
                         "ORG-suffix\tInc.", "PER-last\tMcdonald", "PER-last\tSmith"]
    assert read_lists(path) == {c: sorted(set(v), key=" ".join) for c, v in LISTS.items()}
    first = path.read_bytes()
    write_lists(path, LISTS)
    assert path.read_bytes() == first  # no time stamp, no name: the same bytes
    words = "in São Paulo and İSTANBUL , Straße , STRASSE , 東京 , Acme GmbH & Co. KG".split()
    loaded = Gazetteer.load(path).codes(words)
    assert np.array_equal(loaded, Gazetteer(LISTS).codes(words))
    city = [CODES[c] for c in loaded[:, 0]]
    assert city == ["O", "B", "E", "O", "S", "O", "S", "O", "S", "O", "S", "O", "O", "O", "O",
                    "O", "O"]
    assert [CODES[c] for c in loaded[-4:, 1]] == ["B", "I", "I", "E"]


def test_fast_and_line_by_line_parsing_agree():
    text = gzf.lists_text(LISTS)
    fast, slow = gzf.parse_text(text, "x"), gzf.parse_lines_flat(text, "x")
    assert fast[0] == slow[0] and fast[3] == slow[3]
    for a, b in zip(fast[1:], slow[1:]):
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("content,message", [
    (b"not gzip", "not a gzip file"),
    (gzip.compress(b"\xff\xfe"), "not UTF-8"),
    (gzip.compress(b"# c\nLOC\tParis\nLOC Paris\n"), "line 3: expected CATEGORY<TAB>tokens"),
    (gzip.compress(b"LOC\tNew  York\n"), "line 1: expected"),
    (gzip.compress(b"LOC\tParis\tFrance\n"), "line 1: expected"),
])
def test_bad_files_name_the_file_line_and_what_to_do(tmp_path, content, message):
    path = tmp_path / "bad.tsv.gz"
    path.write_bytes(content)
    with pytest.raises(NertagError, match=message) as e:
        Gazetteer.load(path)
    assert str(path) in str(e.value) and "build_gazetteers" in str(e.value)


def test_missing_file_and_bad_lists(tmp_path):
    with pytest.raises(NertagError, match="no such name-list file; rebuild it"):
        read_lists(tmp_path / "none.tsv.gz")
    with pytest.raises(ValueError, match="without whitespace"):
        Gazetteer({"LOC": [("New York",)]})
    with pytest.raises(ValueError, match="category name"):
        write_lists(tmp_path / "x.gz", {"bad name": toks("Paris")})
    assert not (tmp_path / "x.gz").exists()


def test_sorted_unique_is_np_unique():
    rng = np.random.default_rng(4)
    for a in (np.zeros(0, np.uint64), np.array([7], np.uint64),
              rng.integers(0, 50, 1000).astype(np.uint64),
              rng.integers(0, 2 ** 63, 500, dtype=np.int64).astype(np.uint64),
              rng.integers(1, 9, 300)):
        out = gz._sorted_unique(a)
        assert out.dtype == a.dtype and np.array_equal(out, np.unique(a))


def test_token_numbers_are_first_positions_and_one_per_casefolded_form():
    """Each distinct casefolded entry token has one number (its first position + 1); the
    lookup tables cover the largest, and words are looked up case-insensitively."""
    g = Gazetteer({"LOC": toks("New York", "York", "new haven"), "PER": toks("Haven")})
    assert sorted(g.vocab) == ["haven", "new", "york"] and len(set(g.vocab.values())) == 3
    assert min(g.vocab.values()) == 1 and max(g.vocab.values()) <= 6  # 6 entry tokens
    assert g.at.shape[1] == g.single.shape[1] == max(g.vocab.values()) + 1
    ids, caps = g._token_ids(["NEW", "york", "Haven", "Paris"])
    assert ids.tolist() == [g.vocab["new"], g.vocab["york"], g.vocab["haven"], 0]
    assert caps.tolist() == [1, 0, 1, 1]
    codes = g.codes(["NEW", "YORK", "New", "Haven", "new", "haven"], [2, 2, 2])
    assert codes[:, g.categories.index("LOC")].tolist() == [B, E, B, E, B, E]
    assert codes[:, g.categories.index("PER")].tolist() == [O, O, O, S, O, O]


def same_tables(a: Gazetteer, b: Gazetteer) -> bool:
    """Every lookup structure of two Gazetteers equal (value and dtype)."""
    eq = lambda x, y: x.dtype == y.dtype and np.array_equal(x, y)  # noqa: E731
    return (a.categories == b.categories and list(a.vocab.items()) == list(b.vocab.items())
            and a.max_len == b.max_len and eq(a.powers, b.powers) and eq(a.at, b.at)
            and eq(a.single, b.single)
            and all(eq(p, q) for p, q in zip(a.prefixes, b.prefixes, strict=True))
            and all(ta.keys() == tb.keys() and all(
                eq(ta[n].hashes, tb[n].hashes) and eq(ta[n].ids, tb[n].ids)
                and eq(ta[n].need, tb[n].need) for n in ta)
                for ta, tb in zip(a.tables, b.tables, strict=True)))


@pytest.mark.parametrize("lists", [LISTS, {"LOC": []}, {"LOC": toks("Paris")}])
def test_the_index_rebuilds_the_same_tables_without_parsing(lists, monkeypatch):
    g = Gazetteer(lists)
    arrays = {k: np.array(v) for k, v in g.index_arrays().items()}  # (as np.load gives)
    monkeypatch.setattr(gz, "parse_text", None)  # the index must not need the text
    again = Gazetteer.from_index(arrays, g.file_bytes, "x.tsv.gz")
    assert again is not None and same_tables(again, g) and again.file_bytes == g.file_bytes
    words = "in São Paulo and İSTANBUL , Acme GmbH & Co. KG met Smith in Paris".split()
    assert np.array_equal(again.codes(words), g.codes(words))
    assert str(again.source) == "x.tsv.gz"


def test_an_index_of_other_bytes_or_damaged_is_not_used():
    g = Gazetteer(LISTS)
    arrays = g.index_arrays()
    other = Gazetteer({"LOC": toks("Paris")}).file_bytes
    assert Gazetteer.from_index(arrays, other) is None  # another file's index
    assert Gazetteer.from_index({k: v for k, v in arrays.items() if k != "ids"},
                                g.file_bytes) is None
    bad = dict(arrays, words=np.frombuffer(b"\xff\xfe", np.uint8))
    assert Gazetteer.from_index(bad, g.file_bytes) is None
