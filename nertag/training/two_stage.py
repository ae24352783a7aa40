"""Two-stage training for document context (``features.doc_context``).

The second model sees, for each token, what a first model tagged the other occurrences
of its word in the document (:mod:`nertag.text.doc_context`).  At tagging time the
first model is trained on all the training data; its tags on the training data itself
would be far better than on new text, and the second model would learn to trust them
too much.  So, as Ratinov & Roth (2009) and stacking in general do, the training
documents' codes are *jackknifed*:

1. the training documents are dealt into k folds (``train.doc_folds``, round robin);
2. for each fold, a first model trained on the other k − 1 folds tags it;
3. a first model trained on everything tags the dev set, and is kept: it becomes the
   final model's ``stage1/``;
4. the second model trains on the codes of 2 (training) and 3 (dev).

The k + 1 first models have the same config with ``features.doc_context`` off (and
``train.doc_first_hidden`` hidden units, if set) and run
in up to two processes side by side (this is what makes the recipe about twice, not
k + 2 times, as long as one model).  They are written to ``OUTPUT.stages/``, which
stays only while a checkpoint of the second model needs it (resuming loads the first
models instead of training them again): :func:`nertag.training.loop.train` removes it
on every other way out.  A first model keeps no checkpoint: a stop request during the
first stage ends its worker processes at once and raises :class:`FirstStageStopped`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable

import numpy as np

from nertag.config import Config, SaveConfig
from nertag.errors import NertagError
from nertag.inference.model import NerModel, first_stage_codes
from nertag.modelio import load_model
from nertag.nn.ragged import sentence_starts, token_rows
from nertag.text.conll import Corpus
from nertag.text.doc_context import document_parts
from nertag.training.data import Emit
from nertag.training.fit import Stopped, fit
from nertag.training.rehearsal import Rehearsal
from nertag.training.saving import save


@dataclass
class Stage1:
    """What the second model's training needs from the first stage."""

    model: NerModel                  # the first model, trained on all the training data
    path: Path                       # its model directory (copied in as stage1/)
    train_codes: np.ndarray          # (N_train, T) jackknifed codes of the training tokens
    dev_codes: np.ndarray | None     # (N_dev, T) the first model's codes of the dev tokens


class FirstStageStopped(NertagError):
    """A stop request (Ctrl-C, SIGTERM) during the first stage: nothing is kept."""

    def __init__(self):
        super().__init__("interrupted while training the first-stage models; nothing was "
                         "saved (a run can be resumed once its second stage has started): "
                         "start it again", exit_code=130)


def fold_sentences(parts: np.ndarray, k: int) -> tuple[list[np.ndarray], list]:
    """The sentence indices of each of k folds, and the sentences of each document
    (part) in each fold: part p (:func:`~nertag.text.doc_context.document_parts`) goes
    to fold p mod k, whole, so that no model tags a document it saw a part of; with
    fewer than k parts, sentence s goes to fold s mod k, and each fold's sentences are a
    document of their own (None: the fold's sentences, cut into parts again)."""
    if len(parts) < k:
        unit = np.arange(int(np.sum(parts)))
        return [np.flatnonzero(unit % k == f) for f in range(k)], [None] * k
    unit = np.repeat(np.arange(len(parts)), parts)
    return ([np.flatnonzero(unit % k == f) for f in range(k)],
            [parts[f::k] for f in range(k)])


def subset(corpus: Corpus, rows: np.ndarray) -> Corpus:
    return Corpus(corpus.path, [corpus.sentences[i] for i in rows], corpus.scheme, corpus.format)


def codes_of(first: NerModel, corpus: Corpus, types: list[str], max_sentences: int,
             docs=None) -> np.ndarray:
    """The document-context codes (N, T) of a corpus from ``first``'s tags (``docs``:
    sentences per document, by default the corpus's own)."""
    words = [w for s in corpus.sentences for w in s.words]
    lengths = np.array([len(s.words) for s in corpus.sentences], np.int64)
    return first_stage_codes(first, words, lengths,
                             corpus.doc_sizes() if docs is None else docs, types,
                             max_sentences)


