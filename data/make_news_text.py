#!/usr/bin/env python3
"""Write a large news-like raw text for the tagging benchmarks.

Paragraphs are either a paragraph of ``data/example.txt`` (one in five) or 2–6
sentences of the CoNLL-2003 training set, detokenized (``tools/detok.py``) so the
text reads as a writer would type it.  The text is not shipped (it is made of
CoNLL-2003 sentences); make it on a machine that has ``../shared``.

``--rare`` adds 1–4 fresh tokens to each paragraph (random numbers and
capitalised nonsense words), so the tagger keeps meeting new word types over a
very large file, as it would in real text: the test of bounded memory.

The output is deterministic for a given seed::

    python data/make_news_text.py 5 big5.txt                          # 5 MB, seed 0
    python data/make_news_text.py 1000 huge1g.txt --rare --seed 1     # 1 GB
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nertag.errors import NertagError  # noqa: E402
from tools.detok import detokenize, read_conll_sentences  # noqa: E402


def main() -> None:
    """Write the text; a missing or unreadable input is one line on stderr, exit 1."""
    try:
        write_text()
    except NertagError as e:
        sys.exit(f"error: {e.message}")
    except OSError as e:
        sys.exit(f"error: {e.filename}: {e.strerror}")


def write_text() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("megabytes", type=float, help="size of the text (10⁶ bytes, or characters "
                                                  "with --rare)")
    ap.add_argument("output", type=Path)
    ap.add_argument("--conll", default=str(HERE.parent.parent / "shared/data/conll2003/train.txt"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rare", action="store_true", help="add fresh rare tokens to each paragraph")
    args = ap.parse_args()
    if not Path(args.conll).is_file():
        raise NertagError(f"{args.conll}: CoNLL file not found (the CoNLL-2003 training set, "
                          f"not shipped for licence reasons); give one with --conll FILE")
    target = int(args.megabytes * 1e6)
    rng = random.Random(args.seed)
    examples = [p for p in (HERE / "example.txt").read_text(encoding="utf-8").split("\n\n")
                if p.strip()]
    sents = [detokenize(s) for s in read_conll_sentences(args.conll) if len(s) > 3]

    def rare() -> str:
        if rng.random() < 0.5:
            return f"{rng.randint(0, 10**7):,}"
        return rng.choice(string.ascii_uppercase) + "".join(
            rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))

    size = 0
    tmp = args.output.with_name(args.output.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        while size < target:
            if rng.random() < 0.2:
                p = rng.choice(examples).strip()
            else:
                p = " ".join(rng.choice(sents) for _ in range(rng.randint(2, 6)))
            if args.rare:
                p += " " + " ".join(rare() for _ in range(rng.randint(1, 4))) + "."
                size += len(p) + 2
            else:
                size += len(p.encode()) + 2
            f.write(p + "\n\n")
    tmp.replace(args.output)


if __name__ == "__main__":
    main()
