"""The answers file of ``nertag annotate``: append-only JSON lines, one per decision,
each written whole and fsynced before the page hears it was kept.

A record is a Prodigy-style span record (what :func:`nertag.text.spans_jsonl.read_prodigy`
reads, so ``nertag train`` and ``nertag convert`` take the file as it is)::

    {"id", "text", "tokens": [{"text", "start", "end", "id"}],
     "spans": [{"start", "end", "label", "token_start", "token_end"}],
     "answer": "accept" | "reject" | "ignore" | "undo",
     "meta": {"source", "offset"}, "client", "ts"}

The file is never rewritten: an undo appends a record (``"answer": "undo"``) that
supersedes the decision before it, and readers take the last record per ``id``.

:class:`OutputLock` keeps a second ``nertag annotate`` off the same file (a lock file
beside it, locked with ``flock`` while the process lives, so a killed process leaves
no lock that counts); :class:`AnswerStore` reads what is there (resume) and appends.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from nertag.errors import NertagError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the lock file's pid alone
    fcntl = None  # type: ignore[assignment]

#: The answers a record may carry; "undo" cancels the same client's decision before it.
ANSWERS = ("accept", "reject", "ignore")
UNDO = "undo"


def write_line(fd: int, data: bytes) -> None:
    """Write ``data`` whole to ``fd`` and make it durable (the tests replace this to
    simulate a full or read-only disk)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class OutputLock:
    """``<output>.lock``, held while this process annotates into ``output``."""

    def __init__(self, output: str | os.PathLike):
        self.output = Path(output)
        self.path = self.output.with_name(self.output.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> "OutputLock":
        """Take the lock, or raise :class:`NertagError` naming the process holding it.
        A lock file left by a process that is gone (killed, crashed) is taken over."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise NertagError(f"{self.path}: cannot create the lock file ({e.strerror}); "
                              f"the output's folder must be writable") from None
        holder = self._holder(fd)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise self._held(holder) from None
        elif holder and holder[0] != os.getpid() and holder[1] == socket.gethostname() \
                and _pid_alive(holder[0]):  # pragma: no cover - no flock
            os.close(fd)
            raise self._held(holder)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        self._fd = fd
        return self

    @staticmethod
    def _holder(fd: int) -> tuple[int, str] | None:
        raw = os.pread(fd, 4096, 0).decode("utf-8", "replace").split()
        return (int(raw[0]), raw[1] if len(raw) > 1 else "") if raw and raw[0].isdigit() \
            else None

    def _held(self, holder) -> NertagError:
        who = f"process {holder[0]}" if holder else "another process"
        return NertagError(f"{self.output}: another nertag annotate ({who}) is writing it "
                           f"(lock {self.path}); stop that one first, or give another output")

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink()
        except OSError:
            pass
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass
class Loaded:
    """What the answers file held: the last record of each id, and each client's
    decisions still standing, oldest first (what its undo takes back)."""

    last: dict[str, dict] = field(default_factory=dict)
    decisions: dict[str, list[str]] = field(default_factory=dict)
    records: int = 0
    notes: list[str] = field(default_factory=list)


class AnswerStore:
    """Append decisions to the answers file (created if missing)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fd: int | None = None

    def load(self) -> Loaded:
        """Read the records there; a last line cut short (a crash mid-write) is dropped,
        and the file is cut back to its last whole line.  Opens the file to append."""
        out = Loaded()
        data = b""
        if self.path.exists():
            try:
                data = self.path.read_bytes()
            except OSError as e:
                raise NertagError(f"{self.path}: cannot read ({e.strerror})") from None
        keep = len(data)
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            tail = data[cut:]
            try:
                json.loads(tail)
                data += b"\n"  # whole but unterminated: ends the line first
            except ValueError:
                keep, data = cut, data[:cut]
                out.notes.append(f"{self.path}: dropped a last line cut short "
                                 f"({len(tail)} bytes, from a write that did not finish)")
        for lineno, raw in enumerate(data.splitlines(), 1):
            if raw.strip():
                _take(out, _parse(raw, self.path, lineno))
        self._open(keep, data)
        return out

    def _open(self, keep: int, data: bytes) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as e:
            raise NertagError(f"{self.path}: cannot open to append ({e.strerror}); check "
                              f"the path and its permissions") from None
        if os.fstat(fd).st_size != keep:
            os.ftruncate(fd, keep)
        if keep and not data[:keep].endswith(b"\n"):
            write_line(fd, b"\n")
        self._fd = fd

    def append(self, record: dict) -> None:
        """Write one record as a line, fsynced; an :class:`OSError` (disk full, read-only)
        leaves the file as it was (a part written is cut off again) and is raised."""
        if self._fd is None:
            raise RuntimeError("AnswerStore.load() first")
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        size = os.fstat(self._fd).st_size
        try:
            write_line(self._fd, line)
        except OSError:
            try:
                os.ftruncate(self._fd, size)
            except OSError:
                pass
            raise

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _parse(raw: bytes, path: Path, lineno: int) -> dict:
    try:
        rec = json.loads(raw)
    except ValueError:
        raise NertagError(f"{path}:{lineno}: not a JSON record; an annotations file holds "
                          f"the JSON lines nertag annotate writes: give another output "
                          f"file") from None
    if not isinstance(rec, dict) or not isinstance(rec.get("id"), str) \
            or rec.get("answer") not in ANSWERS + (UNDO,):
        raise NertagError(f'{path}:{lineno}: not a record of nertag annotate (it needs an '
                          f'"id" and an "answer": accept, reject, ignore or undo); give '
                          f'another output file')
    return rec


def _take(out: Loaded, rec: dict) -> None:
    """Fold one record into what was loaded (in file order)."""
    out.records += 1
    client = str(rec.get("client", ""))
    mine = out.decisions.setdefault(client, [])
    if rec["answer"] == UNDO:
        if rec["id"] in mine:
            mine.remove(rec["id"])
    else:
        mine.append(rec["id"])
    out.last[rec["id"]] = rec


def answered(rec: dict | None) -> bool:
    """Does this (last) record of an id answer it?"""
    return rec is not None and rec.get("answer") in ANSWERS
