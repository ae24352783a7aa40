"""nertag.text.datasets: format detection, read_corpus over every format, and convert
round trips (every format back to the same BIO sentences; on CoNLL-2003 when
../shared is there)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nertag.errors import NertagError
from nertag.resources import sample_dev
from nertag.text.conll import read_conll
from nertag.text.datasets import (FORMATS, INPUT_FORMATS, convert, detect_format,
                                  output_format, read_corpus)

VALID = Path(__file__).resolve().parents[2].parent / "shared/data/conll2003/valid.txt"


def same(a, b) -> bool:
    return [(s.words, s.tags) for s in a.sentences] == [(s.words, s.tags) for s in b.sentences]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips_the_sample(tmp_path, fmt):
    out = tmp_path / "out.data"
    done = convert(sample_dev(), out, to=fmt)
    assert (done.source_format, done.target_format) == ("conll", fmt)
    assert (done.sentences, done.entities, done.notes) == (120, 245, [])
    back = read_corpus(out)  # auto-detected
    assert back.format == (fmt if fmt in ("jsonl", "doccano", "prodigy") else "conll")
    assert back.scheme == {"conll-bioes": "bioes", "conll-iob1": "iob1", "io": "io"}.get(fmt, "bio")
    assert same(back, read_conll(sample_dev()))
    assert read_corpus(out, fmt).sentences[5].tags == back.sentences[5].tags  # named, not detected
    # and on to every other format and back, without loss
    for other in FORMATS:
        again = tmp_path / f"again-{other}"
        convert(out, again, to=other)
        assert same(read_corpus(again), back), (fmt, other)


def test_detection(tmp_path):
    def detect(content: str) -> str:
        p = tmp_path / "d"
        p.write_text(content, encoding="utf-8")
        return detect_format(p)

    assert detect("EU B-ORG\n") == "conll"
    assert detect("\n\n-DOCSTART- O\n\nRail\tORGANIZATION\n") == "conll"
    assert detect("{ O\n} O\n") == "conll"          # CoNLL tokens that are braces
    assert detect("[ O\n") == "conll"
    assert detect('{"text": "a", "label": [[0, 1, "X"]]}\n') == "doccano"
    assert detect('{"text": "a", "spans": []}\n') == "prodigy"
    assert detect('{"text": "a", "start": 0, "tokens": [], "entities": []}\n') == "jsonl"
    # records that do not say come first: the first one that does decides
    assert detect('{"text": "a", "entities": []}\n' * 3 + '{"text": "a", "spans": []}\n') \
        == "prodigy"
    assert detect('{"text": "a", "entities": []}\n') == "jsonl"  # same result either way
    assert detect('\ufeff{"text": "a", "label": []}\n') == "doccano"
    assert detect('{"text": broken\n') == "jsonl"  # the reader then names the line


def test_cannot_tell_names_what_it_saw_and_what_it_accepts(tmp_path, cli, expect_error,
                                                           small_model):
    p = tmp_path / "odd.jsonl"
    p.write_text('{"id": 1, "sentence": "Bob", "ner": ["PER"]}\n', encoding="utf-8")
    with pytest.raises(NertagError) as ei:
        read_corpus(p)
    msg = ei.value.message
    assert msg.startswith(f'{p}:1: cannot tell the format: JSON objects with the keys "id", '
                          f'"sentence", "ner" and no entities; nertag reads CoNLL columns')
    assert "doccano" in msg and "Prodigy" in msg and "--format" in msg
    expect_error(cli("evaluate", small_model, p), 1, f"{p}:1: cannot tell the format")
    arr = tmp_path / "array.json"
    arr.write_text('[{"text": "Bob", "label": [[0, 3, "PER"]]}]\n', encoding="utf-8")
    with pytest.raises(NertagError, match=r"array.json:1: a JSON array; nertag reads JSON Lines"):
        read_corpus(arr)


def test_read_corpus_checks_its_arguments(tmp_path):
    with pytest.raises(NertagError, match="unknown data format 'xml'") as ei:
        read_corpus(sample_dev(), "xml")
    assert ei.value.exit_code == 2
    assert INPUT_FORMATS == ("auto",) + FORMATS
    # a format named by the caller is trusted: CoNLL read as doccano is bad JSON
    with pytest.raises(NertagError, match=r"dev.conll:1: not valid JSON"):
        read_corpus(sample_dev(), "doccano")


def test_io_format_name_reads_io(tmp_path):
    p = tmp_path / "io.tsv"
    p.write_text("acme\tcompany\nsold\tO\n", encoding="utf-8")
    with pytest.raises(NertagError, match="invalid tag 'company'"):
        read_corpus(p)  # lowercase labels are not detected ...
    assert read_corpus(p, "io").sentences[0].tags == ["B-company", "O"]  # ... but may be named


def test_output_format_by_extension(tmp_path):
    assert [output_format(n) for n in ("a.conll", "a.BIO", "a.txt", "a.bioes", "a.iob1",
                                       "a.tsv", "a.jsonl")] == \
        ["conll", "conll", "conll", "conll-bioes", "conll-iob1", "io", "jsonl"]
    with pytest.raises(NertagError, match=r"cannot tell the output format from the name "
                                          r"'a.xml'; give --to"):
        output_format("a.xml")


def test_convert_refuses_an_empty_input_and_writes_nothing(tmp_path):
    p = tmp_path / "docstart.conll"
    p.write_text("-DOCSTART- -X- -X- O\n\n", encoding="utf-8")
    out = tmp_path / "out.conll"
    with pytest.raises(NertagError, match=r"docstart.conll: no sentences found"):
        convert(p, out)
    assert not out.exists()


def test_doccano_export_of_nertag_tag_output(tmp_path):
    """tag → jsonl → (correct) → doccano → conll: the entities survive every step."""
    rec = {"text": "Bob met Ann in Oslo.", "start": 40,
           "entities": [{"start": 40, "end": 43, "label": "PER", "text": "Bob"},
                        {"start": 55, "end": 59, "label": "LOC", "text": "Oslo"}]}
    src = tmp_path / "tagged.jsonl"
    src.write_text(json.dumps(rec) + "\n", encoding="utf-8")
    convert(src, tmp_path / "d.jsonl", to="doccano")
    d = json.loads((tmp_path / "d.jsonl").read_text())
    assert d["text"] == "Bob met Ann in Oslo." and d["label"] == [[0, 3, "PER"], [15, 19, "LOC"]]
    convert(tmp_path / "d.jsonl", tmp_path / "c.conll")
    assert (tmp_path / "c.conll").read_text() == \
        "Bob\tB-PER\nmet\tO\nAnn\tO\nin\tO\nOslo\tB-LOC\n.\tO\n\n"


def test_conll2003_round_trips(tmp_path):
    if not VALID.exists():
        pytest.skip(f"{VALID} not available")
    ref = read_conll(VALID)
    for fmt in ("io", "jsonl", "prodigy", "conll-iob1", "conll-bioes"):
        out = tmp_path / f"valid.{fmt}"
        done = convert(VALID, out, to=fmt)
        back = read_corpus(out)
        if fmt == "io":  # touching entities of one type merge: 4 in valid.txt
            assert done.notes == ["4 entities touching an entity of the same type merged with "
                                  "it: IO cannot separate them"]
            differ = [(a.tags, b.tags) for a, b in zip(ref.sentences, back.sentences)
                      if a.tags != b.tags]
            assert len(differ) <= 4 and all(
                [t[2:] for t in a] == [t[2:] for t in b] for a, b in differ)
        else:
            assert same(back, ref), fmt
    # doccano has no tokens: the text is tokenized again, and differs in a few sentences
    convert(VALID, tmp_path / "valid.doccano", to="doccano")
    back = read_corpus(tmp_path / "valid.doccano")
    assert sum(len(s.tags) for s in back.sentences) - ref.n_tokens < 100
    n_ents = sum(t.startswith("B-") for s in back.sentences for t in s.tags)
    assert n_ents == sum(t.startswith("B-") for s in ref.sentences for t in s.tags)


def test_doccano_written_by_convert_reads_back_to_the_same_words(tmp_path):
    """doccano carries no tokens of its own: nertag writes them as metadata, so a word
    its tokenizer would cut (``T.O'Gorman``) and a sentence it would split come back
    as they were; without them the text is tokenized again."""
    src = tmp_path / "a.conll"
    src.write_text("Adams\tB-PER\n,\tO\nT.O'Gorman\tB-PER\nsaid\tO\nno.\tO\nIt\tO\nrained\tO\n\n",
                   encoding="utf-8")
    convert(src, tmp_path / "d.jsonl", to="doccano")
    back = read_corpus(tmp_path / "d.jsonl")
    assert [(s.words, s.tags) for s in back.sentences] == [
        (["Adams", ",", "T.O'Gorman", "said", "no.", "It", "rained"],
         ["B-PER", "O", "B-PER", "O", "O", "O", "O"])]
    rec = json.loads((tmp_path / "d.jsonl").read_text())
    del rec["tokens"]
    (tmp_path / "plain.jsonl").write_text(json.dumps(rec) + "\n", encoding="utf-8")
    plain = read_corpus(tmp_path / "plain.jsonl")
    assert [w for s in plain.sentences for w in s.words][:4] == ["Adams", ",", "T.", "O'Gorman"]


@pytest.mark.parametrize("first", ["{}", "{a", "[x", "{\"x\":", "[1]"])
def test_columns_whose_first_word_starts_with_a_brace_are_conll(tmp_path, first):
    p = tmp_path / "brace.conll"
    p.write_text(f"{first}\tB-PER\nsaid\tO\n\n", encoding="utf-8")
    assert detect_format(p) == "conll"
    assert [s.words for s in read_corpus(p).sentences] == [[first, "said"]]
    broken = tmp_path / "broken.jsonl"  # a broken JSON line is still read (and refused) as JSON
    broken.write_text('{"text": "a b", "label": [[0, 1, "PER"]]\n', encoding="utf-8")
    with pytest.raises(NertagError, match=f"^{broken}:1: not valid JSON"):
        read_corpus(broken)


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_detection_with_a_byte_order_mark_and_any_line_end(tmp_path, eol):
    p = tmp_path / "d"
    cases = {"conll": "Bob\tB-PER\nran\tO\n\n",
             "doccano": '{"text": "Bob ran", "label": [[0, 3, "PER"]]}\n',
             "prodigy": '{"text": "Bob ran", "spans": [{"start": 0, "end": 3, "label": "PER"}]}\n'}
    for fmt, content in cases.items():
        p.write_bytes(b"\xef\xbb\xbf" + (content * 2).replace("\n", eol).encode())
        assert detect_format(p) == fmt
        c = read_corpus(p)
        assert [(s.words, s.tags) for s in c.sentences] == [(["Bob", "ran"], ["B-PER", "O"])] * 2


def test_a_first_record_longer_than_a_conll_line_is_still_detected(tmp_path):
    from nertag.text.conll import MAX_LINE_BYTES

    p = tmp_path / "long.jsonl"
    text = "word " * (MAX_LINE_BYTES // 5 + 10)
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"text": text, "label": [[0, 4, "X"]]}).encode()
                  + b"\r")
    assert detect_format(p) == "doccano"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"text": text, "spans": []}).encode())
    assert detect_format(p) == "prodigy"


@pytest.mark.parametrize("fmt", ["conll", "jsonl", "conll-iob1"])
def test_read_corpus_renames_types_by_a_labels_map(tmp_path, fmt):
    """A model's labels.map renames the gold types of every format as it is read (types
    it does not name stay): the one place evaluate, calibrate and training read gold."""
    out = tmp_path / "out.data"
    convert(sample_dev(), out, to=fmt)
    plain = read_corpus(out)
    mapped = read_corpus(out, labels_map={"PER": "person", "LOC": "place"})
    rename = {"PER": "person", "LOC": "place"}
    assert [s.words for s in mapped.sentences] == [s.words for s in plain.sentences]
    assert [s.tags for s in mapped.sentences] == [
        [t if t == "O" else t[:2] + rename.get(t[2:], t[2:]) for t in s.tags]
        for s in plain.sentences]
    assert set(mapped.entity_types()) == {"person", "place", "ORG", "MISC"}
