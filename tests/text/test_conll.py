"""Bad data files: every one is a one-line ``error:`` naming the file (and line), exit 1.

The same file is given to every command that reads it (train --train, train --dev,
evaluate, tag, tag --tokenized). Hypothesis checks that the CoNLL reader never
fails with anything but :class:`~nertag.errors.NertagError`, whatever the bytes.
"""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nertag.text.conll import MAX_LINE_BYTES, iter_words, read_conll
from nertag.errors import NertagError

GOOD = "EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n\n"

# name -> (file content or None for "does not exist", fragments of the message after the
#          file name; "{f}" is the file's path)
BAD_FILES = {
    "missing": (None, ["{f}: ", "not found", "check the path"]),
    "directory": ("<dir>", ["{f}: is a directory", "give the path"]),
    "empty": (b"", ["{f}: file is empty"]),
    "blank-lines-only": (b"\n  \n\t\n", ["{f}: file is empty"]),
    "binary": (b"EU B-ORG\n\x89PNG\x00\x01\x02\n", ["{f}:2: binary data"]),
    "not-utf8": ("EU B-ORG\ncaf\u00e9 O\n".encode("latin-1"),
                 ["{f}:2: not valid utf-8 text", "--encoding latin-1"]),
    "10MB-line": (b"EU B-ORG\n" + b"w" * (10 << 20) + b" O\n",
                  ["{f}:2: line longer than 1 MB", "one token per line"]),
}

# CoNLL-only problems (raw-text tagging reads any text)
BAD_CONLL = {
    "one-column": ("EU B-ORG\nrejects\n", ["{f}:2: only one column ('rejects')",
                                            "expected 'word ... tag'"]),
    "bad-tag": ("EU B-ORG\n\nrejects Q-XX\n", ["{f}:3: invalid tag 'Q-XX'",
                                                "expected O, B-X, I-X, E-X or S-X"]),
    "lowercase-tag": ("EU b-org\n", ["{f}:1: invalid tag 'b-org'"]),
    "tag-without-type": ("EU B-\n", ["{f}:1: invalid tag 'B-'"]),
}


def _make(tmp_path, name, content):
    p = tmp_path / f"{name}.conll"
    if content == "<dir>":
        p.mkdir()
    elif content is not None:
        p.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return p


def _frags(frags, p):
    return [f.format(f=p) for f in frags]


# ----------------------------------------------------------------------------- reader
@pytest.mark.parametrize("name", list(BAD_FILES) + list(BAD_CONLL))
def test_reader_raises_nertag_error_naming_the_file(tmp_path, name):
    content, frags = {**BAD_FILES, **BAD_CONLL}[name]
    p = _make(tmp_path, name, content)
    with pytest.raises(NertagError) as ei:
        read_conll(p)
    for frag in _frags(frags, p):
        assert frag in ei.value.message
    assert "\n" not in ei.value.message
    assert ei.value.exit_code == 1


def test_unreadable_file(unreadable, cli, expect_error, small_model, tmp_path):
    p = unreadable()
    with pytest.raises(NertagError, match="permission denied"):
        read_conll(p)
    expect_error(cli("evaluate", small_model, p), 1, f"{p}: permission denied",
                 "check the file's permissions")
    expect_error(cli("tag", "-m", small_model, p), 1, f"{p}: permission denied")
    expect_error(cli("train", "--train", p, "-o", tmp_path / "out", "-q"), 1,
                 f"{p}: permission denied")


def test_bioes_tag_in_a_bio_file(tmp_path, cli, expect_error, small_model):
    p = _make(tmp_path, "bio", "EU B-ORG\nrejects E-ORG\n")
    assert read_conll(p).scheme == "bioes"  # auto: a valid BIOES file
    expect_error(cli("evaluate", small_model, p, "--tag-scheme", "bio"), 1,
                 f"{p}:2: invalid tag 'E-ORG'", "expected O, B-X or I-X (scheme bio)")


def test_unknown_encoding(tmp_path, cli, expect_error, small_model):
    p = _make(tmp_path, "ok", GOOD)
    expect_error(cli("evaluate", small_model, p, "--encoding", "klingon"), 2,
                 "unknown encoding 'klingon'", "latin-1")
    expect_error(cli("tag", "-m", small_model, p, "--encoding", "klingon"), 2,
                 "--encoding", "'klingon'")


