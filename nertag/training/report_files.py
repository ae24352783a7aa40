"""The run files the training report reads from a model directory, checked.

``metrics.json`` (a list of epoch records), ``meta.json`` (an object with the
provenance) and ``config.yaml`` are read, and every key the report uses is checked
to be there (where it needs it) and of the type it uses, so that a damaged or
hand-edited file is one error naming the file and the field, not a crash later on.
Fields that older nertags did not record are optional: the report leaves out what
they would show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nertag.config import read_yaml
from nertag.errors import NertagError

#: What to do about a damaged run file (the end of every error about one).
FIX = "retrain or re-copy the model directory"

NUMBER, INTEGER, STRING, OBJECT, LIST, BOOLEAN = ("a number", "an integer", "a string",
                                                  "an object", "a list", "true or false")

#: An epoch record's fields: name -> (type, required). ``dev`` and ``saturation`` are
#: checked further when they hold something.
_RECORD = {"epoch": (INTEGER, True), "loss": (NUMBER, True), "lr": (NUMBER, False),
           "seconds": (NUMBER, False), "tokens_per_s": (NUMBER, False),
           "best": (BOOLEAN, False), "dev": (OBJECT, False), "confusion": (OBJECT, False),
           "grad_norms": (OBJECT, False), "saturation": (OBJECT, False)}
#: Dev scores (``Evaluation.as_dict()``) and each type's scores in them.
_SCORES = {"precision": (NUMBER, True), "recall": (NUMBER, True), "f1": (NUMBER, True),
           "n_gold": (INTEGER, True), "n_predicted": (INTEGER, True),
           "n_correct": (INTEGER, True), "per_type": (OBJECT, False),
           "token_accuracy": (NUMBER, False), "n_tokens": (INTEGER, False)}
_TYPE_SCORES = {"precision": (NUMBER, True), "recall": (NUMBER, True), "f1": (NUMBER, True),
                "support": (INTEGER, True), "predicted": (INTEGER, True),
                "correct": (INTEGER, True)}
_SATURATION = {"activation": (STRING, True), "saturated": (NUMBER, True),
               "dead": (NUMBER, True), "windows": (INTEGER, True)}
#: ``meta.json``, and its ``provenance`` (whose ``train``, ``dev`` and ``embeddings`` are
#: objects with a ``path``).
_META = {"provenance": (OBJECT, False), "labels": (LIST, False),
         "nertag_version": (STRING, False)}
_PROVENANCE = {"best_epoch": (INTEGER, False), "train": (OBJECT, False),
               "dev": (OBJECT, False), "embeddings": (OBJECT, False),
               "created": (STRING, False), "commit": (STRING, False),
               "interrupted": (BOOLEAN, False)}
_CONFIG = {"model": (OBJECT, False), "train": (OBJECT, False), "features": (OBJECT, False),
           "data": (OBJECT, False)}


@dataclass
class Run:
    """What a model directory records about its training, checked."""

    history: list[dict]   # metrics.json: one record per epoch (at least one)
    meta: dict            # meta.json
    cfg: dict             # config.yaml, as read (sections model, train, features, data)

    @property
    def provenance(self) -> dict:
        return self.meta.get("provenance") or {}

    def best(self) -> dict:
        """The best epoch's record: the one the provenance names, else the last marked
        best, else the last."""
        best_epoch = self.provenance.get("best_epoch")
        return next((r for r in self.history if r["epoch"] == best_epoch), None) or \
            max((r for r in self.history if r.get("best")), key=lambda r: r["epoch"],
                default=self.history[-1])


def read_run(d: Path) -> Run:
    """The checked run files of the model directory ``d`` (its config.yaml, meta.json
    and metrics.json); :class:`NertagError` naming the file and field if one is
    missing, unreadable or holds something else than the report needs."""
    metrics, meta_path = d / "metrics.json", d / "meta.json"
    history = read_json(metrics)
    meta = read_json(meta_path)
    cfg = read_yaml(d / "config.yaml") or {}
    if not isinstance(history, list):
        raise NertagError(f"{metrics}: holds {_kind(history)}, not a list of epoch records; "
                          f"{FIX}")
    if not history:
        raise NertagError(f"{metrics}: no epochs recorded; nothing to report")
    for i, record in enumerate(history):
        _check_record(metrics, f"record {i + 1}", record)
    _check(meta_path, "", meta, _META)
    _check(meta_path, "provenance.", meta.get("provenance") or {}, _PROVENANCE)
    _items(meta_path, "labels", meta.get("labels") or [], STRING)
    for key in ("train", "dev", "embeddings"):
        _check(meta_path, f"provenance.{key}.", (meta.get("provenance") or {}).get(key) or {},
               {"path": (STRING, False)})
    _check(d / "config.yaml", "", cfg, _CONFIG)
    _check(d / "config.yaml", "model.", cfg.get("model") or {}, {"tag_scheme": (STRING, False)})
    return Run(history, meta, cfg)


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NertagError(f"{path.parent}: {path.name} is missing; this is not a complete "
                          f"nertag model directory") from None
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise NertagError(f"{path}: unreadable or corrupted ({type(e).__name__}); {FIX}") \
            from None


def _check_record(path: Path, where: str, record) -> None:
    """One epoch record of metrics.json (``where``: which, for the errors)."""
    _check(path, f"{where}: ", record, _RECORD)
    if record.get("dev"):
        _check(path, f"{where}: dev.", record["dev"], _SCORES)
        for name, scores in (record["dev"].get("per_type") or {}).items():
            _check(path, f"{where}: dev.per_type.{name}.", scores, _TYPE_SCORES)
    if record.get("saturation"):
        _check(path, f"{where}: saturation.", record["saturation"], _SATURATION)
    for gold, row in (record.get("confusion") or {}).items():
        _values(path, f"{where}: confusion.{gold}", row, INTEGER)
    _values(path, f"{where}: grad_norms", record.get("grad_norms") or {}, NUMBER, null=True)


def _check(path: Path, prefix: str, obj, fields: dict) -> None:
    """``obj`` is an object whose ``fields`` (name -> (type, required)) are there if
    required and of their type (null: as if not there) if there; ``prefix`` names
    ``obj`` in the file ("" for the whole file)."""
    if not isinstance(obj, dict):
        what = f"{prefix.rstrip(': .')} is" if prefix else "holds"
        raise NertagError(f"{path}: {what} {_kind(obj)}, not an object; {FIX}")
    for key, (kind, required) in fields.items():
        value = obj.get(key)
        if value is None:
            if required:
                raise NertagError(f"{path}: {prefix}{key} is missing; {FIX}")
        elif not _is(value, kind):
            raise NertagError(f"{path}: {prefix}{key} is {_kind(value)}, not {kind}; {FIX}")


def _values(path: Path, where: str, obj, kind: str, null: bool = False) -> None:
    """``obj`` is an object whose every value is of type ``kind`` (or null)."""
    if not isinstance(obj, dict):
        raise NertagError(f"{path}: {where} is {_kind(obj)}, not an object; {FIX}")
    for key, value in obj.items():
        if not (_is(value, kind) or (null and value is None)):
            raise NertagError(f"{path}: {where}.{key} is {_kind(value)}, not {kind}; {FIX}")


def _items(path: Path, where: str, items: list, kind: str) -> None:
    """Every item of the list ``items`` is of type ``kind``."""
    for i, value in enumerate(items):
        if not _is(value, kind):
            raise NertagError(f"{path}: {where}[{i}] is {_kind(value)}, not {kind}; {FIX}")


def _is(value, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == BOOLEAN
    types = {NUMBER: (int, float), INTEGER: int, STRING: str, OBJECT: dict, LIST: list,
             BOOLEAN: bool}[kind]
    return isinstance(value, types)


def _kind(value) -> str:
    """What a JSON (or YAML) value is, for an error."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return BOOLEAN
    for kind, types in ((INTEGER, int), (NUMBER, float), (STRING, str), (OBJECT, dict),
                        (LIST, list)):
        if isinstance(value, types):
            return kind
    return f"a {type(value).__name__}"
