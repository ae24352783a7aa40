#!/usr/bin/env python3
"""Active learning, simulated: WNUT-17's gold labels play the annotator of ``nertag
annotate`` (docs/annotate.md), uncertainty order against random order.

The pool (WNUT-17 train, one tweet a line, words joined by spaces) is opened as ``nertag
annotate`` opens its text files (:func:`nertag.annotate.session.open_session`,
``--sentences line``, the shipped model's spans and calibrated scores), with ``--order
uncertain`` (``--random-share 0.1``) or ``--order random``, ``--seed`` the run's seed.
The simulated annotator takes the sentence the session gives and accepts it with the
gold entities (types mapped as docs/adapt.md recommends, ``person=PER, location=LOC,
corporation=ORG``; projected onto the session's tokens), so the answers file is what a
person would have written. After 50 / 100 / 200 / 400 / 500 / 800 answers
(``--sizes``), the shipped model is continued on the answers file as it is (``train
--from``, as a retrain of ``nertag annotate --retrain-every`` does, with its settings,
all answers, no held-back share) and scored on WNUT-17 dev mapped the same way (entity
F1, as ``nertag evaluate``); in uncertainty order the pool not answered is then tagged
with the new model and the queue re-ranked (as when a retrain is taken into use).
Each checkpoint's model starts from the shipped model (not from the previous
checkpoint's).

Printed: dev F1 by order and size (median and range over ``--seeds``) with each
retrain's wall time; written: all of it as JSON (``--json``).

``--retrain-time N`` measures a retrain of ``nertag annotate`` itself instead: the
session on the pool, ``Retrainer(every=N)`` (held-back share 0.2, ``--rehearse`` if
given), N gold answers, and the wall time from the N-th answer until the new model is
scored (and in use, the queue re-tagged), ``--rounds`` times.

    python benchmarks/active_learning.py --seeds 1,2,3 --json al.json
    python benchmarks/active_learning.py --retrain-time 400 \\
        --rehearse ../shared/data/conll2003/train.txt --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from bisect import bisect_left, bisect_right
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "wnut17"
MAP = {"person": "PER", "location": "LOC", "corporation": "ORG"}
NEW_TYPES = ("creative-work", "group", "product")


def read_gold(path: Path):
    """The file's sentences: ``(text, [(start, end, type)])``, words joined by one space,
    types mapped by :data:`MAP`."""
    from nertag.text.datasets import map_types, read_corpus
    from nertag.text.tags import get_entities

    corpus = read_corpus(path)
    map_types(corpus, MAP)
    out = []
    for s in corpus.sentences:
        starts, pos = [], 0
        for w in s.words:
            starts.append(pos)
            pos += len(w) + 1
        ents = [(starts[a], starts[b - 1] + len(s.words[b - 1]), t)
                for t, a, b in get_entities(s.tags)]
        out.append((" ".join(s.words), ents))
    return corpus, out


def write_conll(corpus, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for s in corpus.sentences:
            f.writelines(f"{w} {t}\n" for w, t in zip(s.words, s.tags))
            f.write("\n")


def gold_spans(item, ents) -> list[dict]:
    """The gold entities on the item's tokens (a token partly inside counts)."""
    starts = [a for _, a, _ in item.tokens]
    ends = [b for _, _, b in item.tokens]
    out, last = [], -1
    for s, e, label in ents:
        a, b = bisect_right(ends, s), bisect_left(starts, e) - 1
        if a <= b and a > last:
            out.append({"token_start": a, "token_end": b, "label": label})
            last = b
    return out


