"""nertag tag --jobs N on a regular file (nertag.tagging.parallel): byte ranges that
start where one process starts a chunk, tagged by the workers into their own files and
joined in order -- the same bytes as one process, every format, CRLF and non-ASCII text,
other encodings; errors name the file's own line; small files and standard input keep
the batch path."""

from __future__ import annotations

import io
import json
import os
import random

import pytest
from typer.testing import CliRunner

from conftest import TRICKY, check_error
from nertag.cli import app
from nertag.tagging import chunks as tagging, parallel, runtime

#: Paragraph ends of every kind: LF, CRLF, CR, a line of spaces, several blank lines.
BREAKS = ["\n\n", "\r\n\r\n", "\r\r", "\n \t\n", "\n\n\n", "\r\n  \r\n\r\n"]


def text(n_paragraphs: int = 240, seed: int = 0, long_lines: bool = True) -> str:
    """Paragraphs of TRICKY (non-ASCII, tabs, CRLF inside), ended in every way; with a
    stretch of lines and no blank line (one process cuts it at line ends)."""
    rng = random.Random(seed)
    paras = [p for p in TRICKY.replace("\r\n\r\n", "\n\n").split("\n\n") if p.strip()]
    out = []
    for i in range(n_paragraphs):
        out.append(rng.choice(paras) + rng.choice(BREAKS))
        if long_lines and i == n_paragraphs // 2:
            out.append("".join(f"Line {k} about Angela Merkel in Köln.\n" for k in range(300)))
            out.append("\n")
    return "".join(out) + "no final newline, Zürich"


@pytest.fixture
def small_pieces(monkeypatch):
    """Ranges of a few KB: many of them, even in a small file (the workers are forked
    after this, so they see the same sizes)."""
    monkeypatch.setattr(tagging, "CHUNK_CHARS", 700)
    monkeypatch.setattr(tagging, "MAX_CHUNK_CHARS", 3000)
    monkeypatch.setattr(tagging, "BATCH_CHARS", 4000)
    monkeypatch.setattr(parallel, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "RANGE_MIN_BYTES", 1500)


def run(*args) -> None:
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, (r.output, r.exception)


def test_ranges_start_where_one_process_starts_a_chunk(tmp_path, small_pieces):
    src = tmp_path / "in.txt"
    raw = text().encode("utf-8")
    src.write_bytes(raw)
    ranges = list(parallel.plan(str(src), "utf-8", jobs=2))
    assert len(ranges) > 10
    assert ranges[0].start == 0 and ranges[-1].end == len(raw)
    # one process's chunk boundaries at line starts (decoded as nertag reads the file)
    decoded = raw.decode("utf-8")
    chunks = list(tagging.iter_chunks(io.StringIO(decoded, newline="")))
    ends = {o + len(t) for o, t in chunks}
    for a, b in zip(ranges, ranges[1:]):
        assert a.end == b.start
        prefix = raw[:b.start].decode("utf-8")
        assert b.char == len(prefix) and b.char in ends
        assert b.line == len(io.StringIO(prefix, newline="").readlines()) + 1
        assert prefix.endswith(("\n", "\r"))
        assert not (prefix.endswith("\r") and decoded[b.char:b.char + 1] == "\n")
    sizes = [r.end - r.start for r in ranges]
    assert sizes[0] > sizes[-2]  # shrinking towards the end


@pytest.mark.parametrize("fmt", ["jsonl", "conll", "inline", "html"])
def test_jobs_writes_what_one_process_writes(tmp_path, small_pieces, model_dir, fmt,
                                            monkeypatch):
    calls = []
    real = parallel.tag_ranges
    monkeypatch.setattr(parallel, "tag_ranges", lambda *a, **k: calls.append(a) or real(*a, **k))
    src = tmp_path / "in.txt"
    src.write_bytes(text().encode("utf-8"))
    o1, o2, o3 = tmp_path / "o1", tmp_path / "o2", tmp_path / "o3"
    run("tag", "-m", model_dir, src, "-f", fmt, "-o", o1)
    run("tag", "-m", model_dir, src, "-f", fmt, "-o", o2, "--jobs", "2")
    run("tag", "-m", model_dir, src, tmp_path / "in.txt", "-f", fmt, "-o", o3, "--jobs", "3")
    assert o1.read_bytes() == o2.read_bytes()
    assert len(o1.read_bytes()) > 10_000 and len(calls) == 3  # (in ranges)
    assert sorted(os.listdir(tmp_path)) == ["in.txt", "o1", "o2", "o3"]  # no parts left
    # two inputs: each in its ranges, one after the other (jsonl names the source)
    o4 = tmp_path / "o4"
    run("tag", "-m", model_dir, src, src, "-f", fmt, "-o", o4)
    assert o3.read_bytes() == o4.read_bytes()


#: Line-per-item blocks and hard-wrapped paragraphs (LF and CRLF), where the modes differ.
WRAPPED = ("Obama visits Paris\nMerkel meets Macron in Berlin\nApple hires Tim Cook\n\n"
           "The European Commission said on Thursday it disagreed with German\r\n"
           "advice to consumers to shun British lamb until scientists determine\r\n"
           "whether mad cow disease can be transmitted to sheep, the Commission\r\n"
           "said in Brussels.\r\n\r\n"
           "Headline about Angela Merkel in Köln\n"
           "Peter Blackburn met Angela Merkel in Zürich and São Paulo on Monday and\n"
           "flew on to the United Nations in New York with Acme Inc.\n"
           "Shares in Acme Inc.\nrose in London.\n\n")


