#!/usr/bin/env python3
"""How well ``nertag tag`` scales: one process vs ``--jobs 2`` (and ``--engine dask``).

Whole commands (start-up and model loading included), run as subprocesses:

* ``--text FILE`` (e.g. the 5 MB ``big5.txt``): ``--pairs`` pairs of one process and
  ``--jobs 2``, interleaved (the order alternates from pair to pair), so a change in the
  machine's load hits both; the speed-up of each pair, and medians with their ranges;
* ``--big FILE`` (e.g. 100 MB): one process, ``--jobs 2`` and ``--engine dask --workers
  2``, ``--big-pairs`` times each (interleaved); tokens/s and speed-ups, and the time to
  start a 2-worker ``LocalCluster`` (measured on its own, ``--cluster-starts`` times).

The peak memory (VmHWM) of every process of a command (the parent, the workers, Dask's
nanny and worker processes) is read from /proc while it runs: for the small text in one
more run of each kind (reading /proc every 0.05 s takes CPU from the timed runs), for
the big one every 0.5 s during the timed runs.  The outputs of every kind of run are
checked to be byte-identical to the one-process output.  The load
average is printed before and after, since other work on the machine slows the runs.

    python data/make_news_text.py 5 big5.txt
    python data/make_news_text.py 100 big100.txt
    python benchmarks/jobs_dask.py --text big5.txt --pairs 5
    python benchmarks/jobs_dask.py --text big5.txt --pairs 5 --big big100.txt
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NERTAG = [sys.executable, "-m", "nertag"]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _status(pid: int) -> tuple[str, int] | None:
    """(name, peak RSS in KB) of a process, or None if it is gone."""
    try:
        fields = dict(line.split(":", 1) for line in
                      Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
        return cmd or fields["Name"].strip(), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


def run(args: list[str], out: Path, every: float | None = None) -> dict:
    """One whole command: wall time and (if ``every`` seconds it reads /proc) the peak
    RSS (MB) of each of its processes."""
    peaks: dict[int, tuple[str, int]] = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen(NERTAG + args + ["-o", str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def watch():
        while every and not done.wait(every):
            for pid in _tree(proc.pid):
                st = _status(pid)
                if st:
                    peaks[pid] = (st[0], max(st[1], peaks.get(pid, ("", 0))[1]))

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - t0
    done.set()
    t.join()
    if proc.returncode:
        raise SystemExit(f"nertag {' '.join(args)} failed: {err.decode()[-500:]}")
    parent = peaks.pop(proc.pid, ("", 0))[1] // 1024
    return {"seconds": seconds, "parent": parent,
            "others": sorted(((kb // 1024, name) for name, kb in peaks.values()), reverse=True)}


def tokens_in(path: Path) -> int:
    """Tokens in a jsonl output: every token object has one "tag" key (a quote inside
    a string is escaped, so the pattern cannot occur in a text)."""
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            n += block.count(b'"tag": "')
    return n  # (a block boundary inside the pattern could only lose a count; none here)


def describe(values: list[float], fmt: str = "{:,.0f}") -> str:
    return (f"{fmt.format(statistics.median(values))} "
            f"({fmt.format(min(values))}–{fmt.format(max(values))})")


def memory(runs: list[dict]) -> str:
    """Peak RSS over the runs: the command's own process, and its largest other process
    (a --jobs worker, a Dask worker or nanny)."""
    parent = max(r["parent"] for r in runs)
    others = [p for r in runs for p in r["others"]]
    if not others:
        return f"{parent} MB (one process)"
    mb, name = max(others)
    return (f"parent {parent} MB, largest of {max(len(r['others']) for r in runs)} other "
            f"processes {mb} MB ({name.split(' -c ')[0][:40]})")


def compare(kinds: dict[str, list[str]], text: Path, rounds: int, work: Path,
            model: list[str], every: float | None) -> dict[str, list[dict]]:
    """Interleaved runs of each kind of command on ``text``; outputs checked identical.
    With ``every=None`` the timed runs do not watch memory: one more run of each kind
    (not timed) does, every 0.05 s."""
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    names = list(kinds)
    for i in range(rounds):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            out = work / f"{name.replace(' ', '_')}.jsonl"
            r = run(["tag", str(text), "-f", "jsonl", *model, *kinds[name]], out, every)
            results[name].append(r)
            print(f"  round {i + 1}: {name:>24}: {r['seconds']:7.2f} s   (load {loadavg()})",
                  flush=True)
    if every is None:  # memory, in runs of their own
        for name in names:
            m = run(["tag", str(text), "-f", "jsonl", *model, *kinds[name]],
                    work / "memory.jsonl", 0.05)
            for r in results[name]:
                r["parent"], r["others"] = m["parent"], m["others"]
    first = work / f"{names[0].replace(' ', '_')}.jsonl"
    for name in names[1:]:
        same = filecmp.cmp(first, work / f"{name.replace(' ', '_')}.jsonl", shallow=False)
        print(f"  output of {name!r} {'identical to' if same else 'DIFFERS FROM'} "
              f"{names[0]!r}")
        if not same:
            raise SystemExit(1)
    n = tokens_in(first)
    for r in (r for rs in results.values() for r in rs):
        r["tokens_per_s"] = n / r["seconds"]
    print(f"  {n:,} tokens")
    return results


def report(results: dict[str, list[dict]]) -> None:
    names = list(results)
    base = results[names[0]]
    for name in names:
        rs = results[name]
        line = f"  {name:>24}: {describe([r['tokens_per_s'] for r in rs])} tokens/s, " \
               f"{describe([r['seconds'] for r in rs], '{:.2f}')} s"
        if name != names[0]:
            ratios = [b["seconds"] / r["seconds"] for b, r in zip(base, rs)]
            line += f", speed-up {describe(ratios, '{:.2f}')}×"
        print(line + f"; peak RSS: {memory(rs)}")


def cluster_start(times: int) -> list[float]:
    """Seconds to start a LocalCluster of 2 worker processes and have both ready."""
    code = ("import os, time; os.environ.setdefault('OPENBLAS_NUM_THREADS', '1');"
            "from nertag.dask import local_cluster; t = time.perf_counter();"
            "cluster, client = local_cluster(2); client.wait_for_workers(2);"
            "print(time.perf_counter() - t); client.close(); cluster.close()")
    out = []
    for _ in range(times):
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, check=True)
        out.append(float(r.stdout.split()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text", type=Path, required=True, help="the ~5 MB text")
    ap.add_argument("--pairs", type=int, default=5, help="0: only the --big part")
    ap.add_argument("--big", type=Path, help="the ~100 MB text (one process, --jobs 2, Dask)")
    ap.add_argument("--big-pairs", type=int, default=1)
    ap.add_argument("--cluster-starts", type=int, default=3)
    ap.add_argument("--model", help="model directory (default: the shipped model)")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    model = ["--model", args.model] if args.model else []
    print(f"nertag scaling benchmark; {os.cpu_count()} CPUs; load average {loadavg()}")
    with tempfile.TemporaryDirectory(prefix="nertag-bench-") as tmp:
        work = Path(tmp)
        if args.pairs > 0:
            print(f"\n{args.text} ({args.text.stat().st_size / 1e6:.1f} MB): {args.pairs} pairs")
            res = compare({"one process": [], f"--jobs {args.jobs}": ["--jobs", str(args.jobs)]},
                          args.text, args.pairs, work, model, None)
            report(res)
        if args.big:
            print(f"\n{args.big} ({args.big.stat().st_size / 1e6:.1f} MB): "
                  f"{args.big_pairs} round(s)")
            starts = cluster_start(args.cluster_starts)
            print(f"  LocalCluster of 2 workers ready in {describe(starts, '{:.2f}')} s")
            res = compare({"one process": [], f"--jobs {args.jobs}": ["--jobs", str(args.jobs)],
                           f"dask {args.jobs} workers": ["--engine", "dask", "--workers",
                                                          str(args.jobs)]},
                          args.big, args.big_pairs, work, model, 0.5)
            report(res)
    print(f"\nload average at the end: {loadavg()}")


if __name__ == "__main__":
    main()
