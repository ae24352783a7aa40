"""What tagging returns: entities with character offsets, in sentences, in chunks of the
input (the output formats in :mod:`nertag.render.formats` draw these)."""

from __future__ import annotations

from dataclasses import dataclass

from nertag.text.tokens import TokenSpans


@dataclass
class Entity:
    start: int
    end: int
    label: str
    text: str
    score: float

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label, "text": self.text,
                "score": round(self.score, 4)}


@dataclass
class TaggedSentence:
    start: int            # offset of the first token in the input
    end: int
    tokens: TokenSpans    # (any sequence of Token given is stored as TokenSpans)
    tags: list[str]
    entities: list[Entity]

    def __post_init__(self):
        if type(self.tokens) is not TokenSpans:
            self.tokens = TokenSpans.of(self.tokens)


@dataclass
class TaggedChunk:
    offset: int           # offset of the chunk's first character in the input
    text: str
    sentences: list[TaggedSentence]
