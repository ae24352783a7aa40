"""nertag: a small, readable named-entity tagger (window classifier in NumPy).

    >>> import nertag
    >>> tagger = nertag.load()            # the shipped model, or nertag.load("my-model")
    >>> doc = tagger("Laura Okafor flew to Geneva.")
    >>> [(e.text, e.label) for e in doc.ents]
    [('Laura Okafor', 'PER'), ('Geneva', 'LOC')]

The names below are imported on first use (PEP 562), so ``import nertag`` -- and the
``nertag`` command, which starts here -- stays fast; see :mod:`nertag.api`.
"""

from __future__ import annotations

#: Public name -> the module that defines it.
_LAZY = {
    "load": "nertag.api",
    "Tagger": "nertag.api",
    "Doc": "nertag.api",
    "train": "nertag.api",
    "evaluate": "nertag.api",
    "NertagError": "nertag.errors",
    "__version__": "nertag.version",
}

__all__ = ["load", "Tagger", "Doc", "train", "evaluate", "NertagError", "__version__"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
