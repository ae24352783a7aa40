"""nertag.atomic: what each kind of output path gets (a regular file is replaced whole,
a device, a pipe or a descriptor is written into, the rest is refused)."""

from __future__ import annotations

import errno
import os
import stat
import threading

import pytest

from nertag import atomic
from nertag.atomic import atomic_open, new_temp_dir, replace_dir
from nertag.errors import NertagError

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="making device nodes needs root")


def _current_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _write(path, text="new") -> None:
    with atomic_open(path) as f:
        f.write(text)


def _char_device(path):
    """A node for the null device (major 1, minor 3) of our own, to break if need be."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return path


# ----------------------------------------------------------------------- regular files
def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path):
    target = tmp_path / "out.txt"
    _write(target)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_current_umask()
    assert os.listdir(tmp_path) == ["out.txt"]


def test_the_umask_is_read_right():
    assert atomic._umask() == _current_umask()


def test_a_private_file_stays_private(tmp_path):
    target = tmp_path / "secret.jsonl"
    target.write_text("old")
    target.chmod(0o600)
    _write(target)
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o600


@as_root
def test_a_file_keeps_its_owner_where_permitted(tmp_path):
    target = tmp_path / "theirs.txt"
    target.write_text("old")
    os.chown(target, 1234, 2345)
    target.chmod(0o640)
    _write(target)
    st = target.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 2345, 0o640)


def test_a_symlink_stays_a_link_and_its_file_is_replaced(tmp_path):
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "out.txt"
    real.write_text("old")
    real.chmod(0o600)
    link = tmp_path / "link.txt"
    link.symlink_to("real/out.txt")  # relative, resolved from the link's directory
    _write(link)
    assert link.is_symlink() and os.readlink(link) == "real/out.txt"
    assert real.read_text() == "new" and stat.S_IMODE(real.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path / "real")) == ["out.txt"]


def test_a_dangling_symlink_gets_its_file(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "new.txt")
    _write(link)
    assert link.is_symlink() and (tmp_path / "new.txt").read_text() == "new"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    class FullDisk:  # what a write to a full disk raises
        def write(self, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError) as e:
        with atomic_open(target) as f:
            f.write("half")
            FullDisk().write("more")
    assert e.value.errno == errno.ENOSPC
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


def test_a_failed_flush_is_one_error_naming_the_file(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(NertagError) as e:
        _write(target)
    assert e.value.message == (f"{target}: cannot write it (No space left on device); it is "
                               f"left as it was; choose another location")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


# ------------------------------------------------------ devices, pipes and descriptors
@as_root
def test_a_character_device_is_written_into_not_replaced(tmp_path):
    dev = _char_device(tmp_path / "null")
    _write(dev, "x" * 100_000)
    st = os.stat(dev)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert os.listdir(tmp_path) == ["null"]


def test_dev_null_stays_a_device(tmp_path):
    # only once a device node of our own has survived the same write
    if os.geteuid() == 0:
        test_a_character_device_is_written_into_not_replaced(tmp_path)
    _write("/dev/null", "x")
    st = os.stat("/dev/null")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


def test_a_named_pipe_is_written_into(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[str] = []

    def read():
        with open(fifo, encoding="utf-8") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    writer = threading.Thread(target=_write, args=(fifo, "through the pipe\n"), daemon=True)
    reader.start()
    writer.start()
    writer.join(10)
    reader.join(10)
    if reader.is_alive() or writer.is_alive():  # let whichever waits go: O_RDWR never blocks
        os.close(os.open(fifo, os.O_RDWR | os.O_NONBLOCK))
    assert got == ["through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ["fifo"]


@pytest.mark.parametrize("name", ["/proc/self/fd/{fd}", "/dev/fd/{fd}", "link"])
def test_a_descriptor_of_this_process_is_written_into(tmp_path, name):
    r, w = os.pipe()
    path = name.format(fd=w)
    if name == "link":
        path = tmp_path / "link"
        path.symlink_to(f"/proc/self/fd/{w}")
    try:
        _write(path, "to the pipe\n")
    finally:
        os.close(w)
    with os.fdopen(r, encoding="utf-8") as f:
        assert f.read() == "to the pipe\n"
    if name == "link":
        assert path.is_symlink() and os.listdir(tmp_path) == ["link"]


def test_a_descriptor_open_for_appending_is_appended_to(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("first\n")
    with open(log, "a", encoding="utf-8") as f:
        _write(f"/proc/self/fd/{f.fileno()}", "second\n")
    assert log.read_text() == "first\nsecond\n"


def test_a_closed_descriptor_is_one_error(tmp_path):
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(NertagError) as e:
        _write(f"/dev/fd/{w}")
    assert e.value.message == (f"/dev/fd/{w}: cannot open descriptor {w} for writing (Bad "
                               f"file descriptor); give a file name to write to")


# ---------------------------------------------------------------------------- refused
def test_a_directory_is_refused(tmp_path):
    with pytest.raises(NertagError) as e:
        _write(tmp_path)
    assert e.value.message == f"{tmp_path}: is a directory; give a file name to write to"
    assert os.listdir(tmp_path) == []


def test_a_link_to_a_directory_is_refused_naming_both(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "link").symlink_to("d")
    with pytest.raises(NertagError) as e:
        _write(tmp_path / "link")
    assert e.value.message == (f"{tmp_path / 'link'} ({tmp_path / 'd'}): is a directory; give "
                               f"a file name to write to")


@as_root
def test_a_block_device_is_refused(tmp_path):
    dev = tmp_path / "disk"
    os.mknod(dev, stat.S_IFBLK | 0o600, os.makedev(7, 250))  # a loop device node, never opened
    with pytest.raises(NertagError) as e:
        _write(dev)
    assert e.value.message == (f"{dev}: is a block device, which nertag does not overwrite; "
                               f"give a file name to write to")
    assert stat.S_ISBLK(os.lstat(dev).st_mode) and os.listdir(tmp_path) == ["disk"]


def test_a_socket_is_refused(tmp_path):
    import socket

    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        with pytest.raises(NertagError) as e:
            _write(path)
    assert e.value.message == (f"{path}: is a socket, which cannot be opened as a file; give "
                               f"a file name to write to")
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_a_link_loop_is_refused(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(NertagError) as e:
        _write(tmp_path / "a")
    assert e.value.message == (f"{tmp_path / 'a'}: too many levels of symbolic links; give a "
                               f"file name to write to")


def test_a_missing_directory_is_named(tmp_path):
    with pytest.raises(NertagError) as e:
        _write(tmp_path / "no" / "out.txt")
    assert e.value.message == (f"{tmp_path / 'no' / 'out.txt'}: the directory "
                               f"{tmp_path / 'no'} does not exist; create it first")


# ----------------------------------------------------------------------- directories
@as_root
def test_a_directory_is_not_put_in_place_of_a_device(tmp_path):
    dev = _char_device(tmp_path / "null")
    with pytest.raises(NertagError) as e:
        new_temp_dir(dev)
    assert e.value.message == (f"{dev}: exists and is not a directory; choose another output "
                               f"directory")
    built = tmp_path / "built"
    built.mkdir()
    with pytest.raises(NertagError):
        replace_dir(built, dev)
    assert stat.S_ISCHR(os.lstat(dev).st_mode) and sorted(os.listdir(tmp_path)) == [
        "built", "null"]


def test_a_directory_replaces_an_old_one(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    tmp = new_temp_dir(target)
    (tmp / "new.txt").write_text("new")
    replace_dir(tmp, target)
    assert os.listdir(target) == ["new.txt"] and os.listdir(tmp_path) == ["model"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~_current_umask()


def test_scratch_files_go_beside_a_file_and_not_into_dev(tmp_path):
    (tmp_path / "real").mkdir()
    link = tmp_path / "link.jsonl"
    link.symlink_to(tmp_path / "real" / "out.jsonl")  # (a new file: the link dangles)
    assert atomic.scratch_dir(link) == str(tmp_path / "real")
    assert atomic.scratch_dir(tmp_path / "new.jsonl") == str(tmp_path)
    assert atomic.scratch_dir("/dev/null") is None
    assert atomic.scratch_dir("/dev/stdout") is None


def test_a_relative_path_is_named_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NertagError) as e:
        _write(os.path.join("no", "out.txt"))
    assert e.value.message == "no/out.txt: the directory no does not exist; create it first"
    (tmp_path / "link").symlink_to(tmp_path / "gone" / "out.txt")
    with pytest.raises(NertagError) as e:
        _write("link")
    assert e.value.message == (f"link: the directory {tmp_path / 'gone'} does not exist; "
                               f"create it first")
