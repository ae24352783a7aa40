"""Writing files and directories so that a reader never sees them half-written.

A file goes to a temporary name in the same directory, is flushed and fsynced,
then renamed over its target (``os.replace`` is atomic on POSIX). A directory is
built under a temporary name and renamed into place as a whole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

from nertag.errors import NertagError


def check_writable_parent(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise NertagError(f"{path}: the directory {parent} does not exist; create it first",
                          exit_code=2)
    if not parent.is_dir():
        raise NertagError(f"{path}: {parent} is not a directory", exit_code=2)
    if not os.access(parent, os.W_OK):
        raise NertagError(f"{path}: cannot write to {parent} (permission denied); choose "
                          f"another location", exit_code=2)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                newline: str | None = None) -> Iterator[IO]:
    """Open ``path`` for writing; it appears (complete) only if the block succeeds."""
    path = Path(path)
    if path.is_dir():
        raise NertagError(f"{path}: is a directory; give a file name to write to", exit_code=2)
    check_writable_parent(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                   dir=path.parent or ".")
    except OSError as e:
        raise _cannot_write(path, e) from None
    try:
        if "b" in mode:
            f = os.fdopen(fd, mode)
        else:
            f = os.fdopen(fd, mode, encoding=encoding, newline=newline)
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def new_temp_dir(target: Path) -> Path:
    """A fresh empty directory next to ``target`` to build it in."""
    check_writable_parent(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as e:
        raise _cannot_write(target, e) from None
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private (0700); a model is not
    return tmp


def _cannot_write(path: Path, e: OSError) -> NertagError:
    parent = path.parent if str(path.parent) else Path(".")
    return NertagError(f"{path}: cannot write to {parent} ({e.strerror or e}); choose another "
                       f"location", exit_code=2)


def replace_dir(tmp: Path, target: Path, old: Path | None = None) -> None:
    """Move the finished directory ``tmp`` to ``target``, replacing any old one whole.

    The old ``target`` is first renamed to ``old`` (default: a hidden name beside it)
    and removed only after ``tmp`` is in place, so at every moment one of the two is
    complete (a training checkpoint relies on this).
    """
    for p in tmp.iterdir():
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    fsync_dir(tmp)
    if target.exists():
        old = old or target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(target, old)
    os.rename(tmp, target)
    fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
