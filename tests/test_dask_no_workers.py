"""A Dask cluster that loses every worker mid-run: ``nertag.dask.tag_files`` gives up
with one line once it has had no worker for its ``no_workers`` seconds, instead of
waiting for ever (loopback only; a cluster of its own, as its workers are closed)."""

from __future__ import annotations

import logging
import threading

import pytest

from test_dask import text

distributed = pytest.importorskip("distributed")
import nertag.dask as nd  # noqa: E402
from nertag.errors import NertagError  # noqa: E402

#: Far longer than the run takes: a hang fails the test instead of the suite.
BOUND = 120


def test_a_cluster_without_workers_is_an_error(small_model, tmp_path, monkeypatch):
    monkeypatch.setattr(nd, "BLOCK_BYTES", 3000)
    src = tmp_path / "in.txt"
    src.write_bytes(text(n_paragraphs=400, seed=5).encode("utf-8"))
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                       silence_logs=logging.CRITICAL)
    client = distributed.Client(cluster)
    real, written = nd._write, []

    def write(future, out, *args):
        real(future, out, *args)
        if not written:  # after the first block: the cluster loses its only worker
            cluster.scale(0)
            client.sync(cluster._correct_state)
        written.append(1)

    monkeypatch.setattr(nd, "_write", write)
    box: dict = {}

    def run():
        try:
            with open(tmp_path / "out", "w", encoding="utf-8", newline="") as out:
                nd.tag_files(client, [str(src)], out, model=small_model, window=2,
                             no_workers=2)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            box["error"] = e

    try:
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(BOUND)
        assert not thread.is_alive(), "tag_files still waiting"
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)
    error = box.get("error")
    assert isinstance(error, NertagError), box
    assert str(error).startswith("the Dask cluster has had no worker for 2 s; nothing more "
                                 "was written"), error
    assert "\n" not in str(error)
    assert len(written) >= 1


def test_no_workers_is_bounded(small_model, tmp_path):
    for bad in (0, -1, 10 ** 9):
        with pytest.raises(NertagError, match="no_workers"):
            nd.tag_files(None, [], None, model=small_model, no_workers=bad)
