#!/usr/bin/env python3
"""``nertag train --from MODEL``, measured: continuing a trained model (the shipped
recipe: two stages, characters, name lists, CRF) on N sentences of new data (target:
1,000 sentences in at most 60 s wall on a 2-core machine).

The first N sentences of DATA are written to a temporary file (DEV, if given, is the
dev set); each of ``--rounds`` runs is the whole command, ``nertag train -q --from
MODEL --train FILE -o OUT`` (with ``--rehearse FILE`` if given; ``--set`` passed on).
Printed: the median and range of the wall time and of the CPU time (user + system of
the command and its first-stage workers; less sensitive to other work on the machine),
and the last run's phases (the times at which its progress lines came).

    python benchmarks/adapt_speed.py default ../shared/data/wnut17/train.conll \\
        --dev ../shared/data/wnut17/dev.conll --sentences 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NERTAG = [sys.executable, "-m", "nertag"]


def first_sentences(path: Path, n: int) -> str:
    """The first ``n`` sentences (blank-line separated blocks) of a CoNLL file."""
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    blocks = [b.strip("\n") for b in re.split(r"\n[ \t]*\n", text)  # (blank: maybe a tab)
              if b.strip() and not b.strip().startswith("-DOCSTART-")]
    if len(blocks) < n:
        sys.exit(f"{path}: {len(blocks)} sentences, fewer than --sentences {n}")
    return "\n\n".join(blocks[:n]) + "\n"


def run(args: list[str]) -> tuple[float, float, list[tuple[float, str]]]:
    """Wall and CPU seconds of one command, and when (s from its start) it printed what."""
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.Popen(NERTAG + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    lines = [(time.perf_counter() - t0, line.rstrip()) for line in proc.stderr]
    if proc.wait() != 0:
        sys.exit("\n".join(line for _, line in lines))
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + \
        (after.children_system - before.children_system)
    return wall, cpu, lines


def summary(xs: list[float]) -> str:
    return f"{statistics.median(xs):7.1f} s  [{min(xs):.1f}-{max(xs):.1f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="the model to continue (e.g. a shipped-recipe model)")
    ap.add_argument("data", type=Path, help="a CoNLL file of new data")
    ap.add_argument("--dev", type=Path, help="a dev file for the run")
    ap.add_argument("--sentences", type=int, default=1000, help="training sentences")
    ap.add_argument("--rounds", type=int, default=3, help="runs of the command")
    ap.add_argument("--rehearse", type=Path, help="the base model's training data")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        train = Path(tmp) / "train.conll"
        train.write_text(first_sentences(a.data, a.sentences), encoding="utf-8")
        args = ["train", "--from", a.model, "--train", str(train), "-o",
                str(Path(tmp) / "out"), "--force"]
        args += ["--dev", str(a.dev)] if a.dev else []
        args += ["--rehearse", str(a.rehearse)] if a.rehearse else []
        args += [x for kv in a.set for x in ("--set", kv)]
        times = [run(args) for _ in range(a.rounds)]
    print(f"nertag train --from {a.model}: {a.sentences} sentences of {a.data}"
          f"{', rehearsal ' + str(a.rehearse) if a.rehearse else ''}"
          f"{' ' + ' '.join(a.set) if a.set else ''}; {a.rounds} rounds, "
          f"{os.cpu_count()} cores")
    print(f"  wall {summary([w for w, _, _ in times])}   cpu {summary([c for _, c, _ in times])}")
    print("  the last run's progress:")
    for at, line in times[-1][2]:
        if line and not line.startswith(("│", "┃", "┏", "┡", "└", "training  ")):
            print(f"  {at:6.1f} s  {line[:110]}")


if __name__ == "__main__":
    main()