class Pool:
    """The pool written as a text file and its gold entities by line offset."""

    def __init__(self, folder: Path, path: Path):
        _, sentences = read_gold(path)
        self.path = folder / "pool.txt"
        self.starts, self.ents, offset = [], [], 0
        with open(self.path, "w", encoding="utf-8") as f:
            for text, ents in sentences:
                f.write(text + "\n")
                self.starts.append(offset)
                self.ents.append(ents)
                offset += len(text) + 1

    def gold(self, item) -> list[tuple[int, int, str]]:
        """The gold entities inside ``item`` (a line, or a part of one), on its text."""
        line = bisect_right(self.starts, item.offset) - 1
        shift = item.offset - self.starts[line]
        return [(s - shift, e - shift, t) for s, e, t in self.ents[line]
                if s >= shift and e - shift <= len(item.text)]

    def session(self, output: Path, order: str, seed: int, model: str):
        from nertag.annotate.session import open_session

        session, lock, _ = open_session([str(self.path)], str(output), model=model,
                                        labels=list(NEW_TYPES), order=order,
                                        random_share=0.1, seed=seed, sentences="line")
        return session, lock

    def answer(self, session, n: int) -> int:
        """Accept ``n`` more sentences with their gold spans; how many were answered."""
        done = 0
        for _ in range(n):
            item = session.next("sim")["item"]
            if item is None:
                break
            it = session.items[session.index[item["id"]]]
            session.answer("sim", it.id, "accept", gold_spans(it, self.gold(it)))
            done += 1
        return done


def simulate(pool: Pool, folder: Path, order: str, seed: int, sizes: list[int], dev: Path,
             model: str, rehearse: str | None) -> list[dict]:
    """One run: dev F1 and retrain time at each size."""
    from nertag.annotate.retrain import OVERRIDES, retagged
    from nertag.annotate.retrain_job import retag
    from nertag.api import evaluate, train

    answers = folder / f"{order}-{seed}.jsonl"
    session, lock = pool.session(answers, order, seed, model)
    points, answered = [], 0
    try:
        for k in sizes:
            answered += pool.answer(session, k - answered)
            out = folder / f"{order}-{seed}-{k}"
            t0 = time.perf_counter()
            train(base=model, train=answers, output=out, rehearse=rehearse,
                  overrides=list(OVERRIDES) + [f"train.seed={seed}"])
            seconds = time.perf_counter() - t0
            ev = evaluate(out, dev)
            points.append({"k": answered, "f1": ev.f1, "precision": ev.precision,
                           "recall": ev.recall, "retrain_s": round(seconds, 2)})
            print(f"  {order:9s} seed {seed} k={answered:4d}: F1 {100 * ev.f1:6.2f}  "
                  f"retrain {seconds:5.1f} s", file=sys.stderr, flush=True)
            if order == "uncertain" and k != sizes[-1]:
                retagged(session, retag(str(out), [str(pool.path)], "line", "utf-8"))
    finally:
        session.close()
        lock.release()
    return points


def spread(xs: list[float], scale: float = 1.0, digits: int = 2) -> str:
    xs = [x * scale for x in xs]
    return f"{statistics.median(xs):.{digits}f} [{min(xs):.{digits}f}-{max(xs):.{digits}f}]"


def report(runs: list[dict], sizes: list[int], base_f1: float) -> dict:
    print(f"\nWNUT-17 dev F1 (mapped), shipped model before any answer: {100 * base_f1:.2f}")
    print(f"{'answers':>8} | {'uncertain F1':>22} | {'random F1':>22} | "
          f"{'retrain s (uncertain)':>22} | {'retrain s (random)':>22}")
    table: dict = {}
    for k in sizes:
        row = {}
        for order in ("uncertain", "random"):
            pts = [p for r in runs if r["order"] == order for p in r["points"] if p["k"] == k]
            if pts:
                row[order] = {"f1": [p["f1"] for p in pts],
                              "retrain_s": [p["retrain_s"] for p in pts]}
        table[k] = row

        def cell(order, key, scale, digits):
            return spread(row[order][key], scale, digits) if order in row else "-"
        print(f"{k:>8} | {cell('uncertain', 'f1', 100, 2):>22} | "
              f"{cell('random', 'f1', 100, 2):>22} | {cell('uncertain', 'retrain_s', 1, 1):>22}"
              f" | {cell('random', 'retrain_s', 1, 1):>22}")
    target = None
    last = sizes[-1]
    if "random" in table.get(last, {}):
        goal = statistics.median(table[last]["random"]["f1"])
        reach = [k for k in sizes if "uncertain" in table[k]
                 and statistics.median(table[k]["uncertain"]["f1"]) >= goal]
        target = {"random_f1_at_last": goal, "uncertain_reaches_it_at": reach[0] if reach
                  else None}
        print(f"\nrandom order at {last}: median F1 {100 * goal:.2f}; uncertainty order "
              f"reaches it at " + (f"{reach[0]} answers" if reach else "none of the sizes"))
        target["per_seed"] = {}
        for seed in sorted({r["seed"] for r in runs}):
            f1 = {(r["order"], p["k"]): p["f1"] for r in runs if r["seed"] == seed
                  for p in r["points"]}
            if ("random", last) in f1:
                at = [k for k in sizes if f1.get(("uncertain", k), -1) >= f1["random", last]]
                target["per_seed"][seed] = at[0] if at else None
                print(f"  seed {seed}: random at {last} {100 * f1['random', last]:.2f}; "
                      f"uncertain reaches it at {at[0] if at else 'none of the sizes'}")
    return {"table": {str(k): v for k, v in table.items()}, "target": target}


