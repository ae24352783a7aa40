"""Tests for nertag.text.vectors: GloVe / word2vec text, plain and gzipped."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from nertag.text.vectors import Vectors, load_vectors
from nertag.errors import NertagError
from nertag.text.features import UNK, Vocab

GLOVE = Path(__file__).resolve().parents[2].parent / "shared/vectors/glove.6B.50d.txt.gz"

ROWS = [("the", [0.1, -0.2, 0.3]), ("The", [9.0, 9.0, 9.0]), (",", [1.5, 2.5e-3, -3.0]),
        ("Paris", [0.25, 0.5, 0.75]), ("1996", [-1.0, 0.0, 1.0]), ("naïve", [3.0, 2.0, 1.0])]
MATRIX = np.array([v for _, v in ROWS], dtype=np.float32)
WORDS = [w for w, _ in ROWS]


def text(header: bool = False, crlf: bool = False) -> str:
    nl = "\r\n" if crlf else "\n"
    lines = [f"{len(ROWS)} 3"] if header else []
    lines += [w + " " + " ".join(repr(x) for x in v) for w, v in ROWS]
    return nl.join(lines) + nl


def write(path: Path, content: str) -> Path:
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
            f.write(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


@pytest.mark.parametrize("name", ["v.txt", "v.txt.gz"])
@pytest.mark.parametrize("header", [False, True])
def test_load_plain_and_gz_with_and_without_header(tmp_path, name, header):
    v = load_vectors(write(tmp_path / name, text(header)))
    assert v.words == WORDS
    assert v.matrix.dtype == np.float32 and v.matrix.shape == (6, 3)
    np.testing.assert_array_equal(v.matrix, MATRIX)


def test_crlf_line_endings(tmp_path):
    v = load_vectors(write(tmp_path / "v.txt", text(crlf=True)))
    assert v.words == WORDS
    np.testing.assert_array_equal(v.matrix, MATRIX)


@pytest.mark.parametrize("name", ["v.txt", "v.txt.gz"])
@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("nl", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_any_line_end_and_a_byte_order_mark(tmp_path, name, header, nl, bom):
    """CR alone (old Mac exports) ends a line as LF does, and a UTF-8 byte-order mark
    (Windows editors) is not part of the first word, nor of a word2vec header."""
    content = bom + text(header).replace("\n", nl)
    p = write(tmp_path / name, content)
    assert p.read_bytes().startswith(b"\xef\xbb\xbf") == bool(bom) or name.endswith(".gz")
    v = load_vectors(p)
    assert v.words == WORDS
    np.testing.assert_array_equal(v.matrix, MATRIX)
    assert load_vectors(p, max_words=2).words == WORDS[:2]


@pytest.mark.parametrize("header", [False, True])
def test_max_words_keeps_the_first_n(tmp_path, header):
    p = write(tmp_path / "v.txt.gz", text(header))
    v = load_vectors(p, max_words=2)
    assert v.words == WORDS[:2]
    np.testing.assert_array_equal(v.matrix, MATRIX[:2])
    assert load_vectors(p, max_words=100).words == WORDS


def test_rows_of_different_sizes_are_an_error(tmp_path):
    p = write(tmp_path / "v.txt", "a 1 2 3\nb 1 2 3\nc 1 2\n")
    with pytest.raises(NertagError, match="3 numbers"):
        load_vectors(p)


def test_non_number_and_missing_and_empty_files(tmp_path):
    with pytest.raises(NertagError, match="non-number"):
        load_vectors(write(tmp_path / "bad.txt", "a 1 2\nb 1 x\n"))
    with pytest.raises(NertagError, match="not found"):
        load_vectors(tmp_path / "nope.txt")
    with pytest.raises(NertagError, match="no vectors"):
        load_vectors(write(tmp_path / "empty.txt", ""))
    (tmp_path / "broken.txt.gz").write_bytes(b"not gzip at all")
    with pytest.raises(NertagError, match="cannot read"):
        load_vectors(tmp_path / "broken.txt.gz")


def test_copy_into_dimension_mismatch(tmp_path):
    v = load_vectors(write(tmp_path / "v.txt", text()))
    table = np.zeros((5, 4), dtype=np.float32)
    with pytest.raises(NertagError, match="word_dim") as e:
        v.copy_into(table, Vocab(["the"]))
    assert e.value.exit_code == 2
    assert not table.any()


def test_copy_into_looks_up_normalised_words(tmp_path):
    v = load_vectors(write(tmp_path / "v.txt", text()))
    vocab = Vocab(["the", "paris", "0000", "london", ",", "naïve"])  # as the featurizer stores them
    table = np.full((len(vocab), 3), 7.0, dtype=np.float32)
    n = v.copy_into(table, vocab, scale=2.0)
    assert n == 5
    np.testing.assert_array_equal(table[vocab.get("the")], 2 * MATRIX[0])   # first "the" wins
    np.testing.assert_array_equal(table[vocab.get("paris")], 2 * MATRIX[3])  # from "Paris"
    np.testing.assert_array_equal(table[vocab.get("0000")], 2 * MATRIX[4])   # from "1996"
    np.testing.assert_array_equal(table[vocab.get(",")], 2 * MATRIX[2])
    np.testing.assert_array_equal(table[vocab.get("naïve")], 2 * MATRIX[5])
    np.testing.assert_array_equal(table[vocab.get("london")], [7, 7, 7])     # no vector: kept
    np.testing.assert_array_equal(table[UNK], [7, 7, 7])


def test_copy_into_with_nothing_in_common():
    v = Vectors(["zzz"], np.ones((1, 2), np.float32))
    table = np.zeros((4, 2), np.float32)
    assert v.copy_into(table, Vocab(["abc"])) == 0
    assert not table.any()


def test_one_dimensional_vectors_keep_their_first_row(tmp_path):
    v = load_vectors(write(tmp_path / "v.txt", "a 0.5\nb 0.25\n"))
    assert v.words == ["a", "b"]


def test_ragged_rows_that_add_up_are_an_error(tmp_path):
    p = write(tmp_path / "v.txt", "a 1 2 3\nb 1 2\nc 1 2 3 4\n")
    with pytest.raises(NertagError):
        load_vectors(p)


@pytest.mark.skipif(not GLOVE.is_file(), reason=f"{GLOVE} not present")
def test_real_glove_first_thousand():
    v = load_vectors(GLOVE, max_words=1000)
    assert v.matrix.shape == (1000, 50) and v.matrix.dtype == np.float32
    assert len(v.words) == 1000 and len(set(v.words)) == 1000
    assert v.words[0] == "the" and v.words[1] == ","
    assert np.isfinite(v.matrix).all() and np.abs(v.matrix).max() < 20
    assert all(w == w.lower() for w in v.words)
