"""Writing files and directories so that a reader never sees them half-written.

Every file nertag writes goes through :func:`atomic_open`, which looks at what the
path names first:

* a regular file, or nothing yet: the text goes to a temporary name in the same
  directory, is flushed and fsynced, then renamed over the target (``os.replace``
  is atomic on POSIX); an old file keeps its mode (and owner, where permitted), and
  a symbolic link stays a link: the file it points to is the one replaced;
* a character device (``/dev/null``, a terminal), a named pipe, or one of this
  process's descriptors (``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``, or a
  link to one): the text is streamed straight into it; renaming a file over a device
  or a pipe would destroy it (and leave its reader waiting forever);
* a directory, a block device or a socket: refused.

A directory (a model, a checkpoint) is built under a temporary name and renamed into
place as a whole.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator

from nertag.errors import NertagError

#: A descriptor of this process, once the directories above it are resolved
#: (``/proc/self`` and ``/dev/fd`` are links to ``/proc/PID`` and ``/proc/PID/fd``).
_OWN_DESCRIPTOR = re.compile(r"/proc/(\d+)(?:/task/\d+)?/fd/(\d+)")
_STANDARD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_MAX_LINKS = 40  # as the kernel's own limit on following symbolic links

#: What each kind of file that cannot be written is, and why, for the error.
_REFUSED = {stat.S_IFDIR: "is a directory",
            stat.S_IFBLK: "is a block device, which nertag does not overwrite",
            stat.S_IFSOCK: "is a socket, which cannot be opened as a file"}


def check_writable_parent(path: Path, shown: Path | None = None) -> None:
    """The directory that will hold ``path`` exists and can be written (errors name
    ``shown``, by default ``path``)."""
    shown = path if shown is None else shown
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise NertagError(f"{shown}: the directory {parent} does not exist; create it first",
                          exit_code=2)
    if not parent.is_dir():
        raise NertagError(f"{shown}: {parent} is not a directory", exit_code=2)
    if not os.access(parent, os.W_OK):
        raise NertagError(f"{shown}: cannot write to {parent} (permission denied); choose "
                          f"another location", exit_code=2)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                newline: str | None = None) -> Iterator[IO]:
    """Open ``path`` for writing (``mode`` ``w`` or ``wb``). A file appears, complete,
    only if the block succeeds, and is left as it was otherwise; a device, a pipe or a
    descriptor gets the text as it is written (see the module's description)."""
    path = Path(path)
    kind, where, old = _target(path)
    if kind == "file":
        with _replacing(path, where, old, mode, encoding, newline) as f:
            yield f
    else:
        with _open_stream(path, where, mode, encoding, newline) as f:
            yield f


def _target(path: Path) -> tuple[str, Path | int, os.stat_result | None]:
    """What writing to ``path`` means: ``("file", the regular file's resolved path, its
    stat or None if new)``, ``("stream", a device's or pipe's path, None)`` or
    ``("descriptor", this process's descriptor number, None)``. Symbolic links are
    followed one at a time, so that a link to ``/proc/self/fd/1`` is seen as one."""
    p = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        p = os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))
        fd = _descriptor(p)
        if fd is not None:
            return "descriptor", fd, None
        try:
            st = os.lstat(p)
        except (FileNotFoundError, NotADirectoryError):
            return "file", Path(p), None  # new: its directory is checked when written
        except OSError as e:
            raise NertagError(f"{path}: cannot look at it ({e.strerror or e}); give a file "
                              f"name to write to", exit_code=2) from None
        if stat.S_ISLNK(st.st_mode):
            p = os.path.join(os.path.dirname(p), os.readlink(p))
        elif stat.S_ISREG(st.st_mode):
            return "file", Path(p), st
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            return "stream", Path(p), None
        else:
            why = _REFUSED.get(stat.S_IFMT(st.st_mode), "is not a regular file")
            shown = path if os.path.abspath(path) == p else f"{path} ({p})"  # via links
            raise NertagError(f"{shown}: {why}; give a file name to write to", exit_code=2)
    raise NertagError(f"{path}: too many levels of symbolic links; give a file name to write "
                      f"to", exit_code=2)


def scratch_dir(path: str | os.PathLike) -> str | None:
    """Where temporary files made while writing ``path`` belong: beside the regular file
    it names (through links; on its file system, as :func:`atomic_open`'s), or None (the
    system's temporary directory) for a device, a pipe or a descriptor, whose directory
    (``/dev``, ``/proc``) is no place for them."""
    kind, where, _ = _target(Path(path))
    return str(where.parent) if kind == "file" else None


def _descriptor(p: str) -> int | None:
    """The descriptor number if ``p`` (directories resolved) is one of this process's."""
    if p in _STANDARD:
        return _STANDARD[p]
    m = _OWN_DESCRIPTOR.fullmatch(p)
    return int(m[2]) if m and int(m[1]) == os.getpid() else None


