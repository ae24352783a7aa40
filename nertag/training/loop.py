"""Training runs: quiet, importable, reporting through a callback.

``train(cfg, output=...)`` checks every input, reads the data, trains the model
(:func:`nertag.training.fit.fit`; with ``features.doc_context`` after the first stage,
:mod:`nertag.training.two_stage`) and writes the best epoch's model directory (with
``report.html``, :mod:`nertag.training.report`). Progress goes to
``callback(event, info)``; events are ``start``, ``batch``, ``epoch``, ``stage`` (the
first stage's progress), ``warn``, ``note`` (no report: matplotlib is missing) and
``end``. State for resuming is kept in ``<output>.partial/`` (see
:mod:`nertag.training.checkpoint`) until the model is saved.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Callable

from nertag.atomic import check_output_dir
from nertag.config import Config
from nertag.errors import NertagError
from nertag.text.conll import Corpus
from nertag.training import checkpoint as ckpt
from nertag.training.data import (Emit, TrainData, batches, build_model, check_inputs,  # noqa: F401
                                  drop_gazetteer_matches, evaluate_model, prepare, read_corpora,
                                  resolve_data, with_data)
from nertag.training.fit import AVERAGE_EVERY, Fitted, Stopped, fit  # noqa: F401
from nertag.training.saving import git_commit, provenance, save, write_report  # noqa: F401
from nertag.training.adapt import Adaptation, prepare_adaptation
from nertag.training.two_stage import Stage1, first_stage, stages_dir

Callback = Callable[[str, dict], None]
_batches = batches  # (the benchmark's name for it)


def _never() -> bool:
    return False


def _ignore(event: str, info: dict) -> None:
    pass


def train(cfg: Config, *, output: str | Path | None = None, train_path=None, dev_path=None,
          callback: Callback | None = None, backend: str = "hand", force: bool = False,
          resume: bool = False, should_stop: Callable[[], bool] = _never,
          report: bool = True):
    """Train a model; save the best epoch to ``output`` and return ``(model, history)``.

    ``train_path``/``dev_path`` win over ``cfg.data`` (no training file: the sample
    corpus); ``cfg`` itself is not changed, the model's config records the files read.
    ``output`` also gets ``report.html`` (see :mod:`nertag.training.report`) if
    ``report`` and matplotlib is installed; an existing non-empty ``output``, or the
    checkpoint of an interrupted run there, is replaced only with ``force``. When
    ``should_stop()`` turns true, the run saves a checkpoint and raises
    :class:`~nertag.training.checkpoint.Interrupted`, after saving the best epoch so far
    as a complete model in ``output`` (if an epoch has finished); ``resume=True``
    continues it.  During a first stage it raises
    :class:`~nertag.training.two_stage.FirstStageStopped` and keeps nothing.  With
    ``train.base`` the run continues that model (:mod:`nertag.training.adapt`).
    """
    emit = callback or _ignore
    if cfg.train.base and not (train_path or cfg.data.train):
        raise NertagError(f"continuing the model {cfg.train.base} ('train.base') needs your "
                          f"training data: give a training file", exit_code=2,
                          inputs=("train_file", "train"))
    if cfg.train.rehearse and not cfg.train.base:
        raise NertagError(f"'train.rehearse' ({cfg.train.rehearse}) mixes a base model's "
                          f"training data into a run that continues it; set 'train.base' "
                          f"too, or remove it", exit_code=2, inputs=("base", "rehearse"))
    commit = git_commit()  # the code that trains, taken now (the tree may change later)
    cfg = with_data(cfg, train_path, dev_path)
    check_inputs(cfg)
    out = Path(output) if output is not None else None
    if out is not None and not resume:
        _clear_output(out, force)
    start = prepare_adaptation(cfg, emit) if cfg.train.base else None  # (--from MODEL)
    corpora = read_corpora(cfg, emit) if start is None else (start.train, start.dev)
    run = dict(commit=commit, emit=emit, backend=backend, should_stop=should_stop,
               force=force, report=report, start=start)
    if not cfg.features.doc_context:
        return _train_one(cfg, corpora, out, resume=resume, **run)
    work = out if out is not None else Path(tempfile.mkdtemp()) / "model"
    stages = stages_dir(work)
    try:
        stage1 = first_stage(cfg, *corpora, stages, resume=resume, backend=backend,
                             commit=commit, should_stop=should_stop, emit=emit,
                             **(start.first_stage() if start is not None else {}))
        return _train_one(cfg, corpora, out, resume=resume and ckpt.exists(work),
                          stage1=stage1, **run)
    finally:  # the first models stay only for a checkpoint of the second to resume with
        if out is None:
            shutil.rmtree(work.parent, ignore_errors=True)
        elif not ckpt.exists(out):
            shutil.rmtree(stages, ignore_errors=True)


def _clear_output(out: Path, force: bool) -> None:
    """A new run into ``out``: refused if ``out`` is a non-empty directory or holds an
    interrupted run's checkpoint, unless ``force``; then that checkpoint goes."""
    if not force:  # (an interrupted run may have saved a model in out)
        ckpt.refuse_to_overwrite(out)
    check_output_dir(out, force)
    ckpt.remove(out)


def _train_one(cfg: Config, corpora: tuple[Corpus, Corpus | None], out: Path | None, *,
               commit: str | None, emit: Emit, backend: str, should_stop: Callable[[], bool],
               force: bool, report: bool, resume: bool, stage1: Stage1 | None = None,
               start: Adaptation | None = None):
    """Fit one model (the second, after ``stage1``; continuing a base model: from
    ``start``) and save it to ``out``; return ``(model, history)``."""
    train_c, dev_c = corpora
    stage1_dir = stage1.path if stage1 is not None else None
    try:
        fitted = fit(cfg, train_c, dev_c, checkpoint=out, resume=resume, backend=backend,
                     should_stop=should_stop, emit=emit,
                     train_codes=stage1.train_codes if stage1 is not None else None,
                     dev_codes=stage1.dev_codes if stage1 is not None else None,
                     **(start.second_stage(stage1) if start is not None else {}))
    except Stopped as stop:
        raise _interrupted(stop, out, commit, emit, report, stage1_dir) from None
    if stage1 is not None:
        fitted.model.stage1 = stage1.model
    page = None
    if out is not None:
        page = save(out, fitted, commit, emit, force=force or resume, report=report,
                    stage1_dir=stage1_dir)
        ckpt.remove(out)
    emit("end", {"best_epoch": fitted.state.best_epoch, "best_f1": fitted.state.best_f1,
                 "output": str(out), "report": str(page) if page else None})
    return fitted.model, fitted.history


def _interrupted(stop: Stopped, out: Path | None, commit, emit: Emit, report: bool,
                 stage1_dir) -> ckpt.Interrupted:
    """What a stopped run raises, after saving its best epoch so far (if an epoch has
    finished) as a complete model in ``out``."""
    fitted, saved = stop.fitted, None
    if out is not None and fitted.state.best_epoch > 0:
        save(out, fitted, commit, emit, force=True, interrupted=True, report=report,
             stage1_dir=stage1_dir)
        saved = out
    return ckpt.Interrupted(stop.epoch, stop.batch, out, saved=saved,
                            best_epoch=fitted.state.best_epoch,
                            best_f1=fitted.state.best_f1 if fitted.has_dev else None,
                            epochs=fitted.model.cfg.train.epochs, batches=fitted.batches)
