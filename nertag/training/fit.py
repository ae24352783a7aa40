"""Training one model from its corpora: :func:`fit`.

``fit`` builds the model from a config (vocabularies, labels, parameters initialised
from ``train.seed``), runs minibatch training with early stopping on dev F1 and returns
the best epoch as a :class:`Fitted`.  It writes nothing but checkpoints (with
``checkpoint``: ``<checkpoint>.partial/``, :mod:`nertag.training.checkpoint`); saving
the model is the caller's (:mod:`nertag.training.loop`).  Progress goes to
``emit(event, info)``: ``start``, ``batch``, ``epoch`` and ``warn``.

With ``train.average`` the running average of the parameters is what is scored,
kept as the best epoch and returned (:func:`nertag.nn.optim.averaged_params`); the
parameters being trained are never swapped for it.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from nertag.config import Config
from nertag.inference.model import NerModel
from nertag.nn.optim import average_params, averaged_params
from nertag.text.conll import Corpus
from nertag.training import checkpoint as ckpt
from nertag.training.checkpoint import RunError, TrainState, _braced
from nertag.training.data import (Emit, TrainData, batches, build_model, drop_gazetteer_matches,
                                  evaluate_model, n_batches, prepare)
from nertag.training.diagnostics import sample_rows, saturation
from nertag.training.rehearsal import Rehearsal
from nertag.training.step import Diverged, optimizer_for, train_step

EXPLODE, VANISH = 1e3, 1e-7
AVERAGE_EVERY = 50  # batches between updates of the running parameter average


@dataclass
class Fitted:
    """A trained model and how its training went."""

    model: NerModel     # its parameters are the best epoch's
    state: TrainState   # history, best epoch and F1, ...
    has_dev: bool       # whether epochs were scored on a dev set
    batches: int        # minibatches an epoch

    @property
    def history(self) -> list[dict]:
        return self.state.history


class Stopped(Exception):
    """``should_stop()`` turned true: training stopped at ``epoch`` (in progress), after
    ``batch`` of its batches, and saved a checkpoint (if it keeps any); ``fitted`` holds
    the best epoch so far (``fitted.state.best_epoch`` 0: none had finished)."""

    def __init__(self, epoch: int, batch: int, fitted: Fitted):
        super().__init__(f"stopped at epoch {epoch}, batch {batch}")
        self.epoch, self.batch, self.fitted = epoch, batch, fitted


class TrainingDiverged(RunError):
    """The loss or a gradient stopped being finite (a :class:`~nertag.training.step.Diverged`
    step); the last good checkpoint, if any, is kept."""

    def __init__(self, epoch: int, batch: int, what: str, lr: float, kept: Path | None):
        note = f"; the last good checkpoint is kept in {_braced(kept)}" if kept else \
            "; no checkpoint was saved yet"
        super().__init__(f"training diverged at epoch {epoch}, batch {batch}: {_braced(what)}; "
                         f"lower train.lr (now {lr:g}) or enable gradient clipping, e.g. "
                         f"{{clip}}{note}")


def _never() -> bool:
    return False


def _ignore(event: str, info: dict) -> None:
    pass


def fit(cfg: Config, train: Corpus, dev: Corpus | None = None, *,
        train_codes: np.ndarray | None = None, dev_codes: np.ndarray | None = None,
        checkpoint: Path | None = None, resume: bool = False, backend: str = "hand",
        should_stop: Callable[[], bool] = _never, emit: Emit = _ignore,
        model: NerModel | None = None, rehearsal: Rehearsal | None = None) -> Fitted:
    """Train one model of ``cfg`` on ``train``, scoring every epoch on ``dev``; return the
    best epoch.

    ``train_codes`` (N_train, T) / ``dev_codes`` (N_dev, T): the corpora's first-stage
    codes (``features.doc_context``, :mod:`nertag.training.two_stage`). ``checkpoint``:
    the model directory whose ``.partial/`` keeps the checkpoints (None: none kept);
    ``resume`` continues from the latest one (in its ``backend``, not ``backend``).
    ``model``: the model to start from (continuing a base model: :mod:`nertag.training.adapt`;
    its parameters are trained in place), else one built fresh from ``cfg``;
    ``rehearsal``: sentences mixed into each epoch (:mod:`nertag.training.rehearsal`).
    Raises :class:`Stopped` when ``should_stop()`` turns true before the last epoch ends,
    and :class:`TrainingDiverged`.
    """
    model = build_model(cfg, train) if model is None else model
    if rehearsal is not None:  # the user's sentences, then every sentence any epoch draws
        train, train_codes, rehearsal = rehearsal.joined(train, train_codes)
    data = prepare(model, train, train_codes)
    scored = prepare(model, dev, dev_codes) if dev is not None and dev.sentences else None
    return _Trainer(cfg, model, data, scored, checkpoint, backend, emit,
                    rehearsal).run(resume, should_stop)


class _Trainer:
    """The state of one :func:`fit` between its epochs and batches."""

    def __init__(self, cfg: Config, model: NerModel, data: TrainData, dev: TrainData | None,
                 checkpoint: Path | None, backend: str, emit: Emit,
                 rehearsal: Rehearsal | None = None):
        tc = cfg.train
        self.cfg, self.model, self.data, self.dev = cfg, model, data, dev
        self.rehearsal = rehearsal  # (data then holds the user's sentences and the drawn ones)
        self.checkpoint, self.emit = checkpoint, emit
        self.opt = optimizer_for(cfg)
        self.state = TrainState(lr=tc.lr, backend=backend)
        self.best = {k: v.copy() for k, v in model.params.items()}
        self.batches = n_batches(self._epoch_data(1), cfg.model.head, tc.batch_size)
        probe = (dev or data).X  # saturation: a fixed sample of dev (else training) windows
        self.probe = probe[sample_rows(len(probe))]

    def _epoch_data(self, epoch: int) -> TrainData:
        """What epoch ``epoch`` trains on: all the data, or with rehearsal the user's
        sentences and that epoch's draw."""
        return self.data if self.rehearsal is None else self.rehearsal.epoch(self.data, epoch)

    def fitted(self) -> Fitted:
        return Fitted(dataclasses.replace(self.model, params=self.best), self.state,
                      self.dev is not None, self.batches)

    def run(self, resume: bool, should_stop: Callable[[], bool]) -> Fitted:
        tc = self.cfg.train
        if resume:  # (a resumed run keeps its backend: hand and graph differ in the last bit)
            self.state, self.best = ckpt.load(self.checkpoint, self.model, self.opt)
            self.emit("warn", {"message": f"resuming from epoch {self.state.epoch}, "
                                          f"batch {self.state.batch}"})
        state = self.state
        first = self._epoch_data(state.epoch)
        self.emit("start", {"train": self.cfg.data.train, "dev": self.cfg.data.dev,
                            "tokens": len(first.y), "sentences": len(first.lengths),
                            "epochs": tc.epochs, "labels": self.model.labels,
                            "params": int(sum(v.size for v in self.model.params.values())),
                            "start_epoch": state.epoch, "start_batch": state.batch,
                            "batches": self.batches})
        while state.epoch <= tc.epochs:
            epoch = state.epoch
            self._train_epoch(epoch, should_stop)
            stop = self._end_epoch(epoch)
            if self.checkpoint is not None and state.epoch <= tc.epochs and not stop:
                ckpt.save(self.checkpoint, self.model, self.opt, state, self.best, self.cfg)
            if stop:
                self.emit("warn", {"message": f"early stopping: no dev F1 gain for "
                                              f"{tc.patience} epochs"})
                break
            if should_stop() and state.epoch <= tc.epochs:
                raise Stopped(epoch + 1, 0, self.fitted())
        return self.fitted()

    def _train_epoch(self, epoch: int, should_stop: Callable[[], bool]) -> None:
        """The rest of epoch ``epoch`` from batch ``state.batch`` on; stopped after a batch
        that is not its last: a checkpoint, then :class:`Stopped`."""
        cfg, tc, state, data = self.cfg, self.cfg.train, self.state, self._epoch_data(epoch)
        rng = np.random.default_rng([tc.seed, epoch])
        epoch_batches = batches(data, cfg.model.head, tc.batch_size, rng)
        drop_gazetteer_matches(self.model, data, tc.gazetteer_dropout, tc.seed, epoch)
        if state.rng_state is not None:
            rng.bit_generator.state = state.rng_state
        self.opt.lr = state.lr
        dropout = (cfg.model.dropout_input, cfg.model.dropout_hidden)
        t0, norms_sum = time.perf_counter(), state.grad_norms_sum
        for bi in range(state.batch, len(epoch_batches)):
            idx, lens = epoch_batches[bi]
            try:  # (train_step computes every gradient norm anyway: summing them is free)
                loss = train_step(self.model, self.opt, data.X[idx], data.y[idx], lens, rng,
                                  word_dropout=tc.word_dropout, dropout=dropout,
                                  backend=state.backend, norms=norms_sum)
            except Diverged as err:
                kept = self.checkpoint is not None and ckpt.exists(self.checkpoint)
                raise TrainingDiverged(epoch, bi + 1, err.what, state.lr,
                                       ckpt.latest(self.checkpoint) if kept else None) from None
            state.grad_norms_n += 1
            if tc.average and (bi + 1) % AVERAGE_EVERY == 0:
                average_params(self.model.params, self.opt.state, tc.average)
            state.loss_sum += loss * len(idx)
            state.tokens_done += len(idx)
            state.batch = bi + 1
            if bi % 10 == 0 or bi + 1 == len(epoch_batches):
                elapsed = state.seconds + time.perf_counter() - t0
                self.emit("batch", {"epoch": epoch, "batch": bi + 1,
                                    "batches": len(epoch_batches),
                                    "loss": state.loss_sum / max(state.tokens_done, 1),
                                    "tokens_per_s": state.tokens_done / max(elapsed, 1e-9)})
            if should_stop() and bi + 1 < len(epoch_batches):
                state.rng_state = rng.bit_generator.state
                state.seconds += time.perf_counter() - t0
                if self.checkpoint is not None:
                    ckpt.save(self.checkpoint, self.model, self.opt, state, self.best, self.cfg)
                raise Stopped(epoch, bi + 1, self.fitted())
        state.seconds += time.perf_counter() - t0

    def _end_epoch(self, epoch: int) -> bool:
        """Score and record epoch ``epoch``, keep it if it is the best so far, schedule
        the learning rate and start the next epoch; whether to stop early."""
        tc, state = self.cfg.train, self.state
        seconds = state.seconds
        norms = {k: v / max(state.grad_norms_n, 1) for k, v in state.grad_norms_sum.items()}
        record = {"epoch": epoch, "loss": state.loss_sum / max(state.tokens_done, 1),
                  "lr": state.lr, "seconds": seconds,
                  "tokens_per_s": state.tokens_done / max(seconds, 1e-9), "grad_norms": norms}
        self._warn_gradients(epoch, norms)
        # with train.average: score and keep the running average, not the last iterate
        scored = averaged_params(self.model.params, self.opt.state) if tc.average \
            else self.model.params
        improved = True
        if self.dev is not None:
            confusion: dict = {}
            ev = evaluate_model(self.model, self.dev, confusion, params=scored)
            record["dev"], record["confusion"] = ev.as_dict(), confusion
            improved = ev.f1 > state.best_f1
        record["saturation"] = saturation(scored, self.probe, self.model.arch)
        if improved:
            state.best_f1 = record.get("dev", {}).get("f1", 0.0)
            state.best_epoch = epoch
            state.bad_epochs = 0
            self.best = {k: v.copy() for k, v in scored.items()}
        else:
            state.bad_epochs += 1
            if tc.lr_schedule == "plateau":
                state.lr *= tc.lr_decay
        if tc.lr_schedule == "linear":
            state.lr = tc.lr * max(0.0, 1 - epoch / tc.epochs) + 1e-3 * tc.lr * (epoch / tc.epochs)
        record["best"] = improved
        state.history.append(record)
        self.emit("epoch", record)
        state.epoch, state.batch, state.rng_state = epoch + 1, 0, None
        state.loss_sum, state.tokens_done = 0.0, 0
        state.grad_norms_sum, state.grad_norms_n, state.seconds = {}, 0, 0.0
        return bool(self.dev is not None and tc.patience and state.bad_epochs >= tc.patience)

    def _warn_gradients(self, epoch: int, norms: dict[str, float]) -> None:
        for k, v in norms.items():
            if v > EXPLODE:
                self.emit("warn", {"message": f"epoch {epoch}: gradient norm of {k} is {v:.3g} "
                                              f"(exploding); lower train.lr or set "
                                              f"train.clip_norm"})
            elif v < VANISH and not k.startswith("E_"):
                self.emit("warn", {"message": f"epoch {epoch}: gradient norm of {k} is {v:.3g} "
                                              f"(vanishing); try model.activation=tanh or a "
                                              f"larger lr"})