@contextlib.contextmanager
def _replacing(shown: Path, path: Path, old: os.stat_result | None, mode: str,
               encoding: str | None, newline: str | None) -> Iterator[IO]:
    """A temporary file beside the regular file ``path`` (``old``: its stat, None if it
    is new), renamed over it when the block succeeds and removed when it fails. Errors
    name the path as given, and its directory as given unless a link led elsewhere."""
    own_dir = os.path.realpath(os.path.dirname(os.path.abspath(shown)))
    named = shown if os.path.join(own_dir, shown.name) == str(path) else path
    check_writable_parent(named, shown)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _cannot_write(shown, e, named.parent if str(named.parent) else Path(".")) \
            from None
    finishing = False
    try:
        with _fdopen(fd, mode, encoding, newline) as f:
            yield f
            finishing = True  # from here on, an OSError is this module's writing
            f.flush()
            os.fsync(f.fileno())
        _keep_owner_and_mode(tmp, old)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if finishing and isinstance(e, OSError) and e.errno != errno.EPIPE:
            raise NertagError(f"{shown}: cannot write it ({e.strerror or e}); it is left as "
                              f"it was; choose another location", exit_code=1) from None
        raise
    fsync_dir(path.parent)


def _keep_owner_and_mode(tmp: str, old: os.stat_result | None) -> None:
    """Give the new file ``tmp`` the old file's owner (where permitted) and mode, or for
    a new file the mode ``open()`` would give it (0666 less the umask)."""
    if old is None:
        os.chmod(tmp, 0o666 & ~_umask())
        return
    now = os.stat(tmp)
    if (now.st_uid, now.st_gid) != (old.st_uid, old.st_gid):
        try:
            os.chown(tmp, old.st_uid, old.st_gid)
        except PermissionError:  # not root: the group, if this user belongs to it
            with contextlib.suppress(OSError):
                os.chown(tmp, -1, old.st_gid)
    os.chmod(tmp, stat.S_IMODE(old.st_mode))  # after chown, which may clear set-id bits


@contextlib.contextmanager
def _open_stream(shown: Path, where: Path | int, mode: str, encoding: str | None,
                 newline: str | None) -> Iterator[IO]:
    """The device or pipe ``where`` (a path), or a copy of this process's descriptor
    ``where`` (a number), opened to write straight into: nothing is created, truncated
    or renamed."""
    try:
        if isinstance(where, int):
            fd = os.dup(where)
        else:
            fd = os.open(where, os.O_WRONLY | os.O_NOCTTY)  # a pipe: waits for its reader
    except OSError as e:
        what = f"descriptor {where}" if isinstance(where, int) else "it"
        raise NertagError(f"{shown}: cannot open {what} for writing ({e.strerror or e}); "
                          f"give a file name to write to", exit_code=2) from None
    with _fdopen(fd, mode, encoding, newline) as f:
        yield f


def _fdopen(fd: int, mode: str, encoding: str | None, newline: str | None) -> IO:
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding=encoding, newline=newline)


def _umask() -> int:
    """This process's umask (read from /proc where it can be, since setting it to read
    it back is not thread-safe)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def new_temp_dir(target: Path) -> Path:
    """A fresh empty directory next to ``target`` to build it in."""
    _check_dir_target(target)
    check_writable_parent(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as e:
        raise _cannot_write(target, e) from None
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700); a model is not
    return tmp


def _check_dir_target(target: Path) -> None:
    """``target`` is a directory, a link, or nothing yet: anything else (a file, a device
    such as /dev/null) would be renamed away to put the directory in its place."""
    with contextlib.suppress(OSError):
        if not stat.S_ISDIR(os.stat(target).st_mode) and not os.path.islink(target):
            raise NertagError(f"{target}: exists and is not a directory; choose another "
                              f"output directory", exit_code=2)


def _cannot_write(path: Path, e: OSError, parent: Path | None = None) -> NertagError:
    if parent is None:
        parent = path.parent if str(path.parent) else Path(".")
    return NertagError(f"{path}: cannot write to {parent} ({e.strerror or e}); choose another "
                       f"location", exit_code=2)


def replace_dir(tmp: Path, target: Path, old: Path | None = None) -> None:
    """Move the finished directory ``tmp`` to ``target``, replacing any old one whole.

    The old ``target`` is first renamed to ``old`` (default: a hidden name beside it)
    and removed only after ``tmp`` is in place, so at every moment one of the two is
    complete (a training checkpoint relies on this).
    """
    _check_dir_target(target)
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


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse to train into an existing non-empty directory unless ``force``; the
    directories above ``out`` that are missing are created."""
    out = Path(out)
    if str(out) == "":
        raise NertagError("the output directory is an empty path; give a directory name",
                          exit_code=2, inputs=("output",))
    if out.exists() and not out.is_dir():
        raise NertagError(f"{out}: exists and is not a directory; choose another output "
                          f"directory", exit_code=2, inputs=("output",))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise NertagError(f"{out}: directory exists and is not empty; choose another output "
                          f"directory, or replace it", exit_code=2, inputs=("output", "force"))
    parent = out.parent
    if not parent.exists() and not parent.is_symlink():  # models/mine: models/ made, as
        try:                                              # spaCy and flair do
            parent.mkdir(parents=True)
        except OSError as e:
            raise NertagError(f"{out}: cannot create the directory {parent} "
                              f"({e.strerror or e}); choose another output directory",
                              exit_code=2, inputs=("output",)) from None
    new_temp_dir(out).rmdir()  # the parent must be a writable directory
