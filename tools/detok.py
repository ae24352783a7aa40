"""Turn CoNLL tokens back into running text, and measure tokenizer agreement.

``python -m tools.detok valid.txt`` prints the share of CoNLL sentences that
:func:`nertag.text.tokenize.tokenize` splits exactly as the corpus does after
:func:`detokenize` (:mod:`nertag.text.detok`) has glued them back together.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

from nertag.errors import NertagError
from nertag.text.conll import iter_words
from nertag.text.detok import detokenize
from nertag.text.tokenize import tokenize

__all__ = ["detokenize", "read_conll_sentences", "tokenizer_agreement"]


def read_conll_sentences(path: str | Path, encoding: str = "utf-8") -> Iterator[list[str]]:
    """The word column of each sentence of a CoNLL file (``-DOCSTART-`` skipped)."""
    for sentence in iter_words(path, encoding):
        yield sentence.words


def tokenizer_agreement(conll_path: str | Path) -> tuple[int, int]:
    """Return ``(agreeing, total)`` sentences of a CoNLL file (see module doc)."""
    agree = total = 0
    for words in read_conll_sentences(conll_path):
        total += 1
        agree += [t.text for t in tokenize(detokenize(words))] == words
    return agree, total


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tools.detok CONLL_FILE")
    try:
        ok, n = tokenizer_agreement(sys.argv[1])
    except NertagError as err:
        sys.exit(f"error: {err}")
    print(f"{ok}/{n} sentences agree ({ok / max(n, 1):.2%})")
