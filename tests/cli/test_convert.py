"""``nertag convert``: every format to every other through the command line, standard
output, the summary and warnings on stderr, and one-line errors."""

from __future__ import annotations

import json

import pytest

from nertag.resources import sample_dev
from nertag.text.conll import read_conll
from nertag.text.datasets import FORMATS, INPUT_FORMATS, read_corpus


def test_formats_of_the_command_are_the_librarys():
    from nertag.cli import convert, evaluate

    assert tuple(f.value for f in convert.OutputFormat) == INPUT_FORMATS
    assert tuple(f.value for f in evaluate.DataFormat) == INPUT_FORMATS


def test_stanford_tsv_to_conll_and_back(tmp_path, cli):
    tsv = tmp_path / "stanford.tsv"
    tsv.write_text("Rail\tORGANIZATION\nWorld\tORGANIZATION\nin\tO\nParis\tLOCATION\n\n",
                   encoding="utf-8")
    r = cli("convert", tsv, tmp_path / "out.conll")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "out.conll").read_text() == \
        "Rail\tB-ORGANIZATION\nWorld\tI-ORGANIZATION\nin\tO\nParis\tB-LOCATION\n\n"
    assert r.stderr.strip() == f"{tsv} (io, 1 sentences, 2 entities) -> {tmp_path / 'out.conll'} " \
                               f"(conll)"
    assert r.stdout == ""
    r = cli("convert", tmp_path / "out.conll", "-", "--to", "io")
    assert r.exit_code == 0 and r.stdout == tsv.read_text()


@pytest.mark.parametrize("to", FORMATS)
def test_every_format_through_the_command(tmp_path, cli, to):
    out = tmp_path / "out"
    r = cli("convert", sample_dev(), out, "--to", to)
    assert r.exit_code == 0, r.stderr
    back = tmp_path / "back.conll"
    r = cli("convert", out, back)
    assert r.exit_code == 0, r.stderr
    assert [(s.words, s.tags) for s in read_conll(back).sentences] == \
        [(s.words, s.tags) for s in read_conll(sample_dev()).sentences]


def test_io_merge_is_a_warning(tmp_path, cli):
    p = tmp_path / "touching.conll"
    p.write_text("Paris B-LOC\nBerlin B-LOC\n", encoding="utf-8")
    r = cli("convert", p, tmp_path / "x.tsv")
    assert r.exit_code == 0
    assert r.stderr.startswith("warning: 1 entity touching an entity of the same type merged")
    assert (tmp_path / "x.tsv").read_text() == "Paris\tLOC\nBerlin\tLOC\n\n"


def test_doccano_from_the_command(tmp_path, cli):
    r = cli("convert", sample_dev(), "-", "--to", "doccano")
    first = json.loads(r.stdout.splitlines()[0])
    assert first["text"] == "VELTRO ENERGY TO CUT 632,000 JOBS IN MEXICO."
    assert first["label"] == [[0, 13, "ORG"], [37, 43, "LOC"]]
    assert first["tokens"][4] == {"text": "632,000", "start": 21, "end": 28}
    assert "standard output (doccano)" in r.stderr


def test_errors(tmp_path, cli, expect_error):
    expect_error(cli("convert", sample_dev(), "-"), 2, "give --to when writing to standard output")
    expect_error(cli("convert", sample_dev(), tmp_path / "x.xml"), 2,
                 "cannot tell the output format from the name", "give --to")
    expect_error(cli("convert", tmp_path / "missing.conll", tmp_path / "x.conll"), 1,
                 "missing.conll: data file not found")
    expect_error(cli("convert", sample_dev(), tmp_path / "x.conll", "--to", "xml"), 2, "--to")
    expect_error(cli("convert", sample_dev(), tmp_path / "no" / "x.conll"), 2,
                 "does not exist; create it first")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "New York-based", "label": [[4, 8, "LOC"]]}\n', encoding="utf-8")
    expect_error(cli("convert", bad, tmp_path / "x.conll"), 1,
                 f"{bad}:1: span [4, 8) 'York' does not fall on token boundaries")
    assert not (tmp_path / "x.conll").exists()
    # the format named by --from is trusted
    expect_error(cli("convert", sample_dev(), tmp_path / "x.conll", "--from", "prodigy"), 1,
                 "dev.conll:1: not valid JSON")


def test_out_naming_in_is_refused(tmp_path, cli, expect_error):
    data = tmp_path / "train.conll"
    data.write_text("Paris\tB-LOC\nis\tO\n\n", encoding="utf-8")
    before = data.read_bytes()
    expect_error(cli("convert", data, data, "--to", "conll-bioes"), 2,
                 f"OUT {data}: is the input; it would be replaced by the output; "
                 f"give another output file")
    (tmp_path / "link.conll").symlink_to(data)
    expect_error(cli("convert", data, tmp_path / "link.conll"), 2, "under another name")
    assert data.read_bytes() == before


