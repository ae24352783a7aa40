"""nertag on Dask (nertag.dask, nertag tag --engine dask), with a real engine: a
distributed.LocalCluster of 2 worker processes started here.  The output is the same
bytes as one process (CRLF, CR and LF paragraphs, non-ASCII text, every format), also
when a worker is killed mid-run; errors name the file's own line; the Python API on a bag
and on a dataframe gives what the Tagger gives; without the extra, one line says what to
install."""

from __future__ import annotations

import io
import json
import logging
import os
import random
import signal
import sys

import pytest
from typer.testing import CliRunner

from conftest import TRICKY, check_error
from nertag.cli import app

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")
import nertag.dask as nd  # noqa: E402
from nertag.dask import _blocks  # noqa: E402

BREAKS = ["\n\n", "\r\n\r\n", "\r\r", "\n \t\n", "\n\n\n"]


def text(n_paragraphs: int = 150, seed: int = 0) -> str:
    rng = random.Random(seed)
    paras = [p for p in TRICKY.replace("\r\n\r\n", "\n\n").split("\n\n") if p.strip()]
    return "".join(rng.choice(paras) + rng.choice(BREAKS) for _ in range(n_paragraphs)) + \
        "no final newline, Zürich"


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes on the loopback interface (the model reaches them by path or
    by upload)."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                       silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    yield cluster, client
    client.close()
    cluster.close()


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(nd, "BLOCK_BYTES", 3000)


def run(*args, code: int = 0):
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code == code, (r.output, r.exception)
    return r


def test_blocks_are_cut_after_blank_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(_blocks, "_WINDOW", 7)  # the search reads on, window by window
    raw = (text().replace("Merkel", "Merkel" + " x" * 400) + "\r\n\r\n").encode("utf-8")
    path = tmp_path / "in.txt"
    path.write_bytes(raw)
    counts = [_blocks.count_block(str(path), a, b, len(raw), "utf-8")
              for a, b in _blocks.split_points(len(raw), 1000)]
    blocks = _blocks.blocks_of(counts, str(path), "x", "utf-8")
    assert len(blocks) > 10 and blocks[0].start == 0 and blocks[-1].end == len(raw)
    decoded = raw.decode("utf-8")
    for a, b in zip(blocks, blocks[1:]):
        assert a.end == b.start
        before = raw[:b.start].decode("utf-8")
        assert b.char == len(before)
        assert b.line == len(io.StringIO(before, newline="").readlines()) + 1
        last = io.StringIO(before, newline="").readlines()[-1]
        assert not last.strip() and not (before.endswith("\r") and decoded[b.char] == "\n")


def test_engine_dask_writes_what_one_process_writes(cluster, small_model, tmp_path,
                                                     small_blocks):
    """On a scheduler (the model uploaded to the workers), every format."""
    src = tmp_path / "in.txt"
    src.write_bytes(text().encode("utf-8"))
    address = cluster[0].scheduler_address
    for fmt in ("jsonl", "inline", "html", "conll"):
        one, dask_out = tmp_path / f"one.{fmt}", tmp_path / f"dask.{fmt}"
        run("tag", "-m", small_model, src, "-f", fmt, "-o", one)
        run("tag", "-m", small_model, src, "-f", fmt, "-o", dask_out, "--engine", "dask",
            "--scheduler", address)
        assert one.read_bytes() == dask_out.read_bytes(), fmt
    assert len((tmp_path / "one.jsonl").read_bytes().splitlines()) > 150
    # two inputs (jsonl names the source), and a latin-1 file
    latin = tmp_path / "latin.txt"
    latin.write_bytes(text(seed=2).encode("latin-1", errors="replace"))
    run("tag", "-m", small_model, src, latin, "--encoding", "latin-1", "-o", tmp_path / "a")
    run("tag", "-m", small_model, src, latin, "--encoding", "latin-1", "-o", tmp_path / "b",
        "--engine", "dask", "--scheduler", address)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_the_decoder_is_passed_not_set_on_the_model(cluster, small_model, tmp_path):
    """--decoder reaches the workers as an argument; the model a block is tagged with
    keeps its own decoder (a worker's model is shared by the tasks of every decoder)."""
    src = tmp_path / "in.txt"
    src.write_bytes(text().encode("utf-8"))
    one, dask_out = tmp_path / "one", tmp_path / "dask"
    run("tag", "-m", small_model, src, "-o", one, "--decoder", "greedy")
    run("tag", "-m", small_model, src, "-o", dask_out, "--decoder", "greedy", "--engine",
        "dask", "--scheduler", cluster[0].scheduler_address)
    assert one.read_bytes() == dask_out.read_bytes()
    ref = nd.ModelRef(small_model, "greedy")
    own = ref.tagger()._model.cfg.model.decoder
    assert own != "greedy"
    block = _blocks.Block(str(src), 0, src.stat().st_size, 0, 1)
    got = _blocks.tag_block(block, str(src), "utf-8", "jsonl", None, ref)
    assert got == one.read_bytes()
    assert ref.tagger()._model.cfg.model.decoder == own


