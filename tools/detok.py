"""Turn CoNLL tokens back into running text, and measure tokenizer agreement.

``python -m tools.detok valid.txt`` prints the share of CoNLL sentences that
:func:`nertag.text.tokenize.tokenize` splits exactly as the corpus does after
:func:`detokenize` has glued them back together.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, Sequence

from nertag.errors import NertagError
from nertag.text.conll import iter_words
from nertag.text.tokenize import tokenize

# no space before these tokens
_ATTACH_LEFT = frozenset([",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'s", "'S",
                          "n't", "N'T", "'m", "'M", "'re", "'RE", "'ve", "'VE", "'ll",
                          "'LL", "'d", "'D", "''", "”", "’", "/"])
# no space after these tokens
_ATTACH_RIGHT = frozenset(["(", "[", "{", "$", "``", "“", "‘", "/"])


def _is_currency(tok: str) -> bool:
    """``$``, ``US$``, ``C$`` ... (a currency sign glued to the amount)."""
    return tok.endswith("$") and tok[:-1].isalpha() and tok[:-1].isupper() or tok == "$"


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens the way a writer would have typed them.

    ``"`` is used by CoNLL-2003 for both opening and closing quotes: they
    alternate, starting with an opening one.  A lone ``'`` after a word
    ending in ``s`` is a possessive (``players '`` -> ``players'``).
    """
    out: list[str] = []
    glue_next = False  # previous token wants no space after it
    open_quote = False
    for i, tok in enumerate(tokens):
        space = bool(out) and not glue_next
        glue_next = False
        if tok == '"':
            if open_quote or i == len(tokens) - 1:
                space = False
            else:
                glue_next = True
            open_quote = not open_quote
        elif tok == "'":
            prev = tokens[i - 1] if i else ""
            if prev[-1:] in ("s", "S"):
                space = False  # possessive
            else:
                glue_next = True
        elif tok in _ATTACH_LEFT:
            space = False
        if tok in _ATTACH_RIGHT or _is_currency(tok):
            glue_next = True
        if space:
            out.append(" ")
        out.append(tok)
    return "".join(out)


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