def retrain_time(args, folder: Path) -> None:
    from nertag.annotate.retrain import Retrainer

    pool = Pool(folder, Path(args.pool))
    walls, jobs, phases = [], [], []
    for r in range(args.rounds):
        out = folder / f"time-{r}.jsonl"
        session, lock = pool.session(out, "as-is", r + 1, args.model)
        lines: list[str] = []
        retrainer = Retrainer(session, every=args.retrain_time, model=args.model,
                              output=str(out), inputs=[str(pool.path)], sentences="line",
                              rehearse=args.rehearse, notify=lines.append)
        try:
            pool.answer(session, args.retrain_time)  # the last answer starts the retrain
            t0 = time.perf_counter()
            retrainer.watcher.join()
            walls.append(time.perf_counter() - t0)
            result = json.loads((retrainer.folder / "001" / "result.json").read_text())
            jobs.append(result.get("seconds", float("nan")))
            phases.append(result.get("phases", {}))
            print(f"round {r + 1}: {walls[-1]:.1f} s {phases[-1]}; " + " / ".join(lines),
                  file=sys.stderr, flush=True)
        finally:
            retrainer.close()
            session.close()
            lock.release()
    print(f"retrain on {args.retrain_time} answers"
          f"{' with --rehearse' if args.rehearse else ''}: wall {spread(walls, 1, 1)} s "
          f"(the job alone: {spread(jobs, 1, 1)} s), {args.rounds} rounds")
    for name in ("train", "score", "retag"):
        xs = [p[name] for p in phases if name in p]
        if xs:
            print(f"  {name}: {spread(xs, 1, 1)} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pool", default=str(SHARED / "train.conll"))
    ap.add_argument("--dev", default=str(SHARED / "dev.conll"))
    ap.add_argument("--model", default=None, help="the starting model (the shipped one)")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--sizes", default="50,100,200,400,500,800")
    ap.add_argument("--orders", default="uncertain,random")
    ap.add_argument("--rehearse", default=None)
    ap.add_argument("--json", default="active_learning.json")
    ap.add_argument("--retrain-time", type=int, default=0, metavar="N")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from nertag.modelio import model_path

    args.model = str(model_path(args.model))
    with tempfile.TemporaryDirectory(prefix="nertag-al-") as tmp:
        folder = Path(tmp)
        if args.retrain_time:
            return retrain_time(args, folder)
        from nertag.api import evaluate

        corpus, _ = read_gold(Path(args.dev))
        dev = folder / "dev.conll"
        write_conll(corpus, dev)
        base_f1 = evaluate(args.model, dev).f1
        pool = Pool(folder, Path(args.pool))
        sizes = [int(x) for x in args.sizes.split(",")]
        runs = []
        for seed in [int(x) for x in args.seeds.split(",")]:
            for order in args.orders.split(","):
                t0 = time.perf_counter()
                points = simulate(pool, folder, order, seed, sizes, dev, args.model,
                                  args.rehearse)
                runs.append({"order": order, "seed": seed, "points": points,
                             "wall_s": round(time.perf_counter() - t0, 1)})
                Path(args.json).write_text(json.dumps(
                    {"runs": runs, "base_f1": base_f1}, indent=1))  # partial results too
        summary = report(runs, sizes, base_f1)
        Path(args.json).write_text(json.dumps(
            {"pool": args.pool, "dev": args.dev, "model": args.model, "map": MAP,
             "sizes": sizes, "base_f1": base_f1, "runs": runs, **summary}, indent=1))
        print(f"written: {args.json}")


if __name__ == "__main__":
    main()