#: Line-per-item blocks and hard-wrapped paragraphs (LF and CRLF), where the modes differ.
WRAPPED = ("Obama visits Paris\nMerkel meets Macron in Berlin\nApple hires Tim Cook\n\n"
           "The European Commission said on Thursday it disagreed with German\r\n"
           "advice to consumers to shun British lamb until scientists determine\r\n"
           "whether mad cow disease can be transmitted to sheep, the Commission\r\n"
           "said in Brussels.\r\n\r\n"
           "Shares in Acme Inc.\nrose in London.\n\n")


@pytest.mark.parametrize("mode", ["blank", "line", "auto"])
def test_engine_dask_writes_what_one_process_writes_in_each_sentence_mode(
        cluster, small_model, tmp_path, small_blocks, mode):
    src = tmp_path / "in.txt"
    src.write_bytes("".join(p + "\n\n" + WRAPPED for p in text(60, seed=7).split("\n\n")
                            ).encode("utf-8"))
    one, dask_out = tmp_path / "one", tmp_path / "dask"
    run("tag", "-m", small_model, src, "-f", "jsonl", "-o", one, "--sentences", mode)
    run("tag", "-m", small_model, src, "-f", "jsonl", "-o", dask_out, "--sentences", mode,
        "--engine", "dask", "--scheduler", cluster[0].scheduler_address)
    assert one.read_bytes() == dask_out.read_bytes()
    texts = [json.loads(line)["text"] for line in one.read_text("utf-8").splitlines()]
    assert ("Merkel meets Macron in Berlin" in texts) == (mode != "blank")
    # the Python API: read_text, and tag_bag as the Tagger does
    bag = nd.read_text(str(src), model=small_model, blocksize=2500, sentences=mode)
    assert bag.compute() == [json.loads(line) for line in one.read_text("utf-8").splitlines()]
    import dask.bag as db

    import nertag

    texts = [WRAPPED, WRAPPED.replace("\n\n", "\n"), ""]
    docs = nd.tag_bag(db.from_sequence(texts, npartitions=2), model=small_model,
                      sentences=mode).compute()
    assert docs == [nertag.load(small_model)(t, sentences=mode).to_json() for t in texts]


def test_engine_dask_several_inputs_an_empty_one_html_sections(cluster, small_model,
                                                                tmp_path):
    """A blank input among others: a warning, the others written; html: one page with a
    section per file; the same bytes as one process."""
    src, empty = tmp_path / "in.txt", tmp_path / "empty.txt"
    src.write_bytes(text(seed=4).encode("utf-8"))
    empty.write_text("\n \n")
    address = cluster[0].scheduler_address
    for fmt in ("html", "jsonl"):
        one, dask_out = tmp_path / f"one.{fmt}", tmp_path / f"dask.{fmt}"
        run("tag", "-m", small_model, src, empty, src, "-f", fmt, "-o", one)
        run("tag", "-m", small_model, src, empty, src, "-f", fmt, "-o", dask_out,
            "--engine", "dask", "--scheduler", address)
        assert one.read_bytes() == dask_out.read_bytes(), fmt
    page = (tmp_path / "one.html").read_text(encoding="utf-8")
    assert page.count("<section>") == 3 and f'<h2 class="file">{empty}</h2>' in page


def test_engine_dask_starts_a_local_cluster(small_model, tmp_path, monkeypatch,
                                             small_blocks):
    started = []
    real = nd.local_cluster
    monkeypatch.setattr(nd, "local_cluster", lambda n: started.append(n) or real(n))
    src = tmp_path / "in.txt"
    src.write_bytes(text(seed=3).encode("utf-8"))
    run("tag", "-m", small_model, src, "-o", tmp_path / "one")
    run("tag", "-m", small_model, src, "-o", tmp_path / "dask", "--engine", "dask",
        "--workers", "2")
    assert started == [2]
    assert (tmp_path / "one").read_bytes() == (tmp_path / "dask").read_bytes()


def test_a_worker_killed_mid_run(cluster, small_model, tmp_path, small_blocks, monkeypatch):
    """Dask runs the killed worker's tasks again (the nanny restarts it): the same,
    complete output."""
    _, client = cluster
    src = tmp_path / "in.txt"
    src.write_bytes(text(n_paragraphs=400, seed=4).encode("utf-8"))
    run("tag", "-m", small_model, src, "-o", tmp_path / "one")
    pids = client.run(os.getpid)
    killed = []
    real = nd._write

    def write(future, out, *args):
        real(future, out, *args)
        if not killed:  # after the first block is written: kill a worker that is busy
            busy = [w for w, keys in client.processing().items() if keys] or list(pids)
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])

    monkeypatch.setattr(nd, "_write", write)
    with open(tmp_path / "dask", "w", encoding="utf-8", newline="") as out:
        nd.tag_files(client, [str(src)], out, model=small_model)
    assert killed
    assert (tmp_path / "one").read_bytes() == (tmp_path / "dask").read_bytes()
    client.wait_for_workers(2, timeout=60)


@pytest.mark.parametrize("bad,message", [(b"abc \xff def", "not valid utf-8 text"),
                                         (b"abc \x00 def", "binary data (NUL byte)")])
