"""Write every output a refactoring must keep byte for byte, to compare two commits.

Runs the ``nertag`` that ``python -m nertag`` imports from the current directory (run
it from a checkout to snapshot that checkout) and writes into OUT: the example tagged in
each format, a 5 MB raw text as jsonl (with ``--jobs 2`` too), ``--tokenized`` CoNLL,
``evaluate --json``, ``gradcheck --json`` and the weights of fixed-seed trainings
(one stage, two stages, and a resumed run). Then compare two snapshots::

    (cd ../old && python ../main/tools/snapshot.py /tmp/old)
    python tools/snapshot.py /tmp/new
    diff -r /tmp/old /tmp/new && echo identical

The 5 MB text needs ``../shared`` (``data/make_news_text.py``); without it that
part is left out and said so.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("pretty", "jsonl", "conll", "inline", "html")


def nertag(*args: str, out: Path | None = None, cwd: Path | None = None) -> None:
    cmd = [sys.executable, "-m", "nertag", *args]
    r = subprocess.run(cmd, capture_output=True, cwd=cwd, env=dict(os.environ, COLUMNS="100"))
    if r.returncode != 0:
        sys.exit(f"snapshot: {' '.join(args)} failed ({r.returncode}): "
                 f"{r.stderr.decode(errors='replace')[-500:]}")
    if out is not None:
        out.write_bytes(r.stdout)


def without_timing(path: Path) -> None:
    """Drop the run's wall time (the one field two identical runs do not share)."""
    doc = json.loads(path.read_text())
    doc.pop("seconds", None)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def weights_digest(model: Path, out: Path) -> None:
    """SHA-256 of each weights file of a model directory (stage1/ too), one a line."""
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(model)}"
             for p in sorted(model.rglob("*.npz"))]
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--no-train", action="store_true", help="leave the trainings out")
    a = ap.parse_args()
    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    example = ROOT / "data" / "example.txt"
    dev = ROOT / "data" / "sample" / "dev.conll"
    for fmt in FORMATS:
        nertag("tag", str(example), "-f", fmt, out=out / f"example.{fmt}")
    nertag("tag", "--tokenized", str(dev), out=out / "dev.tokenized.conll")
    nertag("evaluate", str(ROOT / "models" / "default"), str(dev), "--json",
           out=out / "evaluate.json")
    nertag("gradcheck", "--json", out=out / "gradcheck.json")
    without_timing(out / "gradcheck.json")
    big = out.parent / (out.name + ".big5.txt")
    if (ROOT.parent / "shared").is_dir():
        subprocess.run([sys.executable, str(ROOT / "data" / "make_news_text.py"), "5", str(big)],
                       check=True, capture_output=True)
        nertag("tag", str(big), "-f", "jsonl", out=out / "big5.jsonl")
        nertag("tag", str(big), "-f", "jsonl", "--jobs", "2", out=out / "big5.jobs2.jsonl")
        big.unlink()
    else:
        print("snapshot: no ../shared, the 5 MB text is left out", file=sys.stderr)
    if a.no_train:
        return
    runs = out.parent / (out.name + ".runs")
    one, two = runs / "one", runs / "two"
    runs.mkdir(exist_ok=True)
    nertag("train", "--set", "train.epochs=3", "-o", str(one), "-q")
    weights_digest(one, out / "train.one_stage.sha256")
    nertag("train", "--set", "train.epochs=2", "--set", "features.doc_context=true",
           "--set", "model.hidden=30", "-o", str(two), "-q")
    weights_digest(two, out / "train.two_stage.sha256")
    subprocess.run(["rm", "-rf", str(runs)], check=True)


if __name__ == "__main__":
    main()