def test_nertag_tag_output_is_training_data(tmp_path, cli, small_model):
    """tag → jsonl → convert: the tagger's own entities, as CoNLL columns."""
    text = tmp_path / "news.txt"
    text.write_text("Angela Merkel met Peter Blackburn in Paris.\n\nEU rejects German call.\n",
                    encoding="utf-8")
    for per in ("sentence", "document"):
        tagged = tmp_path / f"tagged-{per}.jsonl"
        r = cli("tag", "-m", small_model, text, "-f", "jsonl", "--per", per, "-o", tagged)
        assert r.exit_code == 0, r.stderr
        c = read_corpus(tagged)
        assert c.format == "jsonl" and len(c.sentences) == 2
        r = cli("convert", tagged, tmp_path / f"{per}.conll")
        assert r.exit_code == 0, r.stderr
    assert (tmp_path / "sentence.conll").read_text() == (tmp_path / "document.conll").read_text()


def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path, cli):
    p = tmp_path / "bom.conll"
    p.write_bytes(b"\xef\xbb\xbfParis\tB-LOC\nis\tO\n\n")
    r = cli("convert", p, "-", "--to", "jsonl")
    assert r.exit_code == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["text"] == "Paris is"
    assert rec["entities"] == [{"start": 0, "end": 5, "label": "LOC", "text": "Paris"}]


def test_old_mac_line_ends_are_lines(tmp_path, cli):
    p = tmp_path / "mac.conll"
    p.write_bytes(b"Paris\tB-LOC\ris\tO\r\rBob\tB-PER\r")
    r = cli("convert", p, tmp_path / "out.conll")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "out.conll").read_text() == "Paris\tB-LOC\nis\tO\n\nBob\tB-PER\n\n"
    assert "(conll, 2 sentences, 2 entities)" in r.stderr


def test_mixed_line_ends_are_refused(tmp_path, cli, expect_error):
    p = tmp_path / "twice.conll"
    p.write_bytes(b"Paris\tB-LOC\r\r\nis\tO\r\r\n")
    expect_error(cli("convert", p, tmp_path / "out.jsonl"), 1,
                 f"{p}:1: lines end in CR alone (old Mac) and in LF (line 2)",
                 "give the file one kind of line end")
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("label,frag", [
    ("O", "O means outside any entity"),
    ("B-PER", "it looks like a tag (a letter then '-'); give the entity type alone, e.g. 'PER'"),
    ("P\u0000ER", "an entity type cannot hold the control character U+0000; remove it"),
    ("NEW\tPER", "an entity type cannot hold whitespace; join its words with _"),
])
@pytest.mark.parametrize("to", ["io", "conll", "jsonl"])
def test_labels_no_format_can_keep_are_refused_before_writing(tmp_path, cli, expect_error,
                                                             label, frag, to):
    p = tmp_path / "spans.jsonl"
    p.write_text(json.dumps({"text": "Bob ran", "label": [[0, 3, label]]}) + "\n",
                 encoding="utf-8")
    out = tmp_path / "out"
    expect_error(cli("convert", p, out, "--to", to), 1,
                 f"{p}:1: span [0, 3) has the label {json.dumps(label)}: {frag}")
    assert not out.exists()
    r = cli("convert", p, "-", "--to", to)
    assert r.exit_code == 1 and r.stdout == ""


def test_doccano_spans_under_two_keys_are_refused(tmp_path, cli, expect_error):
    p = tmp_path / "both.jsonl"
    p.write_text(json.dumps({"text": "Bob ran", "label": [[0, 3, "PER"]], "entities": [
        {"start_offset": 4, "end_offset": 7, "label": "X"}]}) + "\n", encoding="utf-8")
    expect_error(cli("convert", p, tmp_path / "out.conll"), 1,
                 f'{p}:1: both "label" and "entities" hold spans', "merge them into one")


def test_a_word_columns_cannot_hold_writes_nothing_to_standard_output(tmp_path, cli,
                                                                      expect_error):
    p = tmp_path / "p.jsonl"
    recs = [{"text": "Bob ran", "spans": [{"start": 0, "end": 3, "label": "PER"}]},
            {"text": "New York", "tokens": [{"text": "New York", "start": 0, "end": 8}],
             "spans": [{"start": 0, "end": 8, "label": "LOC"}]}]
    p.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    r = cli("convert", p, "-", "--to", "conll")
    expect_error(r, 1, f"{p}:2: the word 'New York' is empty or holds whitespace")
    assert r.stdout == ""
