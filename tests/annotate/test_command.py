"""``nertag annotate`` as a user runs it: a real process on loopback, killed mid-session
(SIGKILL) and started again -- nothing answered is lost or written twice; and its
one-line errors (empty or binary input, ``-o`` naming an input, an output another
process holds, a bad label), none of which starts a server."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from conftest import NERTAG, check_error
from nertag.annotate.store import OutputLock
from nertag.errors import NertagError

serve_extra = pytest.mark.skipif(
    any(__import__("importlib").util.find_spec(m) is None for m in ("starlette", "uvicorn")),
    reason="the serve extra is not installed (pip install -e '.[serve]')")

LINES = [f"Sentence {k} mentions Paris and Laura Okafor." for k in range(12)]


def post(url: str, body: dict):
    req = urllib.request.Request(url, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start(text, out) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(NERTAG + ["annotate", str(text), "-o", str(out), "--port", "0",
                                      "--sentences", "line"],
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    m = re.match(r"nertag annotate: (http://127\.0\.0\.1:\d+/) \((\d+) answered, (\d+) to go;",
                 line)
    assert m, line + proc.stderr.read() if proc.poll() is not None else line
    return proc, m.group(1)


@serve_extra
@pytest.mark.slow
def test_killed_mid_session_and_restarted_nothing_is_lost_or_duplicated(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("\n".join(LINES) + "\n")
    out = tmp_path / "answers.jsonl"
    proc, url = start(text, out)
    acknowledged = []
    try:
        _, body = post(url + "api/next", {"client": "tab"})
        for k in range(5):
            key = body["item"]["id"]
            status, body = post(url + "api/answer", {"client": "tab", "id": key,
                                                     "answer": "accept", "spans": []})
            assert status == 200
            acknowledged.append(key)
        # one more sent, and the server killed before (or while) it answers
        req = urllib.request.Request(url + "api/answer", json.dumps(
            {"client": "tab", "id": body["item"]["id"], "answer": "reject",
             "spans": []}).encode(), {"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=0.001)
        except OSError:
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert (tmp_path / "answers.jsonl.lock").exists()  # left behind, but stale
    proc, url = start(text, out)
    try:
        recs = [json.loads(x) for x in out.read_text().splitlines()]
        assert [r["id"] for r in recs][:5] == acknowledged and len(recs) in (5, 6)
        status, body = post(url + "api/next", {"client": "other"})
        assert body["progress"]["answered"] == len(recs)
        while body["item"] is not None:  # answer the rest
            assert body["item"]["id"] not in {r["id"] for r in recs}
            status, body = post(url + "api/answer", {"client": "other", "id": body["item"]["id"],
                                                     "answer": "accept", "spans": []})
            assert status == 200
        assert body["progress"] == {"answered": 12, "remaining": 0, "total": 12, "unsaved": 0,
                                    "retrain_f1": None, "retrain_used": None}
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert not (tmp_path / "answers.jsonl.lock").exists()
    ids = [json.loads(x)["id"] for x in out.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 12


# ------------------------------------------------------------------ errors
@pytest.fixture
def text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("Laura Okafor flew to Geneva.\n")
    return path


def test_an_empty_input_is_one_line(cli, tmp_path, text):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n")
    check_error(cli("annotate", text, empty, "-o", tmp_path / "a.jsonl"), 1,
                f"{empty}: the file is empty (nothing but whitespace); give a text file")
    assert not (tmp_path / "a.jsonl").exists() and not (tmp_path / "a.jsonl.lock").exists()


def test_a_binary_input_is_one_line(cli, tmp_path):
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"PK\x03\x04\x00\x00 zip")
    check_error(cli("annotate", binary, "-o", tmp_path / "a.jsonl"), 1,
                f"{binary}:1: binary data (NUL byte)")


def test_an_output_that_is_an_input_is_refused(cli, text):
    check_error(cli("annotate", text, "-o", text), 2,
                f"-o {text}: is the input", "give another output file")


def test_an_output_another_process_holds_is_refused(cli, tmp_path, text):
    out = tmp_path / "a.jsonl"
    with OutputLock(out):
        check_error(cli("annotate", text, "-o", out), 1,
                    f"{out}: another nertag annotate (process ", "is writing it",
                    "stop that one first, or give another output")


@pytest.mark.parametrize("labels, fragment", [
    ("PRODUCT,B-X", "label 'B-X'"), ("O", "label 'O': O means outside any entity")])
def test_a_bad_label_is_refused(cli, tmp_path, text, labels, fragment):
    check_error(cli("annotate", text, "-o", tmp_path / "a.jsonl", "--labels", labels), 2,
                fragment, "--labels A,B,...")


def test_standard_input_and_folders_are_refused(cli, tmp_path, text):
    check_error(cli("annotate", "-", "-o", tmp_path / "a.jsonl"), 1,
                "-: nertag annotate reads files")
    check_error(cli("annotate", tmp_path, "-o", tmp_path / "a.jsonl"), 1,
                f"{tmp_path}: is a directory")


def test_a_file_that_is_not_an_answers_file_is_refused(cli, tmp_path, text):
    out = tmp_path / "a.jsonl"
    out.write_text('{"text": "x", "entities": []}\n')
    check_error(cli("annotate", text, "-o", out), 1, f"{out}:1: not a record of nertag "
                                                     f"annotate")
    assert not (tmp_path / "a.jsonl.lock").exists()


def test_too_many_sentences_is_refused(tmp_path, text):
    import nertag
    from nertag.annotate.source import read_items

    with pytest.raises(NertagError, match=f"^{text}: the inputs hold more than 1 sentences; "
                                          f"annotate a part of them at a time"):
        read_items(nertag.load(), [str(text)], ["Ann flew.\nBob ran.\n"], sentences="line",
                   limit=1)


def test_without_the_extra_one_line_names_it(tmp_path, text):
    code = ("import sys; sys.modules['uvicorn'] = None; "
            f"sys.argv = ['nertag', 'annotate', {str(text)!r}, '-o', "
            f"{str(tmp_path / 'a.jsonl')!r}]; from nertag.cli import main; main()")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stderr == ("error: nertag annotate needs the optional 'serve' extra: "
                        "pip install 'nertag[serve]'\n") and p.returncode == 1
