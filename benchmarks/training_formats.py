#!/usr/bin/env python3
"""Each training format trains the model its CoNLL original trains.

The first ``--sentences`` sentences of CoNLL-2003 ``valid.txt`` are converted with
``nertag convert`` to every format nertag trains on (CoNLL BIO / BIOES / IOB1, IO
(Stanford TSV), nertag's jsonl, doccano, Prodigy); a model is trained on each converted
file (``--config``, default ``conll2003`` with 10 epochs, no dev set, the same seed) and
evaluated on the rest of ``valid.txt``.  For each format it prints whether the training
data read back is the original's (the same words, sentence breaks and entities) and the
dev F1.  Every format carries the words (doccano's as a ``tokens`` key, which doccano
keeps as metadata), so each reads back to the original sentences and trains the same
model bit for bit; ``--seeds N`` trains the CoNLL and doccano files with N seeds.

    python benchmarks/training_formats.py [--valid ../shared/data/conll2003/valid.txt]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMATS = {"conll": ".conll", "conll-bioes": ".bioes", "conll-iob1": ".iob1", "io": ".tsv",
           "jsonl": ".jsonl", "doccano": ".doccano.jsonl", "prodigy": ".prodigy.jsonl"}


def split(valid: Path, n: int, out: Path) -> tuple[Path, Path]:
    """valid.txt → its first n sentences and the rest (``-DOCSTART-`` lines dropped)."""
    sents, cur = [], []
    for line in valid.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            continue
        if line.strip():
            cur.append(line)
        elif cur:
            sents.append(cur)
            cur = []
    if cur:
        sents.append(cur)
    head, rest = out / "head.conll", out / "rest.conll"
    head.write_text("".join("\n".join(s) + "\n\n" for s in sents[:n]), encoding="utf-8")
    rest.write_text("".join("\n".join(s) + "\n\n" for s in sents[n:]), encoding="utf-8")
    return head, rest


def train_and_score(data: Path, fmt: str, dev: Path, out: Path, config: str, seed: int,
                    overrides: list[str]) -> float:
    import nertag

    model = nertag.train(config, [f"train.seed={seed}", f"data.format={fmt}", *overrides],
                         output=out, train=data, force=True)
    return 100 * nertag.evaluate(model, dev).f1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--valid", type=Path,
                    default=ROOT.parent / "shared" / "data" / "conll2003" / "valid.txt")
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--config", default="conll2003")
    ap.add_argument("--set", dest="overrides", action="append",
                    default=["train.epochs=10", "train.patience=0", "data.dev=null"])
    ap.add_argument("--seeds", type=int, default=1, help="seeds for doccano and conll")
    args = ap.parse_args(argv)
    if not args.valid.exists():
        print(f"{args.valid}: not found (give --valid)", file=sys.stderr)
        return 2
    from nertag.text.datasets import read_corpus

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        head, rest = split(args.valid, args.sentences, tmp)
        original = read_corpus(head)
        print(f"training data: the first {args.sentences} sentences of {args.valid} "
              f"({sum(map(len, (s.words for s in original.sentences)))} tokens); "
              f"dev: the other sentences; config {args.config} {' '.join(args.overrides)}")
        f1 = {}
        for fmt, ext in FORMATS.items():
            path = tmp / f"train{ext}"
            subprocess.run([sys.executable, "-m", "nertag", "convert", str(head), str(path),
                            "--to", fmt], check=True, capture_output=True)
            back = read_corpus(path, fmt)
            same = ([(s.words, s.tags) for s in back.sentences]
                    == [(s.words, s.tags) for s in original.sentences])
            words = sum(len(s.words) for s in back.sentences)
            f1[fmt] = [train_and_score(path, fmt, rest, tmp / f"m-{fmt}", args.config, seed,
                                       args.overrides)
                       for seed in range(1, (args.seeds if fmt in ("conll", "doccano") else 1)
                                         + 1)]
            print(f"{fmt:12} {len(back.sentences):5} sentences {words:6} tokens  "
                  f"{'identical to the CoNLL original' if same else 'retokenized':32} "
                  f"dev F1 {f1[fmt][0]:.2f}"
                  + (f"  (seeds 1-{args.seeds}: mean {statistics.mean(f1[fmt]):.2f} "
                     f"± {statistics.stdev(f1[fmt]):.2f})" if len(f1[fmt]) > 1 else ""),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