def test_latin1_file_reads_with_the_suggested_encoding(tmp_path, cli, small_model):
    p = _make(tmp_path, "latin", "Caf\u00e9 B-LOC\nopens O\n".encode("latin-1"))
    assert read_conll(p, "latin-1").sentences[0].words == ["Caf\u00e9", "opens"]
    r = cli("evaluate", small_model, p, "--encoding", "latin-1", "--json")
    assert r.exit_code == 0, r.stderr


# ----------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("name", list(BAD_FILES) + list(BAD_CONLL))
def test_train_and_evaluate_report_bad_files(tmp_path, cli, expect_error, small_model, name):
    content, frags = {**BAD_FILES, **BAD_CONLL}[name]
    p = _make(tmp_path, name, content)
    out = tmp_path / "out"
    expect_error(cli("train", "--train", p, "-o", out, "-q"), 1, *_frags(frags, p))
    assert not out.exists()
    expect_error(cli("train", "--dev", p, "-o", out, "-q", "--set", "train.epochs=1"), 1,
                 *_frags(frags, p))
    assert not out.exists()
    expect_error(cli("evaluate", small_model, p), 1, *_frags(frags, p))


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_tag_reports_bad_files(tmp_path, cli, expect_error, small_model, name):
    content, frags = BAD_FILES[name]
    p = _make(tmp_path, name, content)
    if name in ("empty", "blank-lines-only"):  # nothing to tag: a warning, no error
        for tokenized in ([], ["--tokenized"]):
            r = cli("tag", "-m", small_model, *tokenized, p, "-f", "jsonl")
            assert (r.exit_code, r.stdout) == (0, "") and "nothing to tag" in r.stderr
        return
    if name != "10MB-line":  # raw text: a long line is a paragraph
        expect_error(cli("tag", "-m", small_model, p), 1, *_frags(frags, p))
    expect_error(cli("tag", "-m", small_model, "--tokenized", p), 1, *_frags(frags, p))


def test_training_file_without_entities_is_a_warning(tmp_path, cli):
    p = _make(tmp_path, "noent", "a O\nb O\n\nc O\n")
    out = tmp_path / "out"
    r = cli("train", "--train", p, "-o", out, "-q", "--set", "train.epochs=1",
            "--set", "model.hidden=5")
    assert r.exit_code == 0, r.stderr
    assert "warning:" in r.stderr and "no entities" in r.stderr and str(p) in r.stderr
    assert "error:" not in r.stderr and "Traceback" not in r.output
    assert (out / "manifest.json").is_file()


def test_sentence_of_100000_tokens_is_handled(tmp_path, cli, small_model):
    n = 100_000
    p = tmp_path / "long.conll"
    p.write_text("".join(f"w{i % 97} {'B-PER' if i % 11 == 0 else 'O'}\n" for i in range(n)))
    corpus = read_conll(p)
    assert len(corpus.sentences) == 1 and corpus.n_tokens == n
    # greedy: the Viterbi decoders handle it too, at ~25 us a token (a Python loop over t)
    r = cli("evaluate", small_model, p, "--json", "--decoder", "greedy")
    assert r.exit_code == 0, r.stderr
    assert str(n) in r.stdout


def test_line_limit_is_exact(tmp_path):
    ok = tmp_path / "ok.conll"
    ok.write_bytes(b"w" * (MAX_LINE_BYTES - 3) + b" O\n")  # exactly MAX_LINE_BYTES
    assert len(read_conll(ok).sentences) == 1
    bad = tmp_path / "bad.conll"
    bad.write_bytes(b"w" * (MAX_LINE_BYTES - 2) + b" O\n")
    with pytest.raises(NertagError, match="longer than"):
        read_conll(bad)


# ----------------------------------------------------------------------------- IO labels
def test_stanford_io_file_is_read_as_io(tmp_path):
    p = _make(tmp_path, "stanford", "Rail\tORGANIZATION\nWorld\tORGANIZATION\nin\tO\n"
                                    "Paris\tLOCATION\nNew\tLOCATION\nYork\tLOCATION\n\n"
                                    "John\tPERSON\n")
    c = read_conll(p)
    assert c.scheme == "io"
    assert [s.tags for s in c.sentences] == [
        ["B-ORGANIZATION", "I-ORGANIZATION", "O", "B-LOCATION", "I-LOCATION", "I-LOCATION"],
        ["B-PERSON"]]
    assert c.entity_types() == ["LOCATION", "ORGANIZATION", "PERSON"]
    assert read_conll(p, scheme="io").sentences[0].tags == c.sentences[0].tags


