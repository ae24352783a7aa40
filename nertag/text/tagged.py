"""What tagging returns: entities with character offsets, in sentences, in chunks of the
input (the output formats in :mod:`nertag.render.formats` draw these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from nertag.text.tokens import TokenSpans


@dataclass
class Entity:
    start: int
    end: int
    label: str
    text: str
    score: float
    #: with entity patterns (:mod:`nertag.text.patterns`): ``"model"`` or ``"pattern"``
    #: (None: a run without patterns, where every entity is the model's)
    source: str | None = None
    pattern_id: str | None = None  # a pattern entity's pattern's ``id``, if it has one

    def as_dict(self) -> dict:
        out = {"start": self.start, "end": self.end, "label": self.label, "text": self.text,
               "score": round(self.score, 4)}
        if self.source is not None:
            out["source"] = self.source
        if self.pattern_id is not None:
            out["id"] = self.pattern_id
        return out


@dataclass
class TaggedSentence:
    start: int            # offset of the first token in the input
    end: int
    tokens: TokenSpans    # (any sequence of Token given is stored as TokenSpans)
    tags: list[str]
    entities: list[Entity]
    #: each token's probability, by the model, of the tag the model chose for it (raw,
    #: not calibrated; before ``min_score`` or patterns change a tag); None: not kept
    probs: Sequence[float] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if type(self.tokens) is not TokenSpans:
            self.tokens = TokenSpans.of(self.tokens)


@dataclass
class TaggedChunk:
    offset: int           # offset of the chunk's first character in the input
    text: str
    sentences: list[TaggedSentence]
