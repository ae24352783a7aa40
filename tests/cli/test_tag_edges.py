"""The rough edges of ``nertag tag`` a new user hit: an output naming an input, empty
inputs among others, ``--debug`` after the command name (and ``evaluate --html`` naming
its DATA)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import NERTAG

TEXT = "EU rejects German call to boycott British lamb.\n\nPeter Blackburn met Angela Merkel.\n"


@pytest.fixture
def files(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text(TEXT, encoding="utf-8")
    b = tmp_path / "b.txt"
    b.write_text("Laura Okafor flew to Geneva.\n", encoding="utf-8")
    return a, b


# ------------------------------------------------------------------ -o naming an input
def _ways_to_name(a, tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(a)
    hard = tmp_path / "hard.txt"
    os.link(a, hard)
    os.mkdir(tmp_path / "sub")
    return {"same path": (a, "is the input file;"),
            "another spelling": (tmp_path / "sub" / ".." / "a.txt", "under another name"),
            "symlink": (link, f"is the input file {a} under another name"),
            "hard link": (hard, f"is the input file {a} under another name")}


@pytest.mark.parametrize("fmt", ["jsonl", "pretty", "html"])
def test_output_naming_an_input_is_refused(fmt, files, tmp_path, cli, expect_error,
                                           small_model):
    a, b = files
    before = a.read_bytes()
    for how, (out, says) in _ways_to_name(a, tmp_path).items():
        for inputs in ([a], [b, a]):  # alone, or second of several
            r = cli("tag", "-m", small_model, *inputs, "-o", out, "-f", fmt)
            msg = expect_error(r, 2, f"-o {out}: ", says, "give another output file")
            assert a.read_bytes() == before, how
            assert r.stdout == "", how
    assert msg.endswith("it would be replaced by the output; give another output file")
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_output_naming_an_input_is_refused_with_tokenized_and_jobs(tmp_path, cli,
                                                                   expect_error, small_model):
    conll = tmp_path / "v.conll"
    conll.write_text("EU B-ORG\nrejects O\n\n", encoding="utf-8")
    before = conll.read_bytes()
    expect_error(cli("tag", "-m", small_model, "--tokenized", conll, "-o", conll), 2,
                 f"-o {conll}: is the input file")
    expect_error(cli("tag", "-m", small_model, "-j", "2", conll, "-o", conll), 2,
                 f"-o {conll}: is the input file")
    assert conll.read_bytes() == before


def test_output_that_is_redirected_standard_input_is_refused(files, small_model):
    """``nertag tag - -o a.txt < a.txt`` (the real command: stdin is the file)."""
    a, _ = files
    before = a.read_bytes()
    with open(a, "rb") as stdin:
        r = subprocess.run([*NERTAG, "tag", "-m", str(small_model), "-", "-o", str(a)],
                           stdin=stdin, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr == (f"error: -o {a}: is standard input (< {a}); it would be replaced by "
                        f"the output; give another output file\n")
    assert a.read_bytes() == before


def test_an_output_next_to_the_inputs_is_fine(files, tmp_path, cli, small_model):
    a, b = files
    out = tmp_path / "a.jsonl"
    r = cli("tag", "-m", small_model, a, b, "-o", out, "-f", "jsonl")
    assert r.exit_code == 0, r.stderr
    assert [json.loads(x)["source"] for x in out.read_text().splitlines()] == \
        [str(a), str(a), str(b)]


def test_evaluate_html_naming_data_is_refused(small_model, tmp_path, cli, expect_error):
    from nertag.resources import sample_dev

    data = tmp_path / "dev.conll"
    data.write_bytes(sample_dev().read_bytes())
    before = data.read_bytes()
    expect_error(cli("evaluate", small_model, data, "--html", data), 2,
                 f"--html {data}: is the DATA file; it would be replaced by the output")
    assert data.read_bytes() == before


# ------------------------------------------------------------------ empty inputs
@pytest.mark.parametrize("content,says", [("", "empty file"), (" \n\t\n\n", "only whitespace")])
@pytest.mark.parametrize("fmt", ["jsonl", "conll", "inline", "html", "pretty"])
def test_an_empty_input_among_several_is_tagged_as_empty(content, says, fmt, files, tmp_path,
                                                         cli, small_model):
    a, b = files
    empty = tmp_path / "empty.txt"
    empty.write_text(content, encoding="utf-8")
    out, ref = tmp_path / "out", tmp_path / "ref"
    r = cli("tag", "-m", small_model, a, empty, b, "-f", fmt, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert r.stderr == f"warning: {empty}: {says}; nothing to tag\n"
    both = cli("tag", "-m", small_model, a, b, "-f", fmt, "-o", ref)
    assert both.exit_code == 0 and both.stderr == ""
    got, want = out.read_text(encoding="utf-8"), ref.read_text(encoding="utf-8")
    if fmt in ("jsonl", "conll"):  # nothing at all for the empty file
        assert got == want
    elif fmt == "inline":  # every character of every input, the blank one's too
        ra, rb = (cli("tag", "-m", small_model, x, "-f", "inline").stdout for x in (a, b))
        assert got == ra + content + rb and want == ra + rb
    else:  # a heading for each file, the empty one's saying so
        assert str(empty) in got and got.index(str(a)) < got.index(str(empty)) < got.index(str(b))
        assert "nothing to tag" in got


@pytest.mark.parametrize("content", ["", "\n \n"])
def test_a_single_empty_input_writes_empty_output(content, tmp_path, cli, small_model):
    """As spaCy's ``nlp("")`` (an empty Doc) and Stanford NER on an empty file: no
    sentences, exit 0; nertag adds one warning line."""
    empty = tmp_path / "empty.txt"
    empty.write_text(content, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    r = cli("tag", "-m", small_model, empty, "-f", "jsonl", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert r.stderr.startswith(f"warning: {empty}: ") and r.stderr.count("\n") == 1
    assert out.read_text() == ""  # written (the old output replaced), empty
    r = cli("tag", "-m", small_model, empty, "-f", "jsonl", "--per", "document")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == {"source": str(empty), "text": content, "start": 0,
                                    "sentences": [], "tokens": [], "entities": []}
    r = cli("tag", "-m", small_model, empty, "--tokenized", "-f", "conll")
    assert (r.exit_code, r.stdout) == (0, "") and "nothing to tag" in r.stderr


def test_empty_standard_input(cli, small_model):
    for stdin in ("", "\n\n  \n"):
        r = cli("tag", "-m", small_model, "-", "-f", "jsonl", input=stdin)
        assert (r.exit_code, r.stdout) == (0, ""), r.stderr
        assert r.stderr == "warning: <stdin>: no text; nothing to tag\n"
    r = cli("tag", "-m", small_model, "-", "-f", "jsonl", input="Angela Merkel\n")
    assert r.exit_code == 0 and r.stderr == "" and "Merkel" in r.stdout


def test_empty_tokenized_standard_input(small_model):
    r = subprocess.run([*NERTAG, "tag", "-m", str(small_model), "--tokenized", "-"],
                       input="\n\n", capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    assert r.stderr == "warning: <stdin>: no text; nothing to tag\n"


def test_an_empty_input_with_workers(files, tmp_path, cli, small_model):
    a, b = files
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    r = cli("tag", "-m", small_model, "-j", "2", a, empty, b, "-f", "jsonl")
    ref = cli("tag", "-m", small_model, a, b, "-f", "jsonl")
    assert r.exit_code == 0 and r.stdout == ref.stdout
    assert r.stderr == f"warning: {empty}: empty file; nothing to tag\n"


# ------------------------------------------------------------------ --debug anywhere
@pytest.mark.parametrize("args,error", [
    (["tag", "{d}/nope.txt"], "error: {d}/nope.txt: input file not found"),
    (["evaluate", "{d}/nomodel", "{d}/x.conll"], "error: {d}/nomodel: model directory not found"),
    (["convert", "{d}/nope.conll", "{d}/out.jsonl"], "error: {d}/nope.conll: data file not found"),
    (["train", "-c", "{d}/nope.yaml"], "error: {d}/nope.yaml: config file not found"),
    (["gradcheck", "-m", "{d}/nomodel"], "error: {d}/nomodel: model directory not found"),
    (["report", "{d}/nomodel"], "error: {d}/nomodel: model directory not found"),
    (["benchmark", "--frobnicate"], "error: No such option: --frobnicate"),
    (["tag", "-m", "{d}/nomodel", "--frobnicate", "x"], "error: No such option: --frobnicate"),
])
def test_debug_after_the_command_shows_traceback_and_error(args, error, tmp_path, cli):
    """``nertag tag nope.txt --debug``: the traceback, then the one-line error; --debug
    itself is never "No such option"."""
    fill = [a.replace("{d}", str(tmp_path)) for a in args]
    for at in (len(fill), 1):  # at the end, right after the command name
        r = cli(*fill[:at], "--debug", *fill[at:])
        assert r.exit_code in (1, 2), r.stderr
        assert "Traceback (most recent call last)" in r.stderr
        assert r.stderr.rstrip().splitlines()[-1].startswith(error.replace("{d}", str(tmp_path)))
        assert "--debug" not in r.stderr.replace(str(tmp_path), "")
