"""Fitting a model's entity-score calibration (:mod:`nertag.inference.calibration`) on
tagged data: at the end of training on the dev set (:mod:`nertag.training.saving`), and
``nertag calibrate``, which writes a calibrated copy of a model directory.

``scores_from``: the calibration may be fitted on another model's predictions of the
data.  The shipped model is trained on train+dev, so its own dev predictions are
too good to calibrate on; its calibration is fitted on dev with the train-only model
of the same recipe (``nertag calibrate default dev.txt --scores-from TRAIN_ONLY -o OUT``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np

from nertag import modelio
from nertag.atomic import check_output_dir, new_temp_dir, replace_dir
from nertag.blas import one_thread
from nertag.errors import NertagError
from nertag.inference.calibration import (CALIBRATION_FILE, Calibration, Bin, entity_outcomes,
                                          fit, reliability)
from nertag.text.conll import Corpus
from nertag.text.datasets import read_corpus


class Fitted(NamedTuple):
    """A calibration and the reliability tables of its data before and after it."""

    calibration: Calibration
    before: list[Bin]
    after: list[Bin]


def outcomes(model, corpus: Corpus, decoder: str | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """The raw scores (E,) of ``model``'s entities in ``corpus`` and whether each is
    correct (E,) (:func:`~nertag.inference.calibration.entity_outcomes`)."""
    with one_thread():
        pred, conf = model.predict([s.words for s in corpus.sentences], decoder,
                                   docs=corpus.doc_sizes())
    return entity_outcomes([s.tags for s in corpus.sentences], pred, conf)


def fit_on(model, corpus: Corpus, info: dict | None = None) -> Fitted:
    """The calibration of ``model``'s entity scores fitted on ``corpus`` (``info``: added
    to the calibration's record of what it was fitted on)."""
    scores, correct = outcomes(model, corpus)
    cal = fit(scores, correct)
    cal.info.update(info or {})
    return Fitted(cal, reliability(scores, correct), reliability(cal(scores), correct))


def read_tagged(data: str | Path, format: str = "auto", encoding: str = "utf-8",
                scheme: str = "auto", labels_map: dict[str, str] | None = None) -> Corpus:
    """The tagged sentences of ``data`` to calibrate on (none: an error), their types
    renamed by ``labels_map`` (the model's: as it learned them)."""
    corpus = read_corpus(data, format, encoding, scheme, labels_map)
    if not corpus.sentences:
        raise NertagError(f"{data}: no sentences to calibrate on (no tagged tokens in the "
                          f"file); give the tagged dev file", inputs=("data",))
    return corpus


def describe(path: str | Path) -> dict:
    """What a calibration was fitted on: a file's path and SHA-256."""
    return {"data": str(path), "sha256": modelio.sha256(Path(path))}


def calibrated_copy(model_dir: str | Path, data: str | Path, out: str | Path, *,
                    force: bool = False, scores_from: str | Path | None = None,
                    format: str = "auto", encoding: str = "utf-8", scheme: str = "auto"
                    ) -> Fitted:
    """Write ``out``: a copy of the model in ``model_dir`` (checked) with a calibration
    fitted on the tagged file ``data`` (on the predictions of the model in
    ``scores_from``, if given, instead of its own); its ``calibration.json`` replaces any
    the model had, and the manifest lists it.  ``out`` must not be ``model_dir``, and
    is written atomically: an existing one only with ``force``."""
    src = modelio.model_path(model_dir)
    model = modelio.load_model(src, read_only=True)
    scorer = model if scores_from is None else \
        modelio.load_model(modelio.model_path(scores_from), read_only=True)
    if scores_from is not None and scorer.labels != model.labels:
        raise NertagError(f"{scores_from}: its labels {scorer.labels} are not those of "
                          f"{model_dir} ({model.labels}); give the model trained with the "
                          f"same recipe", inputs=("scores_from",))
    out = Path(out)
    if out.exists() and src.resolve() == out.resolve():
        raise NertagError(f"{out}: is the model directory itself; give another output "
                          f"directory", exit_code=2, inputs=("output",))
    check_output_dir(out, force)
    corpus = read_tagged(data, format, encoding, scheme, model.cfg.labels.map)
    info = describe(data)
    if scores_from is not None:
        info["scores_from"] = str(scores_from)
    fitted = fit_on(scorer, corpus, info)
    tmp = new_temp_dir(out)
    try:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        (tmp / CALIBRATION_FILE).write_text(fitted.calibration.to_json(), encoding="utf-8")
        manifest = json.loads((tmp / "manifest.json").read_text(encoding="utf-8"))
        manifest[CALIBRATION_FILE] = modelio.sha256(tmp / CALIBRATION_FILE)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        modelio.load_model(tmp, read_only=True)  # the copy is complete and loads
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return fitted
