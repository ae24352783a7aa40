"""How many threads NumPy's BLAS may use: the one home of that rule.

nertag's matrices are small (a minibatch or a chunk of tokens times a few hundred
units), and a spinning multi-threaded BLAS slows them down badly whenever another
process wants the cores, so nertag computes with one BLAS thread unless told otherwise
(``--jobs`` is the way to use more cores):

* the CLI sets the environment before NumPy is imported (:func:`set_threads`, from
  ``--threads``; an explicit ``OPENBLAS_NUM_THREADS`` etc. is left alone);
* the Python API and the benchmark, which run in a process whose NumPy is already
  loaded, limit the threads around their work with threadpoolctl (:func:`one_thread`),
  unless the environment sets a number, so inside the CLI they do what it set.

No NumPy here: :func:`set_threads` must run before NumPy is imported.
"""

from __future__ import annotations

import contextlib
import os

#: The environment variables the BLAS libraries read their thread count from, at import.
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

_controller = None  # threadpoolctl's controller of the BLAS libraries, once asked for


def set_threads(n: int | None) -> None:
    """BLAS threads for this process and its children: ``n`` (None: 1, unless the
    environment already sets a number).  Only effective before NumPy is imported."""
    if n is None and any(v in os.environ for v in THREAD_VARS):
        return
    for v in THREAD_VARS:
        os.environ[v] = str(n or 1)


def one_thread():
    """A context with one BLAS thread (threadpoolctl, if installed), or nothing when the
    environment sets the number (then NumPy was loaded with it: the CLI's ``--threads``)."""
    global _controller
    if _controller is None:
        try:  # optional, and ~20 ms to import: only once tagging asks
            from threadpoolctl import ThreadpoolController
            _controller = not any(v in os.environ for v in THREAD_VARS) and \
                ThreadpoolController()
        except ImportError:
            _controller = False
    return _controller.limit(limits=1, user_api="blas") if _controller \
        else contextlib.nullcontext()


def describe() -> str:
    """The BLAS libraries loaded and their thread counts, e.g. ``openblas 0.3.27 (1 threads)``."""
    try:  # optional, and ~20 ms to import: only when a report asks
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    return ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} "
                     f"threads)" for i in threadpool_info() if i.get("user_api") == "blas")
