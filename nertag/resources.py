"""Where nertag finds what it ships: the sample corpus (``data/``), models (``models/``)
and the compiled name lists (``nertag/resources_data/``, inside the package everywhere).

In a source checkout or an editable install these are the repository's top-level
``data/`` and ``models/``; a regular install carries them inside the package as
``nertag/_data`` and ``nertag/_models`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for cand in (_HERE.parent / name, _HERE / f"_{name}"):
        if cand.is_dir():
            return cand
    return _HERE.parent / name


def data_dir() -> Path:
    return _find("data")


def models_dir() -> Path:
    return _find("models")


def sample_train() -> Path:
    return data_dir() / "sample" / "train.conll"


def sample_dev() -> Path:
    return data_dir() / "sample" / "dev.conll"


def default_model() -> Path:
    return models_dir() / "default"


def resources_dir() -> Path:
    return _HERE / "resources_data"


def gazetteers() -> Path:
    """The shipped name lists (``features.gazetteer: bundled``); their provenance is
    :func:`gazetteers_provenance`."""
    return resources_dir() / "gazetteers.tsv.gz"


def gazetteers_provenance() -> Path:
    return resources_dir() / "gazetteers.provenance.json"
