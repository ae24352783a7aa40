"""Training and evaluation from Python: :func:`train` and :func:`evaluate` compute what
``nertag train`` and ``nertag evaluate`` do (``nertag evaluate`` calls :func:`predict_file`)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Callable, Mapping, NamedTuple

from nertag.api.tagger import Tagger, _check_decoder
from nertag.blas import one_thread
from nertag.config import Config, from_dict, load_config, parse_override
from nertag.errors import NertagError, UsageError
from nertag.inference.calibration import model_calibration
from nertag.modelio import load_model, model_path
from nertag.text.conll import Corpus
from nertag.text.datasets import read_corpus
from nertag.text.scoring import Evaluation
from nertag.text.scoring import evaluate as score
from nertag.text.tags import get_entities

__all__ = ["train", "evaluate", "predict_file", "Prediction", "default_output"]


def _override_map(overrides) -> dict[str, dict]:
    """``{"train.epochs": 5}`` or ``["train.epochs=5"]`` as {section: {key: value}}."""
    if isinstance(overrides, Mapping):
        items = list(overrides.items())
    else:
        items = []
        for item in [overrides] if isinstance(overrides, str) else overrides or []:
            if not isinstance(item, str) or "=" not in item or not _dotted(item.split("=")[0]):
                raise UsageError(f"nertag.train(): override {item!r}: expected 'SECTION.KEY="
                                 f"VALUE', e.g. 'train.epochs=5' (or {{'train.epochs': 5}})")
            (sec, key), value = parse_override(item)
            items.append((f"{sec}.{key}", value))
    out: dict[str, dict] = {}
    for key, value in items:
        if not (isinstance(key, str) and _dotted(key)):
            raise UsageError(f"nertag.train(): override key {key!r}: expected SECTION.KEY, "
                             f"e.g. 'model.hidden'")
        sec, _, name = key.strip().partition(".")
        out.setdefault(sec, {})[name] = value
    return out


def _dotted(key: str) -> bool:  # (three parts: an entry of a mapping, labels.map.person)
    return len(parts := key.strip().split(".")) in (2, 3) and all(parts)


def default_output() -> Path:
    """The model directory of a training run given none: a new name under ./runs/ (the
    date and time, with ``-2``, ``-3``, ... if taken); ./runs/ is created, the
    directory itself is not."""
    base = Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    base.parent.mkdir(parents=True, exist_ok=True)
    return next(out for i in itertools.count(1)
                if not (out := base.with_name(base.name + (f"-{i}" if i > 1 else ""))).exists())


def train(config: str | Path | Config | None = None, overrides=None,
          output: str | Path | None = None, train: str | Path | None = None,
          dev: str | Path | None = None, seed: int | None = None, force: bool = False,
          callback: Callable[[str, dict], None] | None = None,
          base: str | Path | None = None, rehearse: str | Path | None = None) -> Path:
    """Train a model as ``nertag train`` does and return its directory.

    ``config``: a bundled config name (``"default"``, ``"conll2003"``, ...) or a YAML
    file; ``overrides``: ``{"train.epochs": 5}`` or ``["train.epochs=5"]``; ``output``:
    the model directory (None: a new one under ``runs/``), replaced only if ``force``;
    ``train``/``dev``: CoNLL files (default: the config's, else the sample corpus);
    ``callback(event, info)`` receives the progress events of
    :func:`nertag.training.loop.train`.

    ``base``: continue this trained model (as ``nertag train --from``, docs/adapt.md):
    its config unless ``config`` is given (whose features and architecture must then
    be the base's), new words and entity types added; ``rehearse``: a file of the
    base's training data mixed into each epoch (``train.rehearse``).
    """
    # here, not at the top: the training code is ~10% of nertag.load()'s import time (30 ms)
    from nertag.training.adapt import base_run_config, continue_config
    from nertag.training.loop import train as run

    if isinstance(config, Config):
        raw = config.to_dict()
    elif config is None and base is not None:
        raw = base_run_config(base).to_dict()
    else:
        raw = load_config(None if config is None else str(config)).to_dict()
    for sec, values in _override_map(overrides).items():
        for name, value in values.items():  # ("map.person": an entry of labels.map)
            key, _, entry = name.partition(".")
            section = raw.setdefault(sec, {})
            if entry and isinstance(section.get(key), dict):
                section[key] = dict(section[key], **{entry: value})
            else:
                section[name] = value
    if seed is not None:
        raw["train"]["seed"] = seed
    if rehearse is not None:
        raw["train"]["rehearse"] = str(rehearse)
    cfg = from_dict(raw, src="nertag.train() overrides")
    if base is not None:
        cfg = continue_config(base, cfg, "nertag.train() config" if config is not None
                              else "nertag.train() overrides")
    out = Path(output) if output is not None else default_output()
    run(cfg, output=out, train_path=train, dev_path=dev, callback=callback, force=force)
    return out


class Prediction(NamedTuple):
    """A tagged file and the model's tags for it (see :func:`predict_file`)."""

    corpus: Corpus                     # the file's sentences and gold tags (BIO)
    pred: list[list[str]]              # predicted BIO tags, sentence by sentence
    model_types: list[str]             # the entity types the model predicts
    unknown_types: Counter             # gold entity types the model does not predict
    conf: list | None = None           # the predicted tags' probabilities (arrays, per sentence)
    calibration: object | None = None  # the model's entity-score calibration (None: none)


def predict_file(model: str | Path | Tagger, data: str | Path, *, decoder: str | None = None,
                 encoding: str = "utf-8", scheme: str = "auto",
                 format: str = "auto") -> Prediction:
    """Read a tagged file in any training format (see :mod:`nertag.text.datasets`) and
    tag its sentences with the model: what ``nertag evaluate`` scores.  The file's types
    are renamed by the model's ``labels.map`` as its training data was (``person`` is
    scored as the ``PER`` it learned).  A file without sentences is an error."""
    _check_decoder(decoder, "nertag.evaluate()")
    if isinstance(model, Tagger):
        m, decoder = model._model, decoder or model.decoder
    else:
        m = load_model(model_path(model), read_only=True)
    corpus = read_corpus(data, format, encoding, scheme, m.cfg.labels.map)  # as it learned them
    if not corpus.sentences:
        raise NertagError(f"{data}: no sentences to score (no tagged tokens in the file); "
                          f"check that it is the right file")
    known = {lab[2:] for lab in m.labels if lab != "O"}
    unknown = Counter(t for s in corpus.sentences for t, _, _ in get_entities(s.tags)
                      if t not in known)
    with one_thread():  # as the command (one thread unless the environment says)
        pred, conf = m.predict([s.words for s in corpus.sentences], decoder,
                               docs=corpus.doc_sizes())
    return Prediction(corpus, pred, sorted(known), unknown, conf, model_calibration(m))


def evaluate(model: str | Path | Tagger, data: str | Path, *, decoder: str | None = None,
             encoding: str = "utf-8", scheme: str = "auto", format: str = "auto"
             ) -> Evaluation:
    """Score a model on a tagged file as ``nertag evaluate`` does: overall and per
    entity type (``.precision``, ``.recall``, ``.f1``, ``.per_type[...]``, ``.as_dict()``).

    ``model``: a model directory or a :class:`Tagger`; ``decoder``: None for the
    model's (or the Tagger's) own; ``scheme``: a CoNLL file's tags (auto, iob1, bio,
    bioes, io); ``format``: the file's format (auto: detected).
    """
    p = predict_file(model, data, decoder=decoder, encoding=encoding, scheme=scheme,
                     format=format)
    return score([s.tags for s in p.corpus.sentences], p.pred)
