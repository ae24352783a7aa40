"""Gradient checks of real models: a trained model (at its parameters) or a config's
architecture (freshly initialised on its training data), each with a random minibatch
of real-looking windows, as :class:`nertag.nn.gradcheck.Problem` s for
:func:`nertag.nn.gradcheck.check_model` (``nertag gradcheck --model`` / ``--config``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nertag.config import Config
from nertag.inference.model import NerModel
from nertag.modelio import load_model, model_path
from nertag.nn.gradcheck import Problem, char_rows
from nertag.text.datasets import read_corpus
from nertag.training.loop import build_model, resolve_data


def model_problem(m: NerModel, rng: np.random.Generator, batch: int = 16) -> Problem:
    """A random minibatch of ``batch`` windows for model ``m`` and its parameters (as
    float64): X (batch, n, F) ids drawn from each feature's vocabulary (a repeated word
    among them), y (batch,) random labels, and for the CRF three sentences' lengths."""
    a = m.arch
    lengths = [batch // 3, batch // 3, batch - 2 * (batch // 3)] if a.head == "crf" else None
    sents = []
    for n in (lengths or [batch]):
        # real-looking sentences: ids drawn from each feature's vocabulary, with repeats
        sents.append(np.stack([rng.integers(3, max(V, 4), n) for _, V, _ in a.features], axis=1))
    ids = np.concatenate(sents)
    if a.chars is not None:  # and each word's characters
        ids = np.concatenate([ids, char_rows(rng, a.chars, len(ids))], axis=1)
    ids[1] = ids[0]  # a repeated word
    X = m.featurizer.windows(ids.astype(np.int32), np.array(lengths or [batch]))
    y = rng.integers(0, a.n_labels, batch)
    params = {k: v.astype(np.float64) for k, v in m.params.items()}
    return Problem(params, X, y, a, (None, None), lengths)


def saved_model(model: str | Path | None) -> NerModel:
    """The model in directory ``model`` (None or ``"default"``: the shipped one)."""
    return load_model(model_path(model))


def config_model(cfg: Config) -> NerModel:
    """A fresh model of config ``cfg``: vocabularies and labels from its training data
    (any training format, as training reads it; none: the sample corpus)."""
    train_file, _ = resolve_data(cfg)
    return build_model(cfg, read_corpus(train_file, cfg.data.format, cfg.data.encoding,
                                        cfg.data.tag_scheme))
