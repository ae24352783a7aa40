"""The real command line writing to /dev/null, standard output and a mode-600 file:
every command that writes a file goes through nertag.atomic, and none destroys a device.

Each command is first pointed at a null device node of our own (as root), and at the
machine's /dev/null only once that node has survived."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import NERTAG

ROOT = Path(__file__).resolve().parents[1]


def _commands(out) -> dict[str, list[str]]:
    return {"tag": ["tag", "data/example.txt", "-o", str(out)],
            "convert": ["convert", "data/sample/dev.conll", str(out), "--to", "jsonl"],
            "evaluate": ["evaluate", "models/default", "data/sample/dev.conll",
                         "--html", str(out)]}


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(NERTAG + args, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _is_null_device(path) -> bool:
    st = os.stat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


@pytest.mark.parametrize("command", ["tag", "convert", "evaluate"])
def test_writing_to_a_null_device_keeps_it(tmp_path, command):
    if os.geteuid() == 0:
        own = tmp_path / "null"
        os.mknod(own, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        done = _run(_commands(own)[command])
        assert done.returncode == 0, done.stderr
        assert _is_null_device(own) and os.listdir(tmp_path) == ["null"]
    done = _run(_commands("/dev/null")[command])
    assert done.returncode == 0, done.stderr
    assert _is_null_device("/dev/null")


def test_tag_to_dev_stdout_reaches_standard_output(tmp_path):
    if os.geteuid() == 0:  # the same write into a link of our own first
        link = tmp_path / "out"
        link.symlink_to("/proc/self/fd/1")
        done = _run(["tag", "data/example.txt", "-f", "conll", "-o", str(link)])
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("GENEVA\tB-LOC\n")
        assert link.is_symlink() and os.listdir(tmp_path) == ["out"]
    done = _run(["tag", "data/example.txt", "-f", "conll", "-o", "/dev/stdout"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("GENEVA\tB-LOC\n")
    assert os.readlink("/dev/stdout") == "/proc/self/fd/1"


def test_convert_keeps_a_private_file_private(tmp_path):
    out = tmp_path / "private.jsonl"
    out.write_text("old")
    out.chmod(0o600)
    done = _run(["convert", "data/sample/dev.conll", str(out)])
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").startswith('{"text": ')
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_tag_into_a_directory_is_one_error(tmp_path):
    done = _run(["tag", "data/example.txt", "-o", str(tmp_path)])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path}: is a directory; give a file name to write to")
