"""Train a config with several seeds and report mean ± std of dev F1, per type, and time.

    python -m tools.seeds -c conll2003 --seeds 1 2 3 [--set KEY=VALUE ...] [--keep DIR]

This is how the results table in the README is produced: each seed is a full
``nertag train`` run (same data, same config), scored on the dev set.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


def run(config: str, seeds: list[int], overrides: list[str], keep: str | None = None) -> dict:
    from nertag.config import apply_overrides, load_config
    from nertag.training.loop import train

    results = []
    for seed in seeds:
        cfg = apply_overrides(load_config(config, overrides), [f"train.seed={seed}"])
        out = Path(keep) / f"seed{seed}" if keep else Path(tempfile.mkdtemp()) / "model"
        out.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        _, history = train(cfg, output=out, force=True)
        seconds = time.perf_counter() - t0
        best = max((r for r in history if r.get("best")), key=lambda r: r["epoch"])
        results.append({"seed": seed, "f1": best["dev"]["f1"], "epoch": best["epoch"],
                        "epochs_run": len(history), "seconds": seconds,
                        "per_type": {k: v["f1"] for k, v in best["dev"]["per_type"].items()}})
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    f1s = [r["f1"] for r in results]
    types = sorted(results[0]["per_type"])
    return {
        "config": config, "overrides": overrides, "seeds": seeds, "runs": results,
        "f1_mean": statistics.mean(f1s), "f1_std": statistics.stdev(f1s) if len(f1s) > 1 else 0.0,
        "per_type_mean": {t: statistics.mean(r["per_type"][t] for r in results) for t in types},
        "seconds_mean": statistics.mean(r["seconds"] for r in results),
    }


def main(argv=None) -> None:
    from nertag.cli import set_threads

    ap = argparse.ArgumentParser(prog="python -m tools.seeds", description=__doc__)
    ap.add_argument("-c", "--config", default="conll2003")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--keep", help="keep the models in DIR/seedN")
    args = ap.parse_args(argv)
    set_threads(None)
    report = run(args.config, args.seeds, args.overrides, args.keep)
    print(json.dumps(report, indent=2))
    pt = "  ".join(f"{t} {100 * v:.2f}" for t, v in report["per_type_mean"].items())
    print(f"{args.config}: dev F1 {100 * report['f1_mean']:.2f} ± {100 * report['f1_std']:.2f} "
          f"over seeds {args.seeds}; {pt}; {report['seconds_mean']:.0f} s per run",
          file=sys.stderr)


if __name__ == "__main__":
    main()