def mode_text(seed: int = 0) -> str:
    """:func:`text` with :data:`WRAPPED` between its paragraphs, again and again."""
    rng = random.Random(seed)
    pieces = text(n_paragraphs=120, seed=seed).split("\n\n")
    return "".join(p + ("\n\n" + WRAPPED if rng.random() < 0.3 else "\n\n") for p in pieces)


@pytest.mark.parametrize("mode", ["blank", "line", "auto"])
def test_jobs_writes_what_one_process_writes_in_each_sentence_mode(tmp_path, small_pieces,
                                                                  model_dir, mode):
    src = tmp_path / "in.txt"
    src.write_bytes(mode_text().encode("utf-8"))
    outs = []
    for jobs in ("1", "2"):
        outs.append(tmp_path / f"o{jobs}")
        run("tag", "-m", model_dir, src, "-f", "jsonl", "-o", outs[-1], "--jobs", jobs,
            "--sentences", mode)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    lines = outs[0].read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    # the modes differ where they should: the headlines are sentences of their own in
    # line and auto mode, the wrapped paragraph is one sentence in blank and auto mode
    assert ("Merkel meets Macron in Berlin" in texts) == (mode != "blank")
    assert any(t.startswith("The European Commission said") and t.endswith("Brussels.")
               for t in texts) == (mode != "line")
    if mode == "auto":  # the default
        run("tag", "-m", model_dir, src, "-f", "jsonl", "-o", tmp_path / "d", "--jobs", "2")
        assert (tmp_path / "d").read_bytes() == outs[0].read_bytes()


def test_jobs_in_another_encoding_and_to_standard_output(tmp_path, small_pieces, model_dir):
    src = tmp_path / "in.txt"
    src.write_bytes(text(seed=1).encode("latin-1", errors="replace"))
    runner = CliRunner()
    outs = [runner.invoke(app, ["tag", "-m", str(model_dir), str(src), "--encoding", "latin-1",
                                "-f", "jsonl", "--jobs", j]) for j in ("1", "2")]
    assert outs[0].exit_code == outs[1].exit_code == 0
    assert outs[0].stdout_bytes == outs[1].stdout_bytes
    assert "Zürich".encode("utf-8") in outs[0].stdout_bytes


@pytest.mark.parametrize("bad,message", [(b"abc \xff def", "not valid utf-8 text"),
                                         (b"abc \x00 def", "binary data (NUL byte)")])
def test_an_error_names_the_files_own_line(tmp_path, small_pieces, model_dir, bad, message):
    raw = text().encode("utf-8")
    cut = raw.index(b"\n\n", len(raw) * 3 // 4) + 2
    src = tmp_path / "bad.txt"
    src.write_bytes(raw[:cut] + b"\n\n" + bad + b"\r\n" + raw[cut:])
    line = raw[:cut].decode("utf-8").count("\n") - raw[:cut].decode("utf-8").count("\r\n") \
        + raw[:cut].decode("utf-8").count("\r") + 3
    msgs = []
    for jobs in ("1", "2"):
        r = CliRunner().invoke(app, ["tag", "-m", str(model_dir), str(src), "--jobs", jobs,
                                     "-o", str(tmp_path / "o.jsonl")])
        msgs.append(check_error(r, 1, f"{src}:{line}: {message}"))
    assert msgs[0] == msgs[1]
    assert sorted(os.listdir(tmp_path)) == ["bad.txt"]  # no output, no parts left


def test_small_files_and_standard_input_keep_the_batch_path(tmp_path, monkeypatch):
    src = tmp_path / "in.txt"
    src.write_text("Angela Merkel visited Paris.\n\n" * 10, encoding="utf-8")
    assert not parallel.splittable(str(src), "utf-8")                   # small
    monkeypatch.setattr(parallel, "SPLIT_MIN_BYTES", 0)
    assert parallel.splittable(str(src), "utf-8") and parallel.splittable(str(src), "cp1252")
    assert not parallel.splittable("-", "utf-8")                        # standard input
    assert not parallel.splittable(str(src), "utf-16")                  # stateful encoding
    assert not parallel.splittable(str(tmp_path), "utf-8")              # not a file


def test_standard_input_and_per_document_with_jobs(tmp_path, small_pieces, model_dir):
    data = text(n_paragraphs=60, long_lines=False)
    src = tmp_path / "in.txt"
    src.write_bytes(data.encode("utf-8"))
    runner = CliRunner()
    one = runner.invoke(app, ["tag", "-m", str(model_dir), str(src), "-f", "jsonl"])
    piped = runner.invoke(app, ["tag", "-m", str(model_dir), "-", "-f", "jsonl", "--jobs", "2"],
                          input=data.encode("utf-8"))
    assert one.exit_code == piped.exit_code == 0 and one.stdout_bytes == piped.stdout_bytes
    doc = [runner.invoke(app, ["tag", "-m", str(model_dir), str(src), "--per", "document",
                               "--jobs", j]) for j in ("1", "2")]
    assert doc[0].stdout_bytes == doc[1].stdout_bytes and doc[0].stdout_bytes.count(b"\n") == 1


def test_checked_lines_counts_from_the_first_line_given():
    with pytest.raises(Exception) as e:
        list(runtime.checked_lines(io.StringIO("a\nb\x00\n", newline=""), "f.txt", "utf-8",
                                   first_line=41))
    assert "f.txt:42: binary data" in str(e.value)
