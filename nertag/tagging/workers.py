"""How many worker processes (or threads) are worth starting: never more than the CPUs
this process may run on, nor than the pieces of input there are to share out.

Every option that starts workers (``nertag tag --jobs``, ``--engine dask --workers``,
``nertag serve --workers``, ``nertag benchmark --jobs``, ``--threads``) asks
:func:`cap_workers`: a count over the bound is lowered to it, and over the CPUs the
caller warns with the message it gets (a script written for a larger machine still
runs).  Counts
that do not depend on the machine (request sizes, repeats, samples) have fixed bounds,
refused with a usage error.
"""

from __future__ import annotations

import math
import os


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # (no sched_getaffinity: macOS, Windows)
        return max(1, os.cpu_count() or 1)


def pieces(size: int | None, piece_bytes: int) -> int | None:
    """How many pieces of at most ``piece_bytes`` an input of ``size`` bytes makes (None:
    unknown, e.g. a pipe)."""
    if size is None:
        return None
    return max(1, math.ceil(size / max(1, piece_bytes)))


def cap_workers(option: str, requested: int, *, pieces: int | None = None,
                what: str = "worker process", cpus: int | None = None
                ) -> tuple[int, str | None]:
    """``requested`` lowered to the usable CPUs and to ``pieces`` (the parts of input the
    workers share, if known): the count to start, and a warning naming ``option`` if it
    asked for more than the machine has (None if not: fewer pieces than workers lowers
    the count without one, as the output is the same and no option would help);
    ``what``: the thing counted, singular."""
    cpus = usable_cpus() if cpus is None else cpus
    if requested < 1:
        raise ValueError(f"{option}: a count of at least 1, not {requested}")
    n = min(requested, cpus)
    if pieces is not None:
        n = min(n, max(1, pieces))
    if requested <= cpus:
        return n, None
    plural = what + ("es" if what.endswith("s") else "s")
    small = f" (the input makes {pieces} piece{'s' * (pieces > 1)})" if n < cpus else ""
    return n, (f"{option} {requested}: this machine has {cpus} CPU{'s' * (cpus > 1)} for "
               f"nertag; using {n} {what if n == 1 else plural}{small}")


def input_pieces(names, piece_bytes: int) -> int | None:
    """The most pieces of ``piece_bytes`` any one of the inputs ``names`` makes (they are
    tagged one after the other); None if one of them is not a regular file (``-``, a
    pipe: its size is not known)."""
    most = 1
    for name in names:
        if name == "-" or not os.path.isfile(name):
            return None
        most = max(most, pieces(os.path.getsize(name), piece_bytes))
    return most


def cap_for(option: str, requested: int, inputs, warn, piece_bytes: int | None) -> int:
    """:func:`cap_workers` for ``inputs`` cut in pieces of ``piece_bytes`` (None: no bound
    from the input); ``warn(message)`` if the count was lowered."""
    n, note = cap_workers(option, requested, pieces=None if piece_bytes is None
                          else input_pieces(inputs, piece_bytes))
    if note:
        warn(note)
    return n
