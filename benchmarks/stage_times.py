#!/usr/bin/env python3
"""Where a two-stage model's tagging time goes: CPU seconds (``time.process_time``, less
sensitive to other work on the machine than the wall clock) of each stage of
``nertag tag``'s model calls, in process, over a whole text.

Each round loads the model afresh and tags every batch once with one BLAS thread, as one
command does (so the per-word-type tables are filled as they would be).  Stages (a model without a first
stage or name lists shows only what it has):

  load              load_model (config, weights, vocabularies, name lists)
  name lists        the name-list match codes (computed once, shared by both stages)
  stage 1 scores    the first model's scores (its word-type tables, window sums, layers)
  stage 1 paths     its Viterbi paths (no confidences)
  document codes    the codes from the first stage's tags
  stage 2 scores    the model's own scores (the above excluded)
  stage 2 decode    its decoding and confidences
  other             the rest of the batch calls (tokenizing, word types, entities)

Prints the median of the rounds and their range, per stage::

    python data/make_news_text.py 5 /tmp/big5.txt
    python benchmarks/stage_times.py models/default /tmp/big5.txt --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict

from nertag import blas

blas.set_threads(None)  # one BLAS thread, as `nertag tag` (before NumPy is imported)

import nertag.inference.model as model_module  # noqa: E402
from nertag.modelio import load_model  # noqa: E402
from nertag.tagging.chunks import batches, tag_chunks  # noqa: E402

DOCUMENT_CODES = model_module.document_codes
STAGES = ("load", "name lists", "stage 1 scores", "stage 1 paths", "document codes",
          "stage 2 scores", "stage 2 decode", "other", "batches (all)")


def timed(times: dict, name: str, fn):
    """``fn`` that adds its CPU time to ``times[name]``."""
    def wrapper(*args, **kwargs):
        t = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            times[name] += time.process_time() - t
    return wrapper


def one_round(model_dir: str, text: str) -> dict[str, float]:
    times: dict[str, float] = defaultdict(float)
    t = time.process_time()
    model = load_model(model_dir, read_only=True)
    model.fast_inference = True
    times["load"] = time.process_time() - t
    lists = model.featurizer.gazetteer.lists if model.featurizer.gazetteer else None
    if lists is not None:
        lists.codes = timed(times, "name lists", lists.codes)
    first = model.stage1
    if first is not None:
        first.type_scores = timed(times, "stage 1 scores", first.type_scores)
        paths = "decode_ids" if hasattr(first, "decode_ids") else "decode"  # (older checkouts)
        setattr(first, paths, timed(times, "stage 1 paths", getattr(first, paths)))
        model_module.document_codes = timed(times, "document codes", DOCUMENT_CODES)
    model.type_scores = timed(times, "stage 2 scores (all)", model.type_scores)
    model.decode = timed(times, "stage 2 decode", model.decode)
    with open(text, encoding="utf-8") as f:
        chunks = list(batches(f))
    t = time.process_time()
    for batch in chunks:
        tag_chunks(model, batch)
    total = time.process_time() - t
    nested = sum(times[k] for k in ("name lists", "stage 1 scores", "stage 1 paths",
                                     "document codes"))
    times["stage 2 scores"] = times.pop("stage 2 scores (all)") - nested
    times["other"] = total - sum(v for k, v in times.items() if k != "load")
    times["batches (all)"] = total
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="model directory")
    ap.add_argument("text", help="raw text to tag (e.g. data/make_news_text.py's output)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    args = ap.parse_args(argv)
    rounds = [one_round(args.model, args.text) for _ in range(args.rounds)]
    model_module.document_codes = DOCUMENT_CODES
    print(f"{args.model} on {args.text}: CPU seconds, median of {args.rounds} (min–max)")
    for name in STAGES:
        xs = [r.get(name, 0.0) for r in rounds]
        if not any(xs):  # (a model without this stage)
            continue
        print(f"  {name:>16}  {statistics.median(xs):6.3f}  ({min(xs):.3f}–{max(xs):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