def test_declared_io_takes_any_label_and_i_prefixes(tmp_path):
    p = _make(tmp_path, "io", "Acme I-ORG\nCorp I-ORG\nsold O\nwidgets product\n")
    assert read_conll(p, scheme="io").sentences[0].tags == ["B-ORG", "I-ORG", "O", "B-product"]
    with pytest.raises(NertagError, match=r":4: invalid tag 'product'; expected O, B-X, I-X, "
                                          r"E-X or S-X or IO labels such as PERSON"):
        read_conll(p)  # auto: a lowercase word is no label
    only_i = _make(tmp_path, "only-i", "Acme I-ORG\nCorp I-ORG\nsold O\n")
    assert read_conll(only_i).scheme == "iob1"  # auto: I- tags are IOB1 (the same entities)
    bad = _make(tmp_path, "io-b", "Acme B-ORG\n")
    with pytest.raises(NertagError, match=r":1: invalid tag 'B-ORG'; expected O or a label"):
        read_conll(bad, scheme="io")


def test_a_file_mixing_prefixed_tags_and_io_labels_is_refused(tmp_path, cli, expect_error,
                                                              small_model):
    p = _make(tmp_path, "mixed", "EU B-ORG\nrejects O\n\nParis LOCATION\n")
    with pytest.raises(NertagError) as ei:
        read_conll(p)
    msg = ei.value.message
    assert msg.startswith(f"{p}:4: tag 'LOCATION' mixes schemes with 'B-ORG' (line 1)")
    assert "not both" in msg
    p2 = _make(tmp_path, "mixed2", "Paris LOCATION\n\nEU B-ORG\n")
    with pytest.raises(NertagError, match=r":3: tag 'B-ORG' mixes schemes with 'LOCATION'"):
        read_conll(p2)
    expect_error(cli("evaluate", small_model, p), 1, f"{p}:4: tag 'LOCATION' mixes schemes")


def test_auto_detection_does_not_take_plain_text_for_io(tmp_path):
    # the last word of a line of text is not a label: lowercase, punctuation, one letter
    for line, tag in (("The cat sat on the mat.", "mat."), ("He saw it", "it"),
                      ("Bob met Ann", "Ann"), ("we met I", "I")):
        p = _make(tmp_path, "text", line + "\n")
        with pytest.raises(NertagError, match=f"invalid tag {tag!r}"):
            read_conll(p)


# ----------------------------------------------------------------------------- hypothesis
_DIR = tempfile.mkdtemp(prefix="nertag-fuzz-")
_SCHEMES = st.sampled_from(["auto", "iob1", "bio", "bioes", "io"])


def _fuzz_file(data: bytes) -> str:
    path = os.path.join(_DIR, "fuzz.conll")
    with open(path, "wb") as f:
        f.write(data)
    return path


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=400), scheme=_SCHEMES,
       encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_reader_on_arbitrary_bytes(data, scheme, encoding):
    path = _fuzz_file(data)
    for read in (lambda: read_conll(path, encoding, scheme),
                 lambda: list(iter_words(path, encoding))):
        try:
            read()
        except NertagError as e:
            assert e.message and "\n" not in e.message


_WORDS = st.sampled_from(["EU", "-DOCSTART-", "x", "\u00e9t\u00e9", "a\tb", "", " ", "#"])
_TAGS = st.sampled_from(["O", "B-PER", "I-PER", "E-PER", "S-PER", "I-ORG", "B-", "I-",
                         "B-X-Y", "b-per", "O-X", "E-", "S-", "U-LOC", "L-LOC", "-",
                         "PERSON", "LOCATION", "person"])
_LINES = st.lists(st.one_of(st.just(""), st.tuples(_WORDS, _TAGS).map(" ".join),
                            st.text(max_size=12)), max_size=40)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=_LINES, scheme=_SCHEMES)
