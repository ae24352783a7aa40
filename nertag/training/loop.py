"""The training loop: quiet, importable, reporting through a callback.

``train(cfg, output=...)`` reads the data, builds the model, runs minibatch
training with early stopping on dev F1 and writes the best epoch's model
directory (with ``report.html``, :mod:`nertag.training.report`). Progress goes to
``callback(event, info)``; events are ``start``, ``batch``, ``epoch``, ``warn``,
``note`` (no report: matplotlib is missing) and ``end``. State for ``--resume`` is kept in
``<output>.partial/`` (see :mod:`nertag.training.checkpoint`) until the model is saved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from nertag.training import checkpoint as ckpt
from nertag.training.checkpoint import TrainState
from nertag.nn import window as M
from nertag import modelio
from nertag.text import tags as tagmod
from nertag.config import Config, gazetteer_path
from nertag.text.conll import Corpus
from nertag.text.datasets import read_corpus
from nertag.errors import NertagError
from nertag.text.features import Featurizer
from nertag.text.gazetteer import Gazetteer, drop_matches
from nertag.nn.optim import Optimizer, average_params
from nertag.nn.ragged import sentence_starts, token_rows
from nertag.inference.model import NerModel, model_arch
from nertag.resources import sample_dev, sample_train
from nertag.text.error_analysis import analyse
from nertag.text.scoring import evaluate
from nertag.training.diagnostics import sample_rows, saturation
from nertag.training.step import Diverged, train_step

Callback = Callable[[str, dict], None]

EXPLODE, VANISH = 1e3, 1e-7


@dataclass
class TrainData:
    X: np.ndarray        # (N, n, F) windows
    y: np.ndarray        # (N,) gold label ids in the model's scheme
    lengths: np.ndarray  # (S,) sentence lengths
    corpus: Corpus
    codes: np.ndarray | None = None  # (N, C) token codes (name lists as matched, before
    #                                   dropout; then document context)


def resolve_data(cfg: Config, train_path=None, dev_path=None) -> tuple[str, str | None]:
    """Command-line paths win over the config; no training file means the sample corpus."""
    train = train_path or cfg.data.train
    dev = dev_path or cfg.data.dev
    if train is None:
        train = str(sample_train())
        dev = dev or str(sample_dev())
    return str(train), (str(dev) if dev else None)


def prepare(model: NerModel, corpus: Corpus, doc_codes: np.ndarray | None = None) -> TrainData:
    """Windows, gold label ids (in the model's scheme) and sentence lengths of a corpus
    (``doc_codes`` (N, T): its document-context codes, with ``features.doc_context``)."""
    index = {t: i for i, t in enumerate(model.labels)}
    y = []
    for s in corpus.sentences:
        seq = s.tags if model.scheme == "bio" else tagmod.convert(s.tags, "bio", model.scheme)
        y.extend(index.get(t, 0) for t in seq)
    lengths = np.array([len(s.words) for s in corpus.sentences], dtype=np.int64)
    feat = model.featurizer
    flat = [w for s in corpus.sentences for w in s.words]
    codes = feat.token_codes(flat, lengths, doc_codes) if feat.n_token_features else None
    X = feat.windows(feat.feature_ids(flat, lengths) if codes is None else
                     feat.token_ids(feat.word_ids(flat), codes), lengths)
    return TrainData(X, np.array(y, dtype=np.int64), lengths, corpus, codes)


def drop_gazetteer_matches(model: NerModel, data: TrainData, p: float, seed: int,
                           epoch: int) -> None:
    """Match dropout for an epoch: hide each whole name-list match of the training data
    with probability p (:func:`nertag.text.gazetteer.drop_matches`), drawn again every
    epoch from a generator of its own seeded with (seed, epoch, 1) — the same run gives
    the same draws, a resumed one too, and the other random draws are unchanged."""
    G = model.featurizer.n_gazetteer  # (the name-list columns come first)
    if data.codes is None or p <= 0 or not G:
        return
    rng = np.random.default_rng([seed, epoch, 1])
    model.featurizer.put_codes(data.X, drop_matches(data.codes[:, :G], p, rng), data.lengths)


def build_model(cfg: Config, corpus: Corpus) -> NerModel:
    """Vocabularies, labels and freshly initialised parameters (with pretrained vectors)."""
    from nertag.text.vectors import load_vectors

    lists_path = gazetteer_path(cfg)  # (a missing file is an error before the slow reads)
    vectors = None
    if cfg.embeddings.path:
        vectors = load_vectors(cfg.embeddings.path, max_words=cfg.embeddings.max_words)
    words = [s.words for s in corpus.sentences]
    lists = Gazetteer.load(lists_path) if lists_path is not None else None
    feat = Featurizer.build(cfg.features, words, extra_words=vectors.words if vectors else (),
                            gazetteer=lists, doc_types=corpus.entity_types())
    labels = tagmod.labels_for(corpus.entity_types(), cfg.model.tag_scheme)
    arch = model_arch(cfg, feat, len(labels))
    dtype = np.dtype(cfg.train.dtype)
    params = M.init_params(arch, np.random.default_rng(cfg.train.seed), dtype,
                           cfg.model.init_scale)
    if vectors is not None:
        vectors.copy_into(params["E_word"], feat.features[0].vocab, cfg.embeddings.scale)
    return NerModel(cfg, feat, arch, params, labels)


def evaluate_model(model: NerModel, data: TrainData, confusion: dict | None = None):
    """The model's scores on ``data``; with a dict for ``confusion``, also its gold ×
    predicted type counts (``ErrorAnalysis.as_dict()["confusion"]``) put into it."""
    pred, _ = model.predict([s.words for s in data.corpus.sentences], X=data.X)
    gold = [s.tags for s in data.corpus.sentences]
    if confusion is not None:
        confusion.update(analyse(gold, pred).as_dict()["confusion"])
    return evaluate(gold, pred)


def _batches(data: TrainData, head: str, batch_size: int, rng: np.random.Generator):
    """Minibatch index arrays: shuffled tokens, or shuffled whole sentences for the CRF."""
    if head != "crf":
        order = rng.permutation(len(data.y))
        return [(order[i:i + batch_size], None) for i in range(0, len(order), batch_size)]
    offsets = sentence_starts(data.lengths)
    order = rng.permutation(len(data.lengths))
    out = []
    for i in range(0, len(order), batch_size):
        sents = order[i:i + batch_size]
        lens = data.lengths[sents]
        idx = token_rows(offsets[sents], lens)
        out.append((idx, lens))
    return out


AVERAGE_EVERY = 50  # batches between updates of the running parameter average


def _git_commit() -> str | None:
    import subprocess

    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "nertag"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("+modified" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(cfg: Config, state: TrainState, commit: str | None = None) -> dict:
    """Where a model came from: data (with checksums), code commit, best epoch and scores."""
    import datetime

    def describe(path):
        if not path:
            return None
        return {"path": str(path), "sha256": modelio.sha256(Path(path))}

    best = next((r for r in state.history if r["epoch"] == state.best_epoch), {})
    return {"train": describe(cfg.data.train), "dev": describe(cfg.data.dev),
            "embeddings": describe(cfg.embeddings.path) if cfg.embeddings.path else None,
            "commit": commit, "created": datetime.datetime.now(
                datetime.timezone.utc).isoformat(timespec="seconds"),
            "best_epoch": state.best_epoch, "epochs_run": len(state.history),
            "training_seconds": round(sum(r["seconds"] for r in state.history), 1),
            "dev_scores": best.get("dev")}


def train(cfg: Config, *, output: str | Path | None = None, train_path=None, dev_path=None,
          callback: Callback | None = None, backend: str = "hand", force: bool = False,
          resume: bool = False, should_stop: Callable[[], bool] = lambda: False,
          report: bool = True, corpora: tuple | None = None, stage1=None):
    """Train a model; save the best epoch to ``output`` and return ``(model, history)``.

    ``output`` also gets ``report.html`` (see :mod:`nertag.training.report`) if
    ``report`` and matplotlib is installed. When ``should_stop()`` turns true, the
    run saves a checkpoint and raises :class:`~nertag.training.checkpoint.Interrupted`,
    after saving the best epoch so far as a complete model in ``output`` (if an
    epoch has finished); ``resume=True`` continues it.

    With ``features.doc_context`` this runs :func:`nertag.training.two_stage.train_two_stage`,
    which calls back here with ``corpora`` (the corpora, already read) and ``stage1``
    (:class:`~nertag.training.two_stage.Stage1`: the first model and the codes).
    """
    if cfg.features.doc_context and stage1 is None:
        from nertag.training.two_stage import train_two_stage

        train_file, dev_file = resolve_data(cfg, train_path, dev_path)
        return train_two_stage(train, cfg, output=output, train_path=train_file,
                               dev_path=dev_file, callback=callback, backend=backend,
                               force=force, resume=resume, should_stop=should_stop, report=report)
    emit = callback or (lambda event, info: None)
    commit = _git_commit()  # the code that trains, taken now (the tree may change later)
    train_file, dev_file = resolve_data(cfg, train_path, dev_path)
    cfg.data.train, cfg.data.dev = train_file, dev_file
    gazetteer_path(cfg)  # a bad features.gazetteer fails now, not after reading the data
    out = Path(output) if output else None
    if out is not None and not resume:
        if ckpt.exists(out) and not force:  # (an interrupted run may have saved a model in out)
            raise NertagError(f"{out}: an interrupted run left a checkpoint in "
                              f"{ckpt.partial_dir(out)}; continue it with 'nertag train "
                              f"--resume {out}' or add --force to start over", exit_code=2)
        modelio.check_output_dir(out, force)
        ckpt.remove(out)
    tc = cfg.train
    data_cfg = cfg.data
    train_c, dev_c = corpora or (read_corpus(train_file, data_cfg.format, data_cfg.encoding,
                                             data_cfg.tag_scheme), None)
    if not train_c.sentences:
        raise NertagError(f"{train_file}: no sentences found; expected CoNLL columns 'word ... "
                          f"tag' or JSON lines with text and entities")
    if not train_c.entity_types():
        emit("warn", {"message": f"{train_file}: the training file has no entities; "
                                 f"the model will only ever predict O"})
    if corpora is None and dev_file:
        dev_c = read_corpus(dev_file, data_cfg.format, data_cfg.encoding, data_cfg.tag_scheme)
    for note in train_c.notes + (dev_c.notes if dev_c else []):
        emit("warn", {"message": note})
    model = build_model(cfg, train_c)
    data = prepare(model, train_c, stage1 and stage1.train_codes)
    dev = prepare(model, dev_c, stage1 and stage1.dev_codes) if dev_c and dev_c.sentences else None
    frozen = ("E_word",) if cfg.embeddings.path and cfg.embeddings.freeze else ()
    opt = Optimizer(tc.optimizer, tc.lr, tc.l2, tc.clip_norm, frozen)
    state = TrainState(lr=tc.lr, backend=backend)
    best = {k: v.copy() for k, v in model.params.items()}
    if resume:
        state, best = ckpt.load(out, model, opt)
        emit("warn", {"message": f"resuming from epoch {state.epoch}, batch {state.batch}"})
    # a resumed run keeps its backend (state.backend): hand and graph differ in the last bit
    B = tc.batch_size
    n_batches = -(-(len(data.lengths) if cfg.model.head == "crf" else len(data.y)) // B)
    emit("start", {"train": train_file, "dev": dev_file, "tokens": len(data.y),
                   "sentences": len(data.lengths), "epochs": tc.epochs, "labels": model.labels,
                   "params": int(sum(v.size for v in model.params.values())),
                   "start_epoch": state.epoch, "start_batch": state.batch,
                   "batches": n_batches})
    dropout = (cfg.model.dropout_input, cfg.model.dropout_hidden)
    probe = (dev or data).X  # saturation: a fixed sample of dev (else training) windows
    probe = probe[sample_rows(len(probe))]

    def interrupted(epoch: int, batch: int) -> ckpt.Interrupted:
        saved = None
        if out is not None and state.best_epoch > 0:  # the best epoch so far, as a model
            save(out, model, best, state, cfg, commit, emit, force=True, interrupted=True,
                 report=report, stage1_dir=stage1 and stage1.path)
            saved = out
        return ckpt.Interrupted(epoch, batch, out, saved=saved, best_epoch=state.best_epoch,
                                best_f1=state.best_f1 if dev is not None else None,
                                epochs=tc.epochs, batches=n_batches)

    while state.epoch <= tc.epochs:
        epoch = state.epoch
        rng = np.random.default_rng([tc.seed, epoch])
        batches = _batches(data, cfg.model.head, B, rng)
        drop_gazetteer_matches(model, data, tc.gazetteer_dropout, tc.seed, epoch)
        if state.rng_state is not None:
            rng.bit_generator.state = state.rng_state
        opt.lr = state.lr
        t0, norms_sum = time.perf_counter(), state.grad_norms_sum
        for bi in range(state.batch, len(batches)):
            idx, lens = batches[bi]
            try:  # (train_step computes every gradient norm anyway: summing them is free)
                loss = train_step(model, opt, data.X[idx], data.y[idx], lens, rng,
                                  word_dropout=tc.word_dropout, dropout=dropout,
                                  backend=state.backend, norms=norms_sum)
            except Diverged as err:
                good = ckpt.latest(out) if out is not None and ckpt.exists(out) else None
                ckpt_note = f"; the last good checkpoint is kept in {good}" if good else \
                    "; no checkpoint was saved yet"
                raise NertagError(
                    f"training diverged at epoch {epoch}, batch {bi + 1}: {err.what}; lower "
                    f"train.lr (now {state.lr:g}) or enable gradient clipping, e.g. "
                    f"--set train.clip_norm=5{ckpt_note}") from None
            state.grad_norms_n += 1
            if tc.average and (bi + 1) % AVERAGE_EVERY == 0:
                average_params(model.params, opt.state, tc.average)
            state.loss_sum += loss * len(idx)
            state.tokens_done += len(idx)
            state.batch = bi + 1
            if bi % 10 == 0 or bi + 1 == len(batches):
                elapsed = state.seconds + time.perf_counter() - t0
                emit("batch", {"epoch": epoch, "batch": bi + 1, "batches": len(batches),
                               "loss": state.loss_sum / max(state.tokens_done, 1),
                               "tokens_per_s": state.tokens_done / max(elapsed, 1e-9)})
            if should_stop() and bi + 1 < len(batches):
                state.rng_state = rng.bit_generator.state
                state.seconds += time.perf_counter() - t0
                if out is not None:
                    ckpt.save(out, model, opt, state, best, cfg)
                raise interrupted(epoch, bi + 1)
        seconds = state.seconds + time.perf_counter() - t0
        norms = {k: v / max(state.grad_norms_n, 1) for k, v in norms_sum.items()}
        record = {"epoch": epoch, "loss": state.loss_sum / max(state.tokens_done, 1),
                  "lr": state.lr, "seconds": seconds,
                  "tokens_per_s": state.tokens_done / max(seconds, 1e-9), "grad_norms": norms}
        for k, v in norms.items():
            if v > EXPLODE:
                emit("warn", {"message": f"epoch {epoch}: gradient norm of {k} is {v:.3g} "
                                         f"(exploding); lower train.lr or set train.clip_norm"})
            elif v < VANISH and not k.startswith("E_"):
                emit("warn", {"message": f"epoch {epoch}: gradient norm of {k} is {v:.3g} "
                                         f"(vanishing); try model.activation=tanh or a larger lr"})
        improved = True
        current = model.params
        if tc.average:  # score and keep the running average, not the last iterate
            model.params = {k: opt.state.get(k, {}).get("avg", v) for k, v in current.items()}
        if dev is not None:
            confusion: dict = {}
            ev = evaluate_model(model, dev, confusion)
            record["dev"], record["confusion"] = ev.as_dict(), confusion
            improved = ev.f1 > state.best_f1
        record["saturation"] = saturation(model.params, probe, model.arch)
        if improved:
            state.best_f1 = record.get("dev", {}).get("f1", 0.0)
            state.best_epoch = epoch
            state.bad_epochs = 0
            best = {k: v.copy() for k, v in model.params.items()}
        else:
            state.bad_epochs += 1
            if tc.lr_schedule == "plateau":
                state.lr *= tc.lr_decay
        if tc.lr_schedule == "linear":
            state.lr = tc.lr * max(0.0, 1 - epoch / tc.epochs) + 1e-3 * tc.lr * (epoch / tc.epochs)
        model.params = current
        record["best"] = improved
        state.history.append(record)
        emit("epoch", record)
        state.epoch, state.batch, state.rng_state = epoch + 1, 0, None
        state.loss_sum, state.tokens_done = 0.0, 0
        state.grad_norms_sum, state.grad_norms_n, state.seconds = {}, 0, 0.0
        stop = dev is not None and tc.patience and state.bad_epochs >= tc.patience
        if out is not None and state.epoch <= tc.epochs and not stop:
            ckpt.save(out, model, opt, state, best, cfg)
        if stop:
            emit("warn", {"message": f"early stopping: no dev F1 gain for {tc.patience} epochs"})
            break
        if should_stop() and state.epoch <= tc.epochs:
            raise interrupted(epoch + 1, 0)
    model.params = best
    if stage1 is not None:
        model.stage1 = stage1.model
    page = None
    if out is not None:
        page = save(out, model, best, state, cfg, commit, emit, force=force or resume,
                    report=report, stage1_dir=stage1 and stage1.path)
        ckpt.remove(out)
    emit("end", {"best_epoch": state.best_epoch, "best_f1": state.best_f1, "output": str(out),
                 "report": str(page) if page else None})
    return model, state.history


def save(out: Path, model: NerModel, best: dict, state: TrainState, cfg: Config, commit,
         emit: Callback, *, force: bool, interrupted: bool = False, report: bool = True,
         stage1_dir=None):
    """Save ``best`` as the model directory ``out`` (with its report, if ``report``);
    return the report's path (None if none was written)."""
    current, model.params = model.params, best
    try:
        prov = provenance(cfg, state, commit)
        if interrupted:
            prov["interrupted"] = True
        modelio.save_model(out, model, state.history, force=force, provenance=prov,
                           stage1_dir=stage1_dir)
    finally:
        model.params = current
    return write_report(out, emit) if report else None


def write_report(out: Path, emit: Callback) -> Path | None:
    """``out/report.html``; without matplotlib a ``note`` event says what to install.
    The model is saved already: a report that fails is a warning, not a failed run."""
    from nertag.training.report import MissingExtra, write_report as write

    try:
        return write(out)
    except MissingExtra as e:
        emit("note", {"message": f"no report.html: {e.message}; then run 'nertag report {out}'"})
    except (NertagError, OSError, ValueError) as e:
        emit("warn", {"message": f"could not write {out}/report.html: {e}"})
    return None
