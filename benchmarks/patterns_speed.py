#!/usr/bin/env python3
"""``nertag tag --patterns FILE``, measured: the whole command on a text with 10,000
phrase patterns against the same command without patterns (target: at least 0.9 times
the speed without).

The patterns (written to a temporary file): half are n-grams of 1-3 tokens taken from
the text's capitalised words (so they match, often, and overlap the model's entities),
half are made-up phrases that never match; ``--token-patterns`` adds a few token
patterns (``lower``, ``shape``, ``regex``).  ``--pairs`` interleaved runs of ``nertag tag
FILE -f jsonl -o OUT`` without and with ``--patterns`` (order alternating within each
pair): medians and ranges of the wall time and of the CPU time (user + system of the
command; less sensitive to other work on the machine), and the speed ratio of the medians.

    python data/make_news_text.py 1 /tmp/p1.txt
    python benchmarks/patterns_speed.py /tmp/p1.txt --pairs 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NERTAG = [sys.executable, "-m", "nertag"]
TOKEN_PATTERNS = [
    {"label": "VERSION", "pattern": [{"lower": "version"}, {"shape": "d.d"}]},
    {"label": "MONEY", "pattern": [{"regex": r"\$\d+(\.\d+)?"}, {"lower": "million"}]},
    {"label": "YEAR", "pattern": [{"lower": "in"}, {"shape": "dddd"}]},
]


def make_patterns(text: str, n: int, token_patterns: bool, seed: int = 0) -> list[dict]:
    """``n`` phrase patterns: half from the text's capitalised n-grams, half made up."""
    rng = random.Random(seed)
    words = re.findall(r"[A-Z][a-z]+", text[:2_000_000])
    grams = set()
    while len(grams) < n // 2 and words:
        i = rng.randrange(len(words))
        grams.add(" ".join(words[i:i + rng.randint(1, 3)]))
        if len(grams) >= len(set(words)):
            break
    labels = ["PRODUCT", "COMPANY", "PLACE", "THING"]
    out = [{"label": rng.choice(labels), "pattern": g} for g in sorted(grams)]
    while len(out) < n:
        out.append({"label": rng.choice(labels),
                    "pattern": f"Zq{len(out)} Xv{rng.randrange(10_000)}"})
    return out + (TOKEN_PATTERNS if token_patterns else [])


def run(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one command."""
    before = os.times()
    t0 = time.perf_counter()
    subprocess.run(NERTAG + args, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + \
        (after.children_system - before.children_system)
    return wall, cpu


def summary(xs: list[float]) -> str:
    return f"{statistics.median(xs):7.2f} s  [{min(xs):.2f}-{max(xs):.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("text", type=Path, help="a text file to tag")
    ap.add_argument("--model", default="default", help="model directory (default: shipped)")
    ap.add_argument("--patterns", type=int, default=10_000, help="phrase patterns")
    ap.add_argument("--token-patterns", action="store_true", help="add 3 token patterns")
    ap.add_argument("--mode", default="override", choices=("override", "fill", "patterns"))
    ap.add_argument("--pairs", type=int, default=5, help="interleaved runs of each")
    a = ap.parse_args()
    text = a.text.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        pfile = Path(tmp) / "patterns.jsonl"
        pats = make_patterns(text, a.patterns, a.token_patterns)
        pfile.write_text("".join(json.dumps(p) + "\n" for p in pats), encoding="utf-8")
        base = ["tag", "-m", a.model, str(a.text), "-f", "jsonl", "-o", str(Path(tmp) / "o")]
        runs = {"without": base, "with": base + ["--patterns", str(pfile), "--pattern-mode",
                                                 a.mode]}
        subprocess.run(NERTAG + runs["with"], check=True)  # warm up; count the matches
        matched = (Path(tmp) / "o").read_text(encoding="utf-8").count('"source": "pattern"')
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
        for i in range(a.pairs):
            for name in (("without", "with") if i % 2 == 0 else ("with", "without")):
                times[name].append(run(runs[name]))
    size = a.text.stat().st_size
    print(f"{a.text}: {size / 1e6:.2f} MB; {len(pats)} patterns ({a.patterns} phrases), "
          f"mode {a.mode}; {matched} pattern entities in the output; {a.pairs} pairs")
    for name, ts in times.items():
        print(f"  {name:8s} wall {summary([w for w, _ in ts])}   cpu {summary([c for _, c in ts])}")
    for i, what in ((0, "wall"), (1, "cpu")):
        ratio = statistics.median(t[i] for t in times["without"]) / \
            statistics.median(t[i] for t in times["with"])
        print(f"  speed with / without ({what}): {ratio:.3f}")


if __name__ == "__main__":
    main()