def test_reader_on_arbitrary_conll_like_lines(lines, scheme):
    path = _fuzz_file("\n".join(lines).encode("utf-8", "surrogatepass"))
    try:
        corpus = read_conll(path, "utf-8", scheme)
    except NertagError as e:
        assert e.message and "\n" not in e.message
        return
    for s in corpus.sentences:  # whatever was accepted is consistent BIO
        assert len(s.words) == len(s.tags) > 0
        assert all(t == "O" or t[:2] in ("B-", "I-") for t in s.tags)


# ----------------------------------------------------------------------------- line ends, BOM
_TWO = [(["Paris", "is"], ["B-LOC", "O"]), (["Bob"], ["B-PER"])]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_line_ends_and_a_byte_order_mark_read_the_same(tmp_path, eol, bom):
    p = tmp_path / "eol.conll"
    p.write_bytes(bom + "Paris\tB-LOC\nis\tO\n\nBob\tB-PER\n".replace("\n", eol).encode())
    c = read_conll(p)
    assert [(s.words, s.tags) for s in c.sentences] == _TWO
    assert [s.line for s in c.sentences] == [1, 4]
    assert [s.words for s in iter_words(p)] == [["Paris", "is"], ["Bob"]]


def test_a_byte_order_mark_alone_is_an_empty_file(tmp_path):
    p = tmp_path / "bom.conll"
    p.write_bytes(b"\xef\xbb\xbf\n")
    with pytest.raises(NertagError, match=f"^{p}: file is empty"):
        read_conll(p)


def test_crlf_and_lf_may_mix(tmp_path):
    p = tmp_path / "mixed.conll"
    p.write_bytes(b"Paris\tB-LOC\r\nis\tO\n\nBob\tB-PER\r\n")
    assert [(s.words, s.tags) for s in read_conll(p).sentences] == _TWO


@pytest.mark.parametrize("content,cr,lf", [
    (b"Paris\tB-LOC\nis\tO\r\rBob\tB-PER\n", 2, 1),       # LF, then CR alone
    (b"Paris\tB-LOC\ris\tO\r\nBob\tB-PER\r\n", 1, 2),     # CR alone, then CRLF
    (b"Paris\tB-LOC\r\r\nis\tO\r\r\n", 1, 2),             # a file converted twice
])
def test_lone_cr_mixed_with_lf_is_refused(tmp_path, content, cr, lf):
    """A blank line ends a sentence: where CR alone meets LF, nertag cannot tell which
    line ends are meant, so it asks instead of guessing (\\r\\r\\n would cut every
    token into a sentence of its own)."""
    p = tmp_path / "mixed.conll"
    p.write_bytes(content)
    for read in (lambda: read_conll(p), lambda: list(iter_words(p))):
        with pytest.raises(NertagError) as ei:
            read()
        msg = ei.value.message
        assert msg.startswith(f"{p}:{cr}: lines end in CR alone (old Mac) and in LF (line "
                              f"{lf}); ")
        assert "give the file one kind of line end" in msg and "\n" not in msg


# ----------------------------------------------------------------------------- entity types
@pytest.mark.parametrize("tag,scheme,frag", [
    ("B-O", "auto", "tag 'B-O' has the entity type 'O': O means outside any entity"),
    ("S-O", "bioes", "tag 'S-O' has the entity type 'O'"),
    ("I-O", "io", "tag 'I-O' has the entity type 'O'"),
    ("B-B-PER", "auto", "tag 'B-B-PER' has the entity type 'B-PER': it looks like a tag (a "
                        "letter then '-'); give the entity type alone, e.g. 'PER'"),
    ("I-I-x", "bio", "tag 'I-I-x' has the entity type 'I-x': it looks like a tag"),
    ("B-P\x01ER", "auto", "has the entity type 'P\\x01ER': an entity type cannot hold the "
                          "control character U+0001"),
    ("P\x7fER", "io", "an entity type cannot hold the control character U+007F"),
])
def test_an_entity_type_that_no_format_can_keep_is_refused(tmp_path, tag, scheme, frag):
    p = tmp_path / "types.conll"
    p.write_text(f"Paris\tO\nBob\t{tag}\n", encoding="utf-8")
    with pytest.raises(NertagError) as ei:
        read_conll(p, scheme=scheme)
    assert ei.value.message.startswith(f"{p}:2: ")
    assert frag in ei.value.message
