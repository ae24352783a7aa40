#!/usr/bin/env python3
"""The same nertag command from two (or more) checkouts, whole commands interleaved:
before and after a change, with the order alternating from round to round so a change
in the machine's load hits every checkout alike.

Each command runs as ``python -m nertag ARGS`` with the checkout as its working
directory (so that checkout's ``nertag`` is imported); paths in ARGS should be
absolute.  Prints, per checkout, the wall time and the CPU time (user + system of the
command, less sensitive to other work on the machine) as medians with their ranges::

    git worktree add /tmp/before 73518c2
    python data/make_news_text.py 5 /tmp/big5.txt
    python benchmarks/checkouts_ab.py before=/tmp/before after=. --rounds 5 -- \\
        tag /tmp/big5.txt -f jsonl -o /dev/null
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def run(checkout: Path, args: list[str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one whole command."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nertag", *args], cwd=checkout, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkouts", nargs="+", metavar="NAME=DIR")
    ap.add_argument("--rounds", type=int, default=5)
    argv = sys.argv[1:]
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        ap.error("give the nertag command after --")
    a = ap.parse_args(argv[:argv.index("--")])
    args = argv[argv.index("--") + 1:]
    named = [(n, Path(d).resolve()) for n, d in (c.split("=", 1) for c in a.checkouts)]
    times: dict[str, list[tuple[float, float]]] = {n: [] for n, _ in named}
    for r in range(a.rounds):
        order = named if r % 2 == 0 else named[::-1]
        for name, d in order:
            times[name].append(run(d, args))
    print(f"nertag {' '.join(args)}   ({a.rounds} rounds, interleaved; median (range))")
    for name, _ in named:
        wall = [w for w, _ in times[name]]
        cpu = [c for _, c in times[name]]
        print(f"  {name:10} wall {summary(wall)}   cpu {summary(cpu)}")


if __name__ == "__main__":
    main()
