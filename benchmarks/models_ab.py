#!/usr/bin/env python3
"""Tagging speed of two (or more) models, whole commands interleaved:
``nertag tag FILE -m MODEL -f jsonl -o OUT`` for each model in turn, the order
alternating from round to round, so a change in the machine's load hits every model.

Prints, per model, the wall time and the CPU time (user + system of the command, less
sensitive to other work on the machine) as medians with their ranges, and tokens/s
(the tokens counted in the first run's jsonl output).  Used for the name lists' cost
(``features.gazetteer``): a model trained with them against the same recipe without.

    python data/make_news_text.py 5 /tmp/big5.txt
    python benchmarks/models_ab.py /tmp/big5.txt nolists=runs/glove lists=runs/glove-gaz
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NERTAG = [sys.executable, "-m", "nertag"]


def count_tokens(jsonl: Path) -> int:
    with open(jsonl, encoding="utf-8") as f:
        return sum(len(json.loads(line)["tokens"]) for line in f if line.strip())


def run(src: str, model: str, out: Path) -> tuple[float, float]:
    """(wall, cpu) seconds of one whole command."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(NERTAG + ["tag", src, "-m", model, "-f", "jsonl", "-o", str(out)],
                   check=True)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def spread(tokens: int, xs: list[float]) -> str:
    m = statistics.median(xs)
    return (f"{m:.2f} s ({min(xs):.2f}–{max(xs):.2f}) = {tokens / m:,.0f} tok/s "
            f"({tokens / max(xs):,.0f}–{tokens / min(xs):,.0f})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("text", help="raw text to tag (e.g. data/make_news_text.py's output)")
    ap.add_argument("models", nargs="+", metavar="NAME=DIR", help="models to compare")
    ap.add_argument("--rounds", type=int, default=5, help="runs of each model (default 5)")
    args = ap.parse_args(argv)
    models = [m.split("=", 1) if "=" in m else (Path(m).name, m) for m in args.models]
    times = {name: ([], []) for name, _ in models}
    print(f"load average before: {' '.join(map(str, os.getloadavg()))}")
    with tempfile.TemporaryDirectory() as tmp:
        tokens = None
        for i in range(args.rounds):
            for name, d in (models if i % 2 == 0 else models[::-1]):
                out = Path(tmp) / f"{name}.jsonl"
                wall, cpu = run(args.text, d, out)
                if tokens is None:
                    tokens = count_tokens(out)
                times[name][0].append(wall)
                times[name][1].append(cpu)
                print(f"  round {i + 1} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    print(f"load average after: {' '.join(map(str, os.getloadavg()))}")
    print(f"{args.text}: {tokens:,d} tokens; medians of {args.rounds} (min–max)")
    for name, (wall, cpu) in times.items():
        print(f"{name:>12}  wall {spread(tokens, wall)}")
        print(f"{'':>12}  CPU  {spread(tokens, cpu)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
