"""nertag on Dask with a document-context model (``features.doc_context``): one process
tags each batch of a file as one document, so Dask's blocks hold whole batches and the
output is the same bytes as one process (every format, sentence mode and line end);
the first bad line is named as one process names it; the Python API gives what one
process (or the Tagger) gives.  Small chunks, batches and blocks (here and in the
workers) make many of each."""

from __future__ import annotations

import io
import json

import pytest
from typer.testing import CliRunner

from conftest import check_error
from nertag.cli import app
from nertag.tagging import chunks, runtime

distributed = pytest.importorskip("distributed")
import nertag.dask as nd  # noqa: E402
from nertag.dask import _blocks  # noqa: E402
from test_dask import WRAPPED, cluster, run, text  # noqa: E402,F401 - cluster: a fixture

#: chunks of ~250 characters, batches of ~1000, blocks of ~2500 bytes: many of each.
SMALL = {"CHUNK_CHARS": 250, "MAX_CHUNK_CHARS": 2000, "BATCH_CHARS": 1000}
BLOCK = 2500


def _set_sizes(sizes: dict) -> str:
    return "import nertag.tagging.chunks as c\n" + "".join(f"c.{k} = {v}\n"
                                                             for k, v in sizes.items())


@pytest.fixture
def small(monkeypatch):
    """:data:`SMALL` sizes in this process and :data:`BLOCK` bytes a block."""
    for name, value in SMALL.items():
        monkeypatch.setattr(chunks, name, value)
    monkeypatch.setattr(nd, "BLOCK_BYTES", BLOCK)


@pytest.fixture
def small_everywhere(small, cluster):  # noqa: F811
    """:func:`small`, and the same sizes in the cluster's worker processes."""
    _, client = cluster
    client.run(exec, _set_sizes(SMALL), {})
    got = client.run(eval, "__import__('nertag.tagging.chunks').tagging.chunks.BATCH_CHARS", {})
    assert set(got.values()) == {SMALL["BATCH_CHARS"]}
    yield cluster
    client.run(exec, _set_sizes({k: getattr(chunks, k) for k in SMALL}), {})  # (undone)


def corpus(seed: int = 0, crlf: bool = False) -> bytes:
    """Paragraphs (LF, CRLF and CR breaks, or CRLF only), wrapped lines, and a paragraph
    and a line longer than ``MAX_CHUNK_CHARS`` (cut at a line end, and inside a line)."""
    body = "".join(p + "\n\n" + WRAPPED for p in text(60, seed=seed).split("\n\n"))
    long_para = "\n".join(["Merkel met Macron in Paris ."] * 100) + "\n\n"
    long_line = " ".join(["Obama visits Berlin ."] * 150) + "\n\n"
    mid = len(body) // 2
    body = body[:mid] + "\n\n" + long_para + long_line + body[mid:]
    if crlf:
        body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    return body.encode("utf-8")


def recorded_batches(monkeypatch) -> list:
    """The batches (chunks with their offsets in the file) tagged from now on."""
    seen, real = [], runtime.tag_chunks

    def record(model, batch, *args, **kwargs):
        seen.append([(offset, len(t)) for offset, t in batch])
        return real(model, batch, *args, **kwargs)

    monkeypatch.setattr(runtime, "tag_chunks", record)
    return seen


@pytest.mark.parametrize("crlf", [False, True])
def test_blocks_hold_whole_batches_so_the_documents_are_one_process_s(
        doc_model, tmp_path, small, monkeypatch, crlf):
    """Chunks and batches restart after each batch: tagged from a block boundary, a
    file's blocks make exactly the batches one process makes, and the same bytes; blocks
    cut at blank lines (a model without document context) would not."""
    raw = corpus(crlf=crlf)
    src = tmp_path / "in.txt"
    src.write_bytes(raw)
    batches = recorded_batches(monkeypatch)
    run("tag", "-m", doc_model, src, "-f", "jsonl", "-o", tmp_path / "one")
    one, ones = (tmp_path / "one").read_bytes(), list(batches)
    decoded = raw.decode("utf-8")
    assert len(ones) > 20
    assert any(not decoded[:o].endswith(("\n", "\r")) for b in ones for o, _ in b if o)

    blocks, error = _blocks.batch_blocks(str(src), "in.txt", "utf-8", BLOCK, len(raw))
    assert error is None and len(blocks) > 8
    assert blocks[0].start == 0 and blocks[-1].end == len(raw)
    for a, b in zip(blocks, blocks[1:]):
        assert a.end == b.start
        before = raw[:b.start].decode("utf-8")
        assert b.char == len(before)
        assert b.line == len(io.StringIO(before, newline="").readlines()) + 1
        assert decoded[:b.char].endswith(("\n", "\r"))
    ref = nd.ModelRef(doc_model)
    assert ref.doc_context
    batches.clear()
    got = b"".join(_blocks.tag_block(b, "in.txt", "utf-8", "jsonl", None, ref) for b in blocks)
    assert batches == ones
    assert got == one
    starts = {b.char for b in blocks}
    assert {batch[0][0] for batch in ones} >= starts and len(ones) >= 2 * len(blocks) - 1
    # blocks cut at blank lines start batches where one process does not
    counts = [_blocks.count_block(str(src), a, b, len(raw), "utf-8")
              for a, b in _blocks.split_points(len(raw), BLOCK)]
    naive = _blocks.blocks_of(counts, str(src), "in.txt", "utf-8")
    batches.clear()
    for b in naive:
        _blocks.tag_block(b, "in.txt", "utf-8", "jsonl", None, ref)
    assert batches != ones


