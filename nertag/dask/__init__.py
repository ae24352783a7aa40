"""nertag in Dask: tag data that is already in Dask, or text files too big for one
machine, on a local cluster or on many machines (``pip install 'nertag[dask]'``).

* :func:`tag_bag`: a bag of texts → a bag of dicts, one per text: the object ``nertag tag
  --per document -f jsonl`` writes (``text``, ``start``, ``sentences``, ``tokens``,
  ``entities``), as :meth:`nertag.Doc.to_json` gives it;
* :func:`tag_column`: a column of texts of a Dask dataframe → the dataframe with entity
  columns: ``entities`` (the entities of each text as in the jsonl: start, end, label,
  text, score) and one column per entity type (``PER``, ``LOC``, ...) with the texts of
  those entities, in order;
* :func:`read_text`: text files → a bag of the jsonl objects ``nertag tag`` writes (one per
  sentence, offsets into the file); :func:`tag_files` writes them in order, as ``nertag
  tag --engine dask`` does;
* :func:`local_cluster`: the cluster ``nertag tag --engine dask`` starts on this machine.
* :func:`connect`: a client of a Dask scheduler, which must answer within a deadline
  (a silent address or another server is a one-line error, never a hang).

:func:`tag_files` waits for its results as long as the cluster has workers: a cluster
that has had none (or a scheduler that has not answered) for ``NO_WORKER_SECONDS`` is
a one-line error, never a wait for ever.

Each takes ``sentences``, which line breaks end a sentence, as ``nertag tag --sentences``
(``auto`` by default; ``line``, ``blank``: see :mod:`nertag.text.sentences`).

The model goes to each worker once: every task carries a small handle (the model's
path and checksum), and each worker process loads the model the first time it needs it;
with ``upload=True`` the model's files are first copied to every worker of the current
``distributed`` client (for workers that cannot read the path).  Tagging is the same as
in one process: a text, or a file's sentences, get the same tokens, tags, entities and
scores in any partition on any worker.  With a document-context model a file's blocks
hold whole batches of one process (its documents: :mod:`nertag.dask._blocks`), and
each text of a bag or column is a document of its own, as for a Tagger.
"""

from __future__ import annotations

try:
    import dask  # noqa: F401
    import dask.bag  # noqa: F401
    import distributed  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError("nertag.dask needs the optional 'dask' extra: pip install "
                      "'nertag[dask]'") from e

import json
import logging
import os
import time
from collections import deque
from concurrent.futures import CancelledError
from typing import IO, Sequence

from nertag.dask._blocks import (BLOCK_BYTES, Block, batch_blocks, blocks_of, check_blocksize,
                                 check_encoding, count_block, split_points, tag_block, _size)
from nertag.dask._connect import connect
from nertag.dask._model import ModelRef, tagging, upload as _upload
from nertag.errors import NertagError, UsageError  # noqa: F401 - NertagError: for callers
from nertag.tagging.runtime import writes_utf8_as_is
from nertag.text.sentences import DEFAULT as DEFAULT_SENTENCES, check_mode

__all__ = ["tag_bag", "tag_column", "read_text", "tag_files", "local_cluster", "connect",
           "ModelRef", "BLOCK_BYTES", "NO_WORKER_SECONDS"]

#: Seconds :func:`tag_files` waits on a cluster without a worker (or whose scheduler does
#: not answer) before it gives up; the wait starts again whenever a worker is there.
NO_WORKER_SECONDS = 60.0
#: Seconds between looks at the cluster while a result is awaited.
POLL_SECONDS = 0.5


def _ref(model, decoder, upload: bool) -> ModelRef:
    ref = model if isinstance(model, ModelRef) else ModelRef(model, decoder)
    if upload:
        _upload(distributed.get_client(), ref)
    return ref


# ---------------------------------------------------------------------- bags, dataframes
def tag_bag(bag, model=None, *, decoder: str | None = None, upload: bool = False,
            sentences: str = DEFAULT_SENTENCES):
    """A bag of texts (str) → a bag of the jsonl objects of those texts (dicts, in the
    same partitions and order).  ``model``: a model directory, a Tagger or None (the
    shipped model); ``upload``: copy the model to the workers of the current client."""
    check_mode(sentences, "tag_bag(): sentences")
    return bag.map_partitions(_tag_texts, _ref(model, decoder, upload), sentences)


def _tag_texts(texts, ref: ModelRef, sentences: str = DEFAULT_SENTENCES) -> list[dict]:
    with tagging():
        return [doc.to_json() for doc in ref.tagger().pipe(list(texts), sentences=sentences)]


