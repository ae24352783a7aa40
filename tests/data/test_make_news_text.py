"""data/make_news_text.py: deterministic, the size asked for, text that round-trips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "data" / "make_news_text.py"
SAMPLE = ROOT / "data" / "sample" / "train.conll"


def _make(tmp_path: Path, name: str, *args: str) -> bytes:
    out = tmp_path / name
    subprocess.run([sys.executable, str(SCRIPT), "0.05", str(out), "--conll", str(SAMPLE),
                    *args], check=True, capture_output=True)
    return out.read_bytes()


def test_same_seed_same_text_and_the_size_asked_for(tmp_path):
    a = _make(tmp_path, "a.txt")
    assert a == _make(tmp_path, "b.txt")
    assert a != _make(tmp_path, "c.txt", "--seed", "1")
    assert 50_000 <= len(a) < 52_000
    assert a.endswith(b"\n\n") and not (tmp_path / "a.txt.tmp").exists()
    paragraphs = a.decode("utf-8").split("\n\n")[:-1]
    assert all(p.strip() == p and p for p in paragraphs)


def test_rare_adds_fresh_word_types(tmp_path):
    plain = set(_make(tmp_path, "p.txt", "--seed", "1").split())
    rare = set(_make(tmp_path, "r.txt", "--seed", "1", "--rare").split())
    assert len(rare - plain) > 200


def test_a_missing_input_is_one_line_not_a_traceback(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "0.05", str(tmp_path / "o.txt"),
                        "--conll", str(tmp_path / "nope.txt")], capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == (f"error: {tmp_path / 'nope.txt'}: CoNLL file not found (the CoNLL-2003 "
                        f"training set, not shipped for licence reasons); give one with "
                        f"--conll FILE\n")
    r = subprocess.run([sys.executable, str(SCRIPT), "0.05", str(tmp_path / "no" / "o.txt"),
                        "--conll", str(SAMPLE)], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and \
        r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
