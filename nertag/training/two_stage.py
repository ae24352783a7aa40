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

The k + 1 first models have the same config with ``features.doc_context`` off and run
in up to two processes side by side (this is what makes the recipe about twice, not
k + 2 times, as long as one model).  They are written to ``OUTPUT.stages/`` (removed
once the final model is saved); with ``--resume`` a finished one is loaded instead of
trained again.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import numpy as np

from nertag.config import Config, apply_overrides
from nertag.errors import NertagError
from nertag.inference.model import NerModel, first_stage_codes
from nertag.modelio import check_output_dir, load_model
from nertag.nn.ragged import sentence_starts, token_rows
from nertag.text.conll import Corpus
from nertag.text.datasets import read_corpus
from nertag.training import checkpoint as ckpt


@dataclass
class Stage1:
    """What the second model's training needs from the first stage."""

    model: NerModel                  # the first model, trained on all the training data
    path: Path                       # its model directory (copied in as stage1/)
    train_codes: np.ndarray          # (N_train, T) jackknifed codes of the training tokens
    dev_codes: np.ndarray | None     # (N_dev, T) the first model's codes of the dev tokens


def fold_sentences(corpus: Corpus, k: int) -> list[np.ndarray]:
    """The sentence indices of each of k folds: document d goes to fold d mod k; with
    fewer than k documents (a corpus without ``-DOCSTART-`` lines is one), sentence s
    goes to fold s mod k, and each fold's sentences are a document of their own."""
    sizes = corpus.doc_sizes()
    unit = np.repeat(np.arange(len(sizes)), sizes) if len(sizes) >= k \
        else np.arange(len(corpus.sentences))
    return [np.flatnonzero(unit % k == f) for f in range(k)]


def subset(corpus: Corpus, rows: np.ndarray) -> Corpus:
    return Corpus(corpus.path, [corpus.sentences[i] for i in rows], corpus.scheme, corpus.format)


def codes_of(first: NerModel, corpus: Corpus, types: list[str]) -> np.ndarray:
    """The document-context codes (N, T) of a corpus from ``first``'s tags."""
    words = [w for s in corpus.sentences for w in s.words]
    lengths = np.array([len(s.words) for s in corpus.sentences], np.int64)
    return first_stage_codes(first, words, lengths, corpus.doc_sizes(), types)


#: The first-stage runs of the current call, for forked workers to read (a job holds
#: functions and corpora: inherited by fork, never pickled).
_JOBS: list[tuple] = []


def _run_job(i: int) -> str:
    """First-stage run i of :data:`_JOBS` (in a worker process): 'done' or 'interrupted'."""
    train_one, cfg, out, corpora, backend, resume, should_stop = _JOBS[i]
    try:
        train_one(cfg, output=out, corpora=corpora, backend=backend, force=True, report=False,
                  resume=resume, should_stop=should_stop)
    except ckpt.Interrupted:
        return "interrupted"
    return "done"


def _complete(d: Path) -> bool:
    return (d / "manifest.json").is_file() and not ckpt.exists(d)


def train_two_stage(train_one: Callable, cfg: Config, *, output, train_path, dev_path,
                    callback=None, backend: str = "hand", force: bool = False,
                    resume: bool = False, should_stop: Callable[[], bool] = lambda: False,
                    report: bool = True):
    """Train the first models, then the second with ``train_one`` (the training loop's
    ``train``); return what it returns, ``(model, history)``."""
    import tempfile

    emit = callback or (lambda event, info: None)
    data = cfg.data
    train_c = read_corpus(train_path, data.format, data.encoding, data.tag_scheme)
    dev_c = read_corpus(dev_path, data.format, data.encoding, data.tag_scheme) \
        if dev_path else None
    out = Path(output) if output is not None else Path(tempfile.mkdtemp()) / "model"
    if not resume:  # (before the first stage's minutes, not after)
        check_output_dir(out, force)
    stages = stages_dir(out)
    stages.mkdir(parents=True, exist_ok=True)
    first_cfg = apply_overrides(cfg, ["features.doc_context=false"])
    k = cfg.train.doc_folds
    folds = fold_sentences(train_c, k)
    if sum(len(f) > 0 for f in folds) < k:
        raise NertagError(f"{train_path}: features.doc_context needs at least "
                          f"train.doc_folds={k} sentences to jackknife the first stage; found "
                          f"{len(train_c.sentences)}", exit_code=2)
    if len(train_c.doc_sizes()) < k:
        emit("warn", {"message": f"{train_path}: {len(train_c.doc_sizes())} document(s) (no "
                                 f"-DOCSTART- lines?): the jackknife folds deal sentences "
                                 f"instead, and a document's context is the whole file"})
    jobs = [("stage1", train_c)] + [
        (f"fold{f}", subset(train_c, np.concatenate([folds[g] for g in range(k) if g != f])))
        for f in range(k)]
    todo = [(name, c) for name, c in jobs if not (resume and _complete(stages / name))]
    workers = max(1, min(2, len(todo), os.cpu_count() or 1))
    emit("note", {"message": f"document context: training the first-stage models "
                             f"({', '.join(n for n, _ in todo) or 'all done'}: stage1 on all "
                             f"the data, fold<i> on all but fold i) in {workers} "
                             f"process{'es' if workers > 1 else ''}, then the second model"})
    t0 = time.perf_counter()
    if todo:
        _JOBS[:] = [(train_one, first_cfg, stages / name, (c, dev_c), backend,
                     resume and ckpt.exists(stages / name), should_stop) for name, c in todo]
        try:
            if workers > 1:
                with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                    results = list(pool.map(_run_job, range(len(_JOBS))))
            else:
                results = [_run_job(i) for i in range(len(_JOBS))]
        finally:
            _JOBS.clear()
        if "interrupted" in results:
            raise NertagError(f"interrupted while training the first-stage models; 'nertag "
                              f"train --resume {out}' is not available before the second "
                              f"stage starts: run the command again", exit_code=130)
    models = {name: load_model(stages / name, read_only=True) for name, _ in jobs}
    first = models["stage1"]
    types = train_c.entity_types()
    train_codes = np.zeros((train_c.n_tokens, len(types)), np.int8)
    lengths = np.array([len(s.words) for s in train_c.sentences], np.int64)
    starts = sentence_starts(lengths)
    for f in range(k):  # each fold's tokens get the codes of the model that never saw them
        codes = codes_of(models[f"fold{f}"], subset(train_c, folds[f]), types)
        train_codes[token_rows(starts[folds[f]], lengths[folds[f]])] = codes
    dev_codes = codes_of(first, dev_c, types) if dev_c is not None and dev_c.sentences else None
    score = [r for r in first_history(stages / "stage1") if r.get("best")]
    emit("note", {"message": f"first stage done in {time.perf_counter() - t0:.0f} s"
                             + (f"; the first model's dev F1 {100 * score[-1]['dev']['f1']:.2f}"
                                if score and "dev" in score[-1] else "")})
    stage1 = Stage1(first, stages / "stage1", train_codes, dev_codes)
    result = train_one(cfg, output=output, corpora=(train_c, dev_c), stage1=stage1,
                       callback=callback, backend=backend, force=force,
                       resume=resume and ckpt.exists(out), should_stop=should_stop,
                       report=report)
    import shutil

    shutil.rmtree(stages, ignore_errors=True)
    return result


def stages_dir(out: Path) -> Path:
    """Where the first-stage models of a two-stage run into ``out`` are trained."""
    return out.with_name(out.name + ".stages")


def first_history(d: Path) -> list:
    import json

    try:
        return json.loads((d / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
