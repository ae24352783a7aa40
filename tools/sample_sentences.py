"""Draw N sentences of a CoNLL file at random, for learning curves.

    python -m tools.sample_sentences ../shared/data/wnut17/train.conll 300 -o wnut300.conll

Sentences are the blocks between blank (or whitespace-only) lines; ``-DOCSTART-``
lines are dropped. The draw is a seeded permutation (``--seed``, default 1), and the
first N of it are written in file order, so that with one seed the sample of 100 is
inside the sample of 300, which is inside the sample of 1,000. Lines are copied as
they are (columns and tags untouched); sentences end with one blank line.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def read_blocks(path: str) -> list[list[str]]:
    """The file's sentences: lists of their lines (without the newline)."""
    blocks, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("-DOCSTART-"):
                if cur:
                    blocks.append(cur)
                cur = []
            else:
                cur.append(line)
    if cur:
        blocks.append(cur)
    return blocks


def sample(blocks: list, n: int, seed: int) -> list:
    """The first ``n`` of a seeded permutation of ``blocks``, in their file order."""
    if not 0 < n <= len(blocks):
        raise ValueError(f"asked for {n} sentences; the file has {len(blocks)}")
    keep = np.sort(np.random.default_rng(seed).permutation(len(blocks))[:n])
    return [blocks[i] for i in keep]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    try:
        chosen = sample(read_blocks(a.file), a.n, a.seed)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        print(f"error: {a.file}: {e}", file=sys.stderr)
        return 1
    try:
        with open(a.output, "x", encoding="utf-8") as out:  # never replaces a file
            out.write("".join("\n".join(b) + "\n\n" for b in chosen))
    except FileExistsError:
        print(f"error: {a.output} exists; choose another -o", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