@dataclass
class _Job:
    """One first-stage model: trained with ``cfg`` on ``train``, saved to ``out``."""

    cfg: Config
    train: Corpus
    dev: Corpus | None
    out: Path
    backend: str
    commit: str | None
    init: NerModel | None = None          # continuing a model: its first stage, grown
    rehearsal: Rehearsal | None = None    # sentences mixed into each epoch


#: The first-stage jobs of the current call, for forked workers to read (a job holds
#: corpora: inherited by fork, never pickled).
_JOBS: list[_Job] = []


def _train_job(job: _Job, should_stop: Callable[[], bool]) -> None:
    """Train and save one first-stage model (raises :class:`FirstStageStopped`)."""
    try:
        start = None if job.init is None else dataclasses.replace(  # (a copy to train)
            job.init, params={k: v.copy() for k, v in job.init.params.items()})
        fitted = fit(job.cfg, job.train, job.dev, backend=job.backend, should_stop=should_stop,
                     model=start, rehearsal=job.rehearsal)
    except Stopped:
        raise FirstStageStopped() from None
    save(job.out, fitted, job.commit, lambda event, info: None, force=True, report=False)


def _worker(i: int, send, parent: int) -> None:
    """Job i of :data:`_JOBS` in a forked process; its outcome goes to ``send``.  Only the
    parent handles Ctrl-C and SIGTERM: here SIGINT is ignored and SIGTERM (sent by the
    parent when asked to stop) ends the process at once; a worker whose parent died
    stops after its batch."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        _train_job(_JOBS[i], should_stop=lambda: os.getppid() != parent)
        send.send(("done", "", 0))
    except NertagError as e:
        send.send(("error", e.message, e.exit_code))
    except BaseException as e:  # a bug: the parent says which (one line)
        send.send(("crash", f"{type(e).__name__}: {e}", 1))
    finally:
        send.close()


def _run_jobs(workers: int, should_stop: Callable[[], bool]) -> None:
    """Every job of :data:`_JOBS`, ``workers`` at a time in forked processes (1: here).
    ``should_stop()`` is asked every 0.1 s: when true, the workers are ended (SIGTERM)
    and :class:`FirstStageStopped` raised; so is any other way out of this function."""
    if workers == 1:
        for job in _JOBS:
            _train_job(job, should_stop)
        return
    ctx, parent = get_context("fork"), os.getpid()
    pending, running = list(range(len(_JOBS))), {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_worker, args=(pending.pop(0), send, parent),
                                   daemon=True)
                proc.start()
                send.close()
                running[proc.sentinel] = (proc, recv)
            for sentinel in wait(list(running), timeout=0.1):
                proc, recv = running.pop(sentinel)
                outcome = recv.recv() if recv.poll() else \
                    ("crash", f"a first-stage worker ended with exit code {proc.exitcode}", 1)
                proc.join()
                recv.close()
                if outcome[0] != "done":
                    raise NertagError(outcome[1], outcome[2]) if outcome[0] == "error" \
                        else RuntimeError(outcome[1])
            if should_stop():
                raise FirstStageStopped()
    finally:
        for proc, _ in running.values():
            proc.terminate()
        for proc, recv in running.values():
            proc.join()
            recv.close()


def first_config(cfg: Config) -> Config:
    """The config of the first-stage models of a two-stage ``cfg``."""
    hidden = cfg.train.doc_first_hidden or cfg.model.hidden
    return dataclasses.replace(  # (saved whole: the final save stores it as cfg.save says)
        cfg, features=dataclasses.replace(cfg.features, doc_context=False), save=SaveConfig(),
        model=dataclasses.replace(cfg.model, hidden=hidden))


def first_stage(cfg: Config, train: Corpus, dev: Corpus | None, stages: Path, *,
                resume: bool = False, backend: str = "hand", commit: str | None = None,
                should_stop: Callable[[], bool] = lambda: False,
                emit: Emit = lambda event, info: None, init: NerModel | None = None,
                rehearsal: Rehearsal | None = None, types: list[str] | None = None) -> Stage1:
    """Train (or, resuming, load) the first models into ``stages`` and return what the
    second model needs; progress goes to ``stage`` and ``warn`` events.  Continuing a
    model (:mod:`nertag.training.adapt`): each first model starts from ``init`` (its
    grown first stage) and mixes in ``rehearsal``, and the fold models are not scored
    on the dev set (each keeps its last epoch: a few seconds less of a run that should
    take under a minute); ``types`` are the second model's document-context types
    (default: the training data's)."""
    first_cfg = first_config(cfg)
    k, cap = cfg.train.doc_folds, cfg.features.doc_max_sentences
    sizes = train.doc_sizes()
    folds, fold_docs = fold_sentences(document_parts(sizes, cap), k)
    if sum(len(f) > 0 for f in folds) < k:
        raise NertagError(f"{cfg.data.train}: features.doc_context needs at least "
                          f"train.doc_folds={k} sentences to jackknife the first stage; found "
                          f"{len(train.sentences)}", exit_code=2)
    if len(sizes) < k:
        emit("warn", {"message": f"{cfg.data.train}: {len(sizes)} document(s) (no "
                                 f"-DOCSTART- lines?): "
                                 + (f"documents are parts of at most {cap} sentences "
                                    f"(features.doc_max_sentences)" if cap else
                                    "a document's context is the whole file")})
    jobs = {"stage1": train} | {
        f"fold{f}": subset(train, np.concatenate([folds[g] for g in range(k) if g != f]))
        for f in range(k)}
    if not resume:  # (what a killed run may have left)
        shutil.rmtree(stages, ignore_errors=True)
    stages.mkdir(parents=True, exist_ok=True)
    todo = [name for name in jobs if not (resume and _complete(stages / name))]
    workers = max(1, min(2, len(todo), os.cpu_count() or 1))
    emit("stage", {"message": f"document context: training the first-stage models "
                              f"({', '.join(todo) or 'all done'}: stage1 on all "
                              f"the data, fold<i> on all but fold i) in {workers} "
                              f"process{'es' if workers > 1 else ''}, then the second model"})
    t0 = time.perf_counter()
    _JOBS[:] = [_Job(first_cfg, jobs[name], dev if init is None or name == "stage1" else None,
                     stages / name, backend, commit, init, rehearsal)  # (continuing: the
                for name in todo]                                     # folds keep their last epoch)
    try:
        _run_jobs(workers, should_stop)
    finally:
        _JOBS.clear()
    models = {name: load_model(stages / name, read_only=True) for name in jobs}
    first = models["stage1"]
    types = train.entity_types() if types is None else types
    train_codes = np.zeros((train.n_tokens, len(types)), np.int8)
    lengths = np.array([len(s.words) for s in train.sentences], np.int64)
    starts = sentence_starts(lengths)
    for f in range(k):  # each fold's tokens get the codes of the model that never saw them
        codes = codes_of(models[f"fold{f}"], subset(train, folds[f]), types, cap,
                         fold_docs[f])
        train_codes[token_rows(starts[folds[f]], lengths[folds[f]])] = codes
    dev_codes = codes_of(first, dev, types, cap) if dev is not None and dev.sentences else None
    score = [r for r in first_history(stages / "stage1") if r.get("best")]
    emit("stage", {"message": f"first stage done in {time.perf_counter() - t0:.0f} s"
                              + (f"; the first model's dev F1 "
                                 f"{100 * score[-1]['dev']['f1']:.2f}"
                                 if score and "dev" in score[-1] else "")})
    return Stage1(first, stages / "stage1", train_codes, dev_codes)


def _complete(d: Path) -> bool:
    return (d / "manifest.json").is_file()


def stages_dir(out: Path) -> Path:
    """Where the first-stage models of a two-stage run into ``out`` are trained."""
    return out.with_name(out.name + ".stages")


def first_history(d: Path) -> list:
    try:
        return json.loads((d / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
