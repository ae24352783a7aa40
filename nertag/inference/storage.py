"""How a model's parameters are stored in its directory (:mod:`nertag.modelio`).

* ``save.float16``: the embedding tables of :data:`FLOAT16_ROWS` rows or more (the word,
  affix and shape tables, not the layers or the small tables) are stored as float16
  and read back as the model's float type; a table float16 cannot hold (a value
  beyond ±65504) stays as it is.
* ``save.max_words``: the word table keeps the words training saw and the N most
  frequent pretrained words after them (the rest of the vocabulary is pretrained
  words in file order, most frequent first): the others become ``<unk>``.
* A two-stage model's first stage has the second's word vocabulary (both are built
  from the same training data and vectors) and, where training did not change them,
  the same word vectors: its ``weights.npz`` holds only the rows of its word table
  that differ from the second model's (:data:`DELTA_ROWS`, :data:`DELTA_VALUES`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from nertag.errors import NertagError

#: Embedding tables with at least this many rows are stored as float16 (``save.float16``).
FLOAT16_ROWS = 1024
#: A shared first stage's word table: the row ids that differ, and those rows.
DELTA_ROWS, DELTA_VALUES = "E_word.rows", "E_word.values"


def words_kept(n_words: int, n_seen: int | None, max_words: int) -> int:
    """How many leading rows of the word table ``save.max_words`` keeps (all: 0)."""
    if not max_words or n_words <= (n_seen or 0) + max_words:
        return n_words
    if n_seen is None:
        raise NertagError("save.max_words: the model's vocabulary does not say which words "
                          "training saw (a model loaded from a directory saved without "
                          "save.max_words); set it before training instead")
    return n_seen + max_words


def stored_params(params: dict[str, np.ndarray], n_words: int,
                  float16: bool) -> dict[str, np.ndarray]:
    """The arrays to write: the word table cut to ``n_words`` rows, and with ``float16``
    the big embedding tables as float16 (in memory, the model keeps its own arrays)."""
    out = {}
    for name, a in params.items():
        if name == "E_word" and n_words < len(a):
            a = a[:n_words]
        if float16 and name.startswith("E_") and a.ndim == 2 and len(a) >= FLOAT16_ROWS:
            with np.errstate(over="ignore"):
                half = a.astype(np.float16)
            if np.isfinite(half).all():
                a = half
        out[name] = a
    return out


def word_delta(table: np.ndarray, base: np.ndarray) -> dict[str, np.ndarray]:
    """The rows of ``table`` that differ from ``base`` (same shape), as stored."""
    rows = np.flatnonzero((table.astype(np.float32) != base.astype(np.float32)).any(axis=1))
    return {DELTA_ROWS: rows.astype(np.int32), DELTA_VALUES: table[rows]}


def apply_word_delta(base: np.ndarray, stored: dict[str, np.ndarray], path) -> np.ndarray:
    """The first stage's word table: ``base`` (the second model's, as stored) with the
    rows of ``stored`` (:func:`word_delta`); errors name ``path``."""
    if DELTA_ROWS not in stored or DELTA_VALUES not in stored:
        raise NertagError(f"{path}: parameter E_word is missing (neither the table nor "
                          f"{DELTA_ROWS} and {DELTA_VALUES}); retrain or re-copy the model")
    rows, values = stored.pop(DELTA_ROWS), stored.pop(DELTA_VALUES)
    if rows.ndim != 1 or rows.dtype.kind not in "iu" or values.shape != (len(rows),) + \
            base.shape[1:] or (len(rows) and (rows.min() < 0 or rows.max() >= len(base))):
        raise NertagError(f"{path}: {DELTA_ROWS} / {DELTA_VALUES} do not fit the model's word "
                          f"table {base.shape}; the files do not belong together")
    table = np.array(base, dtype=np.result_type(base, values))
    table[rows] = values
    return table


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """Arrays of an .npz, refusing pickled objects; errors name the file."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise NertagError(f"{path}: cannot read weights ({e.strerror or e})") from None
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):  # np.load would try unpickling it
        if magic[:1] == b"\x80":
            raise NertagError(f"{path}: is a pickle, not a NumPy .npz archive; refused (nertag "
                              f"never loads pickles; retrain the model)")
        raise NertagError(f"{path}: not a NumPy .npz archive (truncated or corrupted); retrain "
                          f"or re-copy the model")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
        for k, v in out.items():
            if not isinstance(v, np.ndarray) or v.dtype.kind not in "biuf":
                raise NertagError(f"{path}: entry {k!r} is not a numeric array; retrain or "
                                  f"re-copy the model")
        return out
    except ValueError as e:
        if "pickle" in str(e).lower() or "object arrays" in str(e).lower():
            raise NertagError(f"{path}: contains a pickled object; refused (nertag never loads "
                              f"pickles; retrain the model)") from None
        raise NertagError(f"{path}: corrupted weights ({e}); retrain or re-copy the model") \
            from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise NertagError(f"{path}: truncated or corrupted weights ({type(e).__name__}); "
                          f"retrain or re-copy the model") from None