def test_a_file_that_changed_or_cannot_be_read_a_bad_blocksize(doc_model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"Obama visits Paris.\n")
    with pytest.raises(nd.NertagError, match="^blocksize must be at least 1 byte, got -5$"):
        nd.read_text(str(src), model=doc_model, blocksize=-5)
    assert _blocks.batch_blocks(str(src), "in.txt", "utf-8", BLOCK, 999) == (
        [], ("in.txt: the file changed while it was being read; tag it again", 1))
    blocks, error = _blocks.batch_blocks(str(tmp_path / "missing"), "x", "utf-8", BLOCK, 0)
    assert blocks == [] and "a Dask worker cannot read it" in error[0]
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert _blocks.batch_blocks(str(empty), "e", "utf-8", BLOCK, 0) == ([], None)


@pytest.mark.parametrize("crlf,mode", [(False, "auto"), (True, "auto"), (False, "line"),
                                       (True, "blank")])
def test_engine_dask_writes_what_one_process_writes(doc_model, tmp_path, small_everywhere,
                                                     crlf, mode):
    src = tmp_path / "in.txt"
    src.write_bytes(corpus(seed=1, crlf=crlf))
    address = small_everywhere[0].scheduler_address
    for fmt in ("jsonl", "conll") if mode == "auto" else ("jsonl",):
        one, dask_out = tmp_path / f"one.{fmt}", tmp_path / f"dask.{fmt}"
        run("tag", "-m", doc_model, src, "-f", fmt, "-o", one, "--sentences", mode)
        run("tag", "-m", doc_model, src, "-f", fmt, "-o", dask_out, "--sentences", mode,
            "--engine", "dask", "--scheduler", address)
        assert one.read_bytes() == dask_out.read_bytes(), fmt
    lines = (tmp_path / "one.jsonl").read_text("utf-8").splitlines()
    assert len(lines) > 150 and json.loads(lines[-1])["start"] > 10 * BLOCK


def test_several_files_and_the_python_api(doc_model, tmp_path, small_everywhere):
    """Two files (each its own batches), read_text's objects, and tag_bag / tag_column,
    where each text is a document, as the Tagger makes it."""
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    import nertag

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(corpus(seed=2))
    b.write_bytes(corpus(seed=3, crlf=True))
    run("tag", "-m", doc_model, a, b, "-o", tmp_path / "one")
    run("tag", "-m", doc_model, a, b, "-o", tmp_path / "dask", "--engine", "dask",
        "--scheduler", small_everywhere[0].scheduler_address)
    one = (tmp_path / "one").read_bytes()
    assert (tmp_path / "dask").read_bytes() == one
    bag = nd.read_text([str(a), str(b)], model=doc_model)
    assert bag.npartitions > 10
    assert bag.compute() == [json.loads(line) for line in one.decode("utf-8").splitlines()]
    texts = [WRAPPED, "Paris is big.\n\nPARIS , France .", ""] + text(6).split("\n\n")
    tagger = nertag.load(doc_model)
    want = [tagger(t).to_json() for t in texts]
    assert nd.tag_bag(db.from_sequence(texts, npartitions=3), model=doc_model).compute() == want
    df = dd.from_pandas(pd.DataFrame({"body": texts}), npartitions=2)
    out = nd.tag_column(df, "body", model=doc_model).compute()
    assert out["entities"].tolist() == [[e for e in d["entities"]] for d in want]


@pytest.mark.parametrize("bad,message", [(b"abc \xff def", "not valid utf-8 text"),
                                         (b"abc \x00 def", "binary data (NUL byte)")])
def test_the_first_bad_line_is_named_as_one_process_names_it(doc_model, tmp_path,
                                                             small_everywhere, bad, message):
    raw = corpus(seed=4, crlf=True)
    cut = raw.index(b"\r\n\r\n", len(raw) * 2 // 3) + 4
    src = tmp_path / "bad.txt"
    src.write_bytes(raw[:cut] + bad + b"\r\n" + raw[cut:] + b"\n" + bad)
    line = raw[:cut].count(b"\n") + 1
    msgs = [check_error(CliRunner().invoke(app, ["tag", "-m", str(doc_model), str(src), "-o",
                                                 str(tmp_path / "o")] + extra), 1, message)
            for extra in ([], ["--engine", "dask", "--scheduler",
                               small_everywhere[0].scheduler_address])]
    assert msgs[0] == msgs[1] and f"{src}:{line}:" in msgs[0]
    assert not (tmp_path / "o").exists()