def test_an_error_names_the_files_own_line(cluster, small_model, tmp_path, small_blocks,
                                           bad, message):
    raw = text().encode("utf-8")
    cut = raw.index(b"\n\n", len(raw) * 2 // 3) + 2
    src = tmp_path / "bad.txt"
    src.write_bytes(raw[:cut] + b"\n" + bad + b"\n" + raw[cut:])
    msgs = [check_error(CliRunner().invoke(app, ["tag", "-m", str(small_model), str(src), "-o",
                                                 str(tmp_path / "o")] + extra), 1, message)
            for extra in ([], ["--engine", "dask", "--scheduler", cluster[0].scheduler_address])]
    assert msgs[0] == msgs[1] and f"{src}:" in msgs[0]
    assert sorted(os.listdir(tmp_path)) == ["bad.txt"]


def test_tag_bag(cluster, small_model):
    import dask.bag as db

    import nertag

    texts = [p for p in text(40).split("\n\n") if p] + ["", "Angela Merkel in Köln."]
    docs = nd.tag_bag(db.from_sequence(texts, npartitions=3), model=small_model).compute()
    tagger = nertag.load(small_model)
    assert docs == [tagger(t).to_json() for t in texts]
    assert any(d["entities"] for d in docs)


def test_tag_column(cluster, small_model):
    import dask.dataframe as dd
    import pandas as pd

    import nertag

    texts = [p for p in text(30, seed=5).split("\n\n") if p]
    df = pd.DataFrame({"id": range(len(texts) + 1), "body": texts + [None]})
    out = nd.tag_column(dd.from_pandas(df, npartitions=3), "body", model=small_model).compute()
    tagger = nertag.load(small_model)
    assert list(out.columns) == ["id", "body", "entities"] + tagger.labels
    for value, ents, per in zip(out["body"], out["entities"], out["PER"]):
        doc = tagger(value if isinstance(value, str) else "")
        assert ents == [e.as_dict() for e in doc.ents]
        assert per == [e.text for e in doc.ents if e.label == "PER"]
    assert out["entities"].iloc[-1] == [] and sum(map(len, out["entities"])) > 10
    with pytest.raises(Exception, match="already has column"):
        nd.tag_column(dd.from_pandas(out, npartitions=1), "body", model=small_model)


def test_read_text(cluster, small_model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(text(seed=6).encode("utf-8"))
    run("tag", "-m", small_model, src, "-o", tmp_path / "one")
    bag = nd.read_text(str(src), model=small_model, blocksize=2500)
    assert bag.npartitions > 5
    expected = [json.loads(line) for line in (tmp_path / "one").read_text("utf-8").splitlines()]
    assert bag.compute() == expected


def test_without_the_extra_one_line_says_what_to_install(small_model, tmp_path, monkeypatch):
    import nertag

    for name in [m for m in sys.modules if m == "nertag.dask" or m.startswith("nertag.dask.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(nertag, "dask", raising=False)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    src = tmp_path / "in.txt"
    src.write_text("Angela Merkel visited Paris.\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["tag", "-m", str(small_model), str(src), "--engine", "dask"])
    check_error(r, 2, "--engine dask needs the optional 'dask' extra: pip install "
                      "'nertag[dask]'")


@pytest.mark.parametrize("args,fragment", [
    (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler goes with --engine dask"),
    (["--workers", "2"], "--workers goes with --engine dask"),
    (["--engine", "dask", "--jobs", "2"], "--jobs is for --engine local"),
    (["--engine", "dask", "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"],
     "--workers starts a local cluster"),
    (["--engine", "dask", "--per", "document"], "--per document is not available"),
    (["--engine", "dask", "-f", "pretty"], "--format pretty is not available"),
    (["--engine", "dask", "--tokenized", "-f", "conll"], "--tokenized is not available"),
])
def test_options_that_do_not_go_together(tmp_path, args, fragment):
    src = tmp_path / "in.txt"
    src.write_text("Paris.\n", encoding="utf-8")
    check_error(CliRunner().invoke(app, ["tag", str(src)] + args), 2, fragment)
    check_error(CliRunner().invoke(app, ["tag", "-", "--engine", "dask"]), 2,
                "reads files, not standard input")


def test_no_scheduler_at_the_address():
    with pytest.raises(nd.NertagError, match="no Dask scheduler answered at"):
        nd.connect("tcp://127.0.0.1:9", timeout=1)


def test_workers_beyond_the_input_are_a_warning_and_the_cap(small_model, tmp_path):
    """--workers 10000 starts one process for a one-block input (not 10000 until the
    machine runs out of file descriptors)."""
    src = tmp_path / "in.txt"
    src.write_text("Angela Merkel visited Paris.\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["tag", "-m", str(small_model), str(src), "-f", "jsonl",
                                 "--engine", "dask", "--workers", "10000"])
    assert r.exit_code == 0, (r.output, r.exception)
    assert r.stderr.strip().startswith("warning: --workers 10000: this machine has ")
    assert r.stderr.strip().endswith("; using 1 worker process (the input makes 1 piece)")
    assert json.loads(r.stdout)["entities"]