def tag_column(df, column: str, model=None, *, decoder: str | None = None,
               upload: bool = False, prefix: str = "", sentences: str = DEFAULT_SENTENCES):
    """The Dask dataframe ``df`` with entity columns for its text column ``column``:
    ``{prefix}entities`` (a list of dicts per row: start, end, label, text, score) and
    ``{prefix}{TYPE}`` for each entity type of the model (a list of entity texts per
    row).  Missing values (None, NaN) count as empty texts."""
    import pandas as pd

    check_mode(sentences, "tag_column(): sentences")
    ref = _ref(model, decoder, upload)
    if column not in df.columns:
        raise UsageError(f"tag_column(): no column {column!r} in the dataframe (columns: "
                         f"{', '.join(map(str, df.columns))})")
    new = [f"{prefix}entities"] + [f"{prefix}{t}" for t in ref.labels]
    clash = [c for c in new if c in df.columns]
    if clash:
        raise UsageError(f"tag_column(): the dataframe already has column(s) {clash}; give "
                         f"another prefix=")
    meta = df._meta.assign(**{c: pd.Series([], dtype=object) for c in new})
    return df.map_partitions(_tag_frame, column, ref, prefix, sentences, meta=meta)


def _tag_frame(df, column: str, ref: ModelRef, prefix: str, sentences: str = DEFAULT_SENTENCES):
    import pandas as pd

    texts = []
    for value in df[column].tolist():
        if isinstance(value, str):
            texts.append(value)
        elif value is None or pd.isna(value):
            texts.append("")
        else:
            raise TypeError(f"tag_column(): column {column!r} holds a {type(value).__name__}, "
                            f"not text")
    with tagging():
        docs = list(ref.tagger().pipe(texts, sentences=sentences))
    ents = [[e.as_dict() for e in d.ents] for d in docs]
    cols = {f"{prefix}entities": ents}
    for t in ref.labels:
        cols[f"{prefix}{t}"] = [[e["text"] for e in es if e["label"] == t] for es in ents]
    return df.assign(**{c: pd.Series(v, index=df.index, dtype=object) for c, v in cols.items()})


# ---------------------------------------------------------------------- text files
def _plan(paths: Sequence[str], encoding: str, blocksize: int, compute, doc_context: bool
          ) -> list[list[Block]]:
    """Pass 1 over each file (see :mod:`nertag.dask._blocks`): its blocks, with offsets
    (``doc_context``: blocks of whole batches of one process, one task per file)."""
    check_encoding(encoding)
    check_blocksize(blocksize)
    if doc_context:
        plans = compute([[(batch_blocks, str(p), str(p), encoding, blocksize, _size(p))]
                         for p in paths])
        for [(blocks, error)] in plans:
            if error is not None:
                raise NertagError(*error)
        return [blocks for [(blocks, _)] in plans]
    jobs = []
    for path in paths:
        size = _size(path)
        jobs.append([(path, a, b, size) for a, b in split_points(size, blocksize)])
    counts = compute([[(count_block, p, a, b, size, encoding) for p, a, b, size in job]
                      for job in jobs])
    return [blocks_of(c, str(p), str(p), encoding) for c, p in zip(counts, paths)]


def read_text(paths, model=None, *, encoding: str = "utf-8", blocksize: int | None = None,
              decoder: str | None = None, upload: bool = False, source: bool | None = None,
              sentences: str = DEFAULT_SENTENCES):
    """Text files (paths or fsspec URLs the workers can read) → a bag of the jsonl objects
    ``nertag tag`` writes: one dict per sentence, character offsets into its file, in
    order, one partition per block.  The first pass (counting each block's characters and
    lines) runs now, on the current Dask scheduler; tagging runs when the bag is computed.
    ``source`` (default: with more than one file) adds each file's name to its objects.
    ``bag.map(json.dumps).to_textfiles("out/*.jsonl")`` writes one file per partition."""
    import dask.bag as db
    from dask import delayed

    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    check_mode(sentences, "read_text(): sentences")
    ref = _ref(model, decoder, upload)
    with_source = len(paths) > 1 if source is None else source

    def compute(jobs):
        return dask.compute([[delayed(f)(*args) for f, *args in job] for job in jobs])[0]

    plans = _plan(paths, encoding, blocksize or BLOCK_BYTES, compute, ref.doc_context)
    parts = [delayed(_jsonl_objects)(b, str(p), encoding, str(p) if with_source else None, ref,
                                     sentences)
             for p, blocks in zip(paths, plans)
             for b in blocks]
    return db.from_delayed(parts)


def _jsonl_objects(block: Block, name: str, encoding: str, source, ref,
                   sentences: str = DEFAULT_SENTENCES) -> list[dict]:
    out = tag_block(block, name, encoding, "jsonl", source, ref, sentences)
    return [json.loads(line) for line in out.decode("utf-8").splitlines()]


