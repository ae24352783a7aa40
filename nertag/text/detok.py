"""Turning tokens back into running text (for writing JSONL from CoNLL columns).

:func:`spaces_before` decides, between every two tokens, whether a writer would have
typed a space; :func:`join` builds the text and each token's offsets in it.
``"`` is used by CoNLL-2003 for both opening and closing quotes: they alternate,
starting with an opening one.  A lone ``'`` after a word ending in ``s`` is a
possessive (``players '`` -> ``players'``).
"""

from __future__ import annotations

from typing import Sequence

# no space before these tokens
_ATTACH_LEFT = frozenset([",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'s", "'S",
                          "n't", "N'T", "'m", "'M", "'re", "'RE", "'ve", "'VE", "'ll",
                          "'LL", "'d", "'D", "''", "”", "’", "/"])
# no space after these tokens
_ATTACH_RIGHT = frozenset(["(", "[", "{", "$", "``", "“", "‘", "/"])


def _is_currency(tok: str) -> bool:
    """``$``, ``US$``, ``C$`` ... (a currency sign glued to the amount)."""
    return tok.endswith("$") and tok[:-1].isalpha() and tok[:-1].isupper() or tok == "$"


def spaces_before(tokens: Sequence[str]) -> list[bool]:
    """For each token, whether a space goes before it (never before the first)."""
    out: list[bool] = []
    glue_next = False  # previous token wants no space after it
    open_quote = False
    for i, tok in enumerate(tokens):
        space = i > 0 and not glue_next
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
        out.append(space)
    return out


def join(tokens: Sequence[str], spaces: Sequence[bool]) -> tuple[str, list[tuple[int, int]]]:
    """The text of ``tokens`` with a space before each token whose flag is set, and
    each token's ``[start, end)`` in it."""
    parts, offsets, pos = [], [], 0
    for tok, space in zip(tokens, spaces):
        if space:
            parts.append(" ")
            pos += 1
        parts.append(tok)
        offsets.append((pos, pos + len(tok)))
        pos += len(tok)
    return "".join(parts), offsets


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens the way a writer would have typed them."""
    return join(tokens, spaces_before(tokens))[0]
