"""A trained model as a model directory: its provenance (data checksums, code commit,
best epoch) and its ``report.html``."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

from nertag import modelio
from nertag.config import Config
from nertag.errors import NertagError
from nertag.inference.calibration import CALIBRATION_FILE, Calibration
from nertag.text.datasets import read_corpus
from nertag.training.calibrate import describe, fit_on
from nertag.training.checkpoint import TrainState
from nertag.training.data import Emit
from nertag.training.fit import Fitted


def git_commit() -> str | None:
    """The commit of the code (``+modified`` when ``nertag/`` has changes); None outside
    a git checkout."""
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
            "dev_scores": best.get("dev")} | _continued(cfg, describe)


def _continued(cfg: Config, describe) -> dict:
    """A run continuing a base model (``train.base``): the base (its manifest's SHA-256)
    and the rehearsal used."""
    tc = cfg.train
    if not tc.base:
        return {}
    return {"base": {"path": tc.base, "manifest_sha256": modelio.sha256(
                Path(tc.base) / "manifest.json")},
            "rehearsal": {"file": describe(tc.rehearse), "ratio": tc.rehearse_ratio,
                          "pseudo": tc.pseudo_rehearse}}


def save(out: Path, fitted: Fitted, commit: str | None, emit: Emit, *, force: bool,
         interrupted: bool = False, report: bool = True, stage1_dir=None) -> Path | None:
    """Save the fitted model (its best epoch) as the model directory ``out`` (with its
    report, if ``report``); return the report's path (None if none was written)."""
    prov = provenance(fitted.model.cfg, fitted.state, commit)
    if interrupted:
        prov["interrupted"] = True
    calibration = dev_calibration(fitted, emit)
    if calibration is not None:
        prov["calibration"] = calibration.info
    modelio.save_model(out, fitted.model, fitted.history, force=force, provenance=prov,
                       stage1_dir=stage1_dir, calibration=calibration)
    return write_report(out, emit) if report else None


def dev_calibration(fitted: Fitted, emit: Emit) -> Calibration | None:
    """The calibration of the model's entity scores on its dev set (None without a dev
    set, or if the model finds no entities there); a ``stage`` event gives the dev ECE
    before and after it."""
    data = fitted.model.cfg.data
    if not fitted.has_dev or not data.dev:
        return None
    corpus = read_corpus(data.dev, data.format, data.encoding, data.tag_scheme,
                         fitted.model.cfg.labels.map)  # as the dev set scored in training
    try:
        cal = fit_on(fitted.model, corpus, describe(data.dev)).calibration
    except NertagError:  # no predicted entities: nothing to calibrate
        return None
    emit("stage", {"message": f"entity scores calibrated on the dev set: expected calibration "
                             f"error {cal.info['ece_before']:.4f} -> {cal.info['ece_after']:.4f}"
                             f" ({cal.info['entities']} entities, {CALIBRATION_FILE})"})
    return cal


def write_report(out: Path, emit: Emit) -> Path | None:
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