def tag_files(client, paths: Sequence[str], out: IO[str], *, model=None,
              decoder: str | None = None, fmt: str = "jsonl", encoding: str = "utf-8",
              sources: Sequence[str | None] | None = None, blocksize: int | None = None,
              upload: bool = False, window: int | None = None,
              sentences: str = DEFAULT_SENTENCES,
              no_workers: float = NO_WORKER_SECONDS) -> None:
    """Tag text files on ``client``'s cluster and write the output to ``out`` in order,
    the same bytes as ``nertag tag`` in one process (``fmt``: jsonl, conll, inline or html
    body; ``sources[i]`` goes into file i's jsonl objects).  At most ``window`` blocks
    (default: 4 per worker thread) are tagged ahead of the one being written.  Results
    are awaited while the cluster has workers: once it has had none, or its scheduler has
    not answered, for ``no_workers`` seconds, a :class:`NertagError` (what was written
    stays written)."""
    check_mode(sentences, "tag_files(): sentences")
    if not 0 < no_workers <= 24 * 3600:
        raise UsageError(f"tag_files(): no_workers={no_workers!r}: give seconds, more than 0 "
                         f"and at most a day")
    ref = _ref(model, decoder, False)
    if upload:
        _upload(client, ref)
    sources = [None] * len(paths) if sources is None else list(sources)
    if window is None:
        window = 4 * max(1, sum(client.nthreads().values()))

    def compute(jobs):
        futures = [[client.submit(f, *args, pure=False) for f, *args in job] for job in jobs]
        return [[result(client, f, no_workers) for f in job] for job in futures]

    plans = _plan([str(p) for p in paths], encoding, blocksize or BLOCK_BYTES, compute,
                  ref.doc_context)
    for path, source, blocks in zip(paths, sources, plans):
        pending: deque = deque()
        for block in blocks:
            pending.append(client.submit(tag_block, block, str(path), encoding, fmt, source,
                                         ref, sentences, pure=False))
            if len(pending) >= window:
                _write(pending.popleft(), out, client, no_workers)
        while pending:
            _write(pending.popleft(), out, client, no_workers)


def result(client, future, no_workers: float = NO_WORKER_SECONDS):
    """The result of ``future``, awaited as long as ``client``'s cluster has workers: a
    :class:`NertagError` once it has had none, or its scheduler has not answered, for
    ``no_workers`` seconds (and if the task was lost: cancelled, or its workers killed
    again and again)."""
    from distributed.scheduler import KilledWorker

    since = None
    while True:
        try:
            return future.result(timeout=POLL_SECONDS)
        except distributed.TimeoutError:
            pass
        except CancelledError:
            raise NertagError("the Dask cluster lost a task (cancelled: did the scheduler "
                              "stop?); nothing more was written; tag again") from None
        except KilledWorker as e:
            raise NertagError(f"Dask workers died while tagging ({e}); nothing more was "
                              f"written; tag again (with more memory per worker if the "
                              f"system ran out of it)") from None
        why = _no_workers(client)
        if why is None:
            since = None
            continue
        since = time.monotonic() if since is None else since
        if time.monotonic() - since >= no_workers:
            raise NertagError(f"{why} for {no_workers:g} s; nothing more was written; give "
                              f"the cluster workers ('dask worker SCHEDULER-ADDRESS'), then "
                              f"tag again")


def _no_workers(client) -> str | None:
    """Why no task of ``client``'s can run now (None: the cluster has a worker)."""
    try:
        threads = client.nthreads(callback_timeout=max(POLL_SECONDS, 5.0))
    except Exception:  # noqa: BLE001 - whatever a lost connection raises
        return "the Dask scheduler has not answered"
    return None if sum(threads.values()) else "the Dask cluster has had no worker"


def _write(future, out: IO[str], client=None, no_workers: float = NO_WORKER_SECONDS) -> None:
    data = future.result() if client is None else result(client, future, no_workers)
    future.release()
    if writes_utf8_as_is(out):
        out.flush()
        out.buffer.write(data)
    else:
        out.write(data.decode("utf-8"))


def local_cluster(workers: int):
    """A ``distributed.LocalCluster`` of ``workers`` processes (one thread each) on this
    machine, on the loopback interface only, without a dashboard; and its client."""
    # workers without the nanny's MALLOC_TRIM_THRESHOLD_ (see _model.roomy_malloc) and
    # without the statistical profiler that samples their stacks every 10 ms
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ,
                          "distributed.worker.profile.enabled": False}):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, host="127.0.0.1",
                                           dashboard_address="127.0.0.1:0",
                                           silence_logs=logging.ERROR)
    return cluster, distributed.Client(cluster)
