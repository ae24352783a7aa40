"""The model in Dask tasks: a small handle that each worker process turns into a loaded
model once (not once per task), from a shared path or from a copy uploaded to it.

A :class:`ModelRef` pickles as the model directory's path, the SHA-256 of its manifest
and the decoder (a few hundred bytes per task).  In a worker, :meth:`ModelRef.tagger`
loads the model the first time and keeps it for the next tasks.  Where the workers
cannot read the path (other machines, no shared file system), :func:`upload` registers
a worker plugin that writes the directory's files into each worker's local directory
once, including workers that join later, and the handle reads that copy.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from nertag.api.tagger import Tagger
from nertag.errors import NertagError
from nertag.modelio import model_files
from nertag.tagging.runtime import few_collections

#: digest -> directory of the copy uploaded into this (worker) process's machine
_uploaded: dict[str, Path] = {}
#: (digest, decoder) -> the Tagger this process loaded
_loaded: dict[tuple[str, str | None], Tagger] = {}
#: A Tagger is not thread-safe: tasks in the threads of one worker take turns.
LOCK = threading.Lock()


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256((path / "manifest.json").read_bytes()).hexdigest()
    except OSError:
        raise NertagError(f"{path}: manifest.json is missing; this is not a complete nertag "
                          f"model directory") from None


class ModelRef:
    """A model directory for Dask tasks (see the module's docstring).  ``model``: a
    directory, a :class:`~nertag.api.Tagger` or None (the shipped model)."""

    def __init__(self, model=None, decoder: str | None = None):
        if isinstance(model, Tagger):
            tagger = model
        else:  # loaded here once: a bad model or decoder fails now, not in every task
            tagger = Tagger(model, decoder)
        self.path = str(tagger.path)
        self.decoder = decoder or tagger.decoder
        self.digest = _digest(Path(self.path))
        self.labels = tagger.labels
        #: True if the model has document context: a file's blocks hold whole batches
        self.doc_context = tagger._model.featurizer.doc_context is not None
        _loaded.setdefault((self.digest, self.decoder), tagger)

    def __getstate__(self):
        return {"path": self.path, "decoder": self.decoder, "digest": self.digest,
                "labels": self.labels, "doc_context": self.doc_context}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def tagger(self) -> Tagger:
        """The model as a Tagger, loaded once per process (from the uploaded copy if this
        machine got one, else from the path)."""
        key = (self.digest, self.decoder)
        tagger = _loaded.get(key)
        if tagger is None:
            path = _uploaded.get(self.digest, Path(self.path))
            where = "the uploaded copy" if self.digest in _uploaded else "the shared path"
            if not path.is_dir():
                raise NertagError(f"a Dask worker cannot read the model ({where}): {path}: no "
                                  f"such directory here; copy the model to the same path on "
                                  f"every worker or let nertag upload it")
            if _digest(path) != self.digest:
                raise NertagError(f"{path}: the model on this Dask worker differs from the "
                                  f"client's (manifest.json); copy the same model to every "
                                  f"worker")
            roomy_malloc()
            tagger = _loaded[key] = Tagger(path, self.decoder)
        return tagger


def roomy_malloc() -> None:
    """Undo the nanny's ``MALLOC_TRIM_THRESHOLD_=65536`` in a worker that tags.

    Dask starts worker processes with it, so that glibc hands freed memory back to the
    system at once; it also fixes glibc's mmap threshold, so every large NumPy temporary
    of a batch gets fresh pages from the kernel (zeroed, faulted in): tagging ran about
    1.4 times slower.  The thresholds are set back up (64 MB to trim, 32 MB to mmap).
    Only glibc has ``mallopt``; elsewhere nothing changes."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-1, 64 << 20)   # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 << 20)   # M_MMAP_THRESHOLD


@contextlib.contextmanager
def tagging():
    """One task at a time per process (the model caches words as it tags), collecting
    garbage rarely meanwhile (millions of small objects, no cycles)."""
    with LOCK, few_collections():
        yield


class UploadModel(WorkerPlugin):
    """Writes a model's files into each worker's local directory (on start and on join)."""

    idempotent = True

    def __init__(self, digest: str, files: dict[str, bytes]):
        self.digest, self.files = digest, files

    def setup(self, worker):
        _install(Path(worker.local_directory), self.digest, self.files)


def upload(client, ref: ModelRef) -> None:
    """Send the model's files to every worker of ``client`` (and to later ones), once."""
    d = Path(ref.path)
    files = {name: (d / name).read_bytes() for name in model_files(d) + ("manifest.json",)}
    client.register_plugin(UploadModel(ref.digest, files), name=f"nertag-model-{ref.digest}")


def _install(base: Path, digest: str, files: dict[str, bytes]) -> None:
    """Write a model's files under ``base`` (complete or not at all) and remember where."""
    target = base / "nertag-models" / digest
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".upload-", dir=target.parent))
        try:
            for name, data in files.items():  # (a two-stage model's stage1/ too)
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp / name).write_bytes(data)
            os.replace(tmp, target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not target.is_dir():  # (another process may have installed it meanwhile)
                raise
    _uploaded[digest] = target
