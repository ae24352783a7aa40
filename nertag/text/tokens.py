"""How tokens are stored: one :class:`Token` (text and offsets), or many as parallel
lists (:class:`TokenSpans`) and arrays (:class:`Sentences`), which are cheaper to build
for the hundreds of thousands of tokens a tagging batch holds."""

from __future__ import annotations

from itertools import repeat
from typing import Iterator, NamedTuple, Sequence

import numpy as np

_new = tuple.__new__


class Token(NamedTuple):
    """One token: its text and ``[start, end)`` character offsets in the input."""

    text: str
    start: int
    end: int


class TokenSpans(Sequence):
    """A sequence of :class:`Token` stored as three parallel lists (text, start, end).

    The tagging path keeps tokens this way (building a ``Token`` object per token
    was a fifth of the tagging time); ``Token`` objects are made only when an item
    is asked for.  Compares equal to any sequence of the same tokens.
    """

    __slots__ = ("texts", "starts", "ends")

    def __init__(self, texts: list[str], starts: list[int], ends: list[int]):
        self.texts, self.starts, self.ends = texts, starts, ends

    @classmethod
    def of(cls, tokens: Sequence[Token]) -> "TokenSpans":
        """The spans of any sequence of tokens (returned as is if already spans)."""
        if isinstance(tokens, cls):
            return tokens
        return cls([t[0] for t in tokens], [t[1] for t in tokens], [t[2] for t in tokens])

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return TokenSpans(self.texts[i], self.starts[i], self.ends[i])
        return _new(Token, (self.texts[i], self.starts[i], self.ends[i]))

    def __iter__(self) -> Iterator[Token]:
        return map(_new, repeat(Token), zip(self.texts, self.starts, self.ends))

    def __eq__(self, other) -> bool:
        if isinstance(other, TokenSpans):
            return (self.texts, self.starts, self.ends) == (other.texts, other.starts, other.ends)
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # mutable, like a list

    def __repr__(self) -> str:
        return f"TokenSpans({list(self)!r})"


class Sentences(NamedTuple):
    """The tokens of a text as flat arrays, and where its sentences start.

    ``texts[i]`` (N strings) is token i, ``starts`` / ``ends`` (N,) int64 its offsets;
    sentence k is tokens ``cuts[k]:cuts[k + 1]`` (``cuts``: S + 1 increasing ints,
    ``cuts[0] == 0``, ``cuts[-1] == N``; no sentence is empty).
    """

    texts: list[str]
    starts: np.ndarray
    ends: np.ndarray
    cuts: list[int]
