"""Which entities a tagger got wrong, and how: each sentence's gold and predicted
entities (read from the tags with conlleval's rules, as the scorer reads them) are
paired, and every entity that is not exactly right is one error of one kind.

The pairing, sentence by sentence:

1. a predicted entity with the same type, start and end as a gold entity is
   **correct** (what the F1 counts);
2. the remaining gold and predicted entities that share at least one token are
   paired one to one, the pairs sharing the most tokens first (ties: the same type
   first, then the earlier gold entity, then the earlier prediction). A pair is
   **wrong type** if both have the same start and end, **wrong boundary** if they
   have the same type, and **wrong type and boundary** if they differ in both (a
   predicted entity overlapping a gold one of another type with other boundaries);
3. a gold entity left unpaired is **missed**, a predicted entity left unpaired
   **spurious** (so a prediction that spans two gold entities pairs with the one it
   shares more tokens with; the other is missed).

So every gold entity is counted once (correct, in a pair, or missed) and so is every
predicted one (correct, in a pair, or spurious).  The confusion counts a pair of
gold type G and predicted type P (correct ones included) in cell ``(G, P)``, a missed
entity in ``(G, None)`` and a spurious one in ``(None, P)``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from nertag.errors import NertagError
from nertag.text.tags import get_entities

Entity = tuple[str, int, int]  # (type, start token, end token exclusive)

CORRECT, MISSED, SPURIOUS = "correct", "missed", "spurious"
WRONG_TYPE, WRONG_BOUNDARY, WRONG_BOTH = "wrong type", "wrong boundary", "wrong type and boundary"
#: The kinds of error, in the order reports list them.
KINDS = (MISSED, SPURIOUS, WRONG_TYPE, WRONG_BOUNDARY, WRONG_BOTH)


@dataclass(frozen=True)
class Match:
    """One gold entity, one predicted entity, or a pair of them, and its kind."""

    kind: str
    gold: Entity | None
    pred: Entity | None
    sentence: int = 0  # index of the sentence in the corpus

    @property
    def start(self) -> int:
        return min(e[1] for e in (self.gold, self.pred) if e is not None)

    @property
    def end(self) -> int:
        return max(e[2] for e in (self.gold, self.pred) if e is not None)


@dataclass
class ErrorAnalysis:
    """Every error (in corpus order), the confusion counts and the number correct."""

    errors: list[Match] = field(default_factory=list)
    confusion: Counter = field(default_factory=Counter)  # (gold type | None, pred type | None)
    correct: int = 0

    def counts(self) -> dict[str, int]:
        """Errors per kind, every kind listed."""
        c = Counter(m.kind for m in self.errors)
        return {k: c[k] for k in KINDS}

    def types(self) -> list[str]:
        """Entity types seen in gold or predictions, sorted."""
        return sorted({t for pair in self.confusion for t in pair if t is not None})

    def as_dict(self) -> dict:
        """JSON-ready: the counts, the confusion as ``{gold: {pred: n}}`` with "none" for
        no entity, and each error with token offsets."""
        def ent(e):
            return None if e is None else {"type": e[0], "start": e[1], "end": e[2]}

        confusion: dict[str, dict[str, int]] = {}
        for (g, p), n in sorted(self.confusion.items(), key=lambda kv: (
                kv[0][0] is None, kv[0][0] or "", kv[0][1] is None, kv[0][1] or "")):
            confusion.setdefault(g or "none", {})[p or "none"] = n
        return {"correct": self.correct, "counts": self.counts(), "confusion": confusion,
                "errors": [{"kind": m.kind, "sentence": m.sentence, "gold": ent(m.gold),
                            "pred": ent(m.pred)} for m in self.errors]}


def classify(gold: Sequence[Entity], pred: Sequence[Entity]) -> list[Match]:
    """The matches of one sentence's entities (see the module doc), correct ones
    included, ordered by position."""
    exact = set(gold) & set(pred)
    out = [Match(CORRECT, e, e) for e in exact]
    g_left = [e for e in gold if e not in exact]
    p_left = [e for e in pred if e not in exact]
    candidates = []
    for gi, g in enumerate(g_left):
        for pi, p in enumerate(p_left):
            shared = min(g[2], p[2]) - max(g[1], p[1])
            if shared > 0:
                candidates.append((-shared, g[0] != p[0], g[1], p[1], gi, pi))
    g_used, p_used = set(), set()
    for *_, gi, pi in sorted(candidates):
        if gi in g_used or pi in p_used:
            continue
        g_used.add(gi)
        p_used.add(pi)
        g, p = g_left[gi], p_left[pi]
        same_span = g[1:] == p[1:]
        kind = WRONG_TYPE if same_span else WRONG_BOUNDARY if g[0] == p[0] else WRONG_BOTH
        out.append(Match(kind, g, p))
    out += [Match(MISSED, g, None) for gi, g in enumerate(g_left) if gi not in g_used]
    out += [Match(SPURIOUS, None, p) for pi, p in enumerate(p_left) if pi not in p_used]
    return sorted(out, key=lambda m: (m.start, m.end, KINDS.index(m.kind) if m.kind in KINDS
                                      else -1))


def analyse(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> ErrorAnalysis:
    """Classify every entity of gold and predicted tag sequences (BIO or BIOES)."""
    if len(gold) != len(pred):
        raise NertagError(f"cannot compare: {len(gold)} gold sentences but {len(pred)} "
                          f"predicted sentences")
    result = ErrorAnalysis()
    for k, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise NertagError(f"cannot compare: sentence index {k} has {len(g)} gold tags but "
                              f"{len(p)} predicted tags")
        for m in classify(get_entities(g), get_entities(p)):
            result.confusion[(m.gold and m.gold[0], m.pred and m.pred[0])] += 1
            if m.kind == CORRECT:
                result.correct += 1
            else:
                result.errors.append(Match(m.kind, m.gold, m.pred, k))
    return result


def error_lines(analysis: ErrorAnalysis, sentence_lines: Sequence[int], *,
                per_token: bool) -> dict[Match, int]:
    """The line each error is cited at: the line of its entity's first token (the earlier
    of the gold and the predicted one's), from ``sentence_lines`` (each sentence's first
    line); ``per_token``: one token a line (CoNLL columns), else a sentence's tokens
    share its line (a JSONL record)."""
    return {m: sentence_lines[m.sentence] + (m.start if per_token else 0)
            for m in analysis.errors}
