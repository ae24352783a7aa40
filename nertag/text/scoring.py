"""Entity-level evaluation with the conlleval (CoNLL-2000/2003) conventions.

Chunks are read with conlleval's ``startOfChunk``/``endOfChunk`` rules as
extended for S-/E- tags by seqeval's default (non-strict) mode, so ill-formed
sequences are scored the way everybody else scores them: ``O I-X`` starts an
entity, ``I-X I-Y`` ends one entity and starts another, ``B-X E-X E-X`` is two
entities, and so on.  A predicted chunk is correct only if its type, start and
end all equal a gold chunk's.  Scores are fractions in [0, 1]; a precision,
recall or F1 whose denominator is zero is 0, as in conlleval.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from nertag.errors import NertagError
from nertag.text.tags import get_entities

def _prf(correct: int, predicted: int, gold: int) -> tuple[float, float, float]:
    """conlleval's precision, recall and F1 (as fractions, 0 on 0/0)."""
    p = correct / predicted if predicted > 0 else 0.0
    r = correct / gold if gold > 0 else 0.0
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return p, r, f


@dataclass
class TypeScore:
    """Scores for one entity type."""

    precision: float
    recall: float
    f1: float
    support: int  # gold chunks of this type
    predicted: int  # predicted chunks of this type
    correct: int  # predicted chunks that exactly match a gold chunk


@dataclass
class Evaluation:
    """Overall (micro-averaged) and per-type scores plus token accuracy."""

    precision: float
    recall: float
    f1: float
    per_type: dict[str, TypeScore] = field(default_factory=dict)
    token_accuracy: float = 0.0
    n_tokens: int = 0
    n_sentences: int = 0
    n_gold: int = 0
    n_predicted: int = 0
    n_correct: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (scores as fractions, per_type sorted)."""
        return asdict(self)


def evaluate(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> Evaluation:
    """Score predicted tag sequences against gold ones, sentence by sentence.

    Raises :class:`NertagError` if the numbers of sentences differ or a
    sentence has a different number of gold and predicted tags.
    """
    if len(gold) != len(pred):
        raise NertagError(
            f"cannot score: {len(gold)} gold sentences but {len(pred)} predicted sentences"
        )
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    n_ok: Counter[str] = Counter()
    n_tokens = n_same = 0
    for index, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise NertagError(
                f"cannot score: sentence index {index} (number {index + 1}) has "
                f"{len(g)} gold tags but {len(p)} predicted tags"
            )
        n_tokens += len(g)
        n_same += sum(1 for a, b in zip(g, p) if a == b)
        gold_chunks = get_entities(g)
        pred_chunks = get_entities(p)
        n_gold.update(c[0] for c in gold_chunks)
        n_pred.update(c[0] for c in pred_chunks)
        if gold_chunks and pred_chunks:
            n_ok.update(c[0] for c in set(gold_chunks).intersection(pred_chunks))

    per_type: dict[str, TypeScore] = {}
    for type_ in sorted(set(n_gold) | set(n_pred)):
        prf = _prf(n_ok[type_], n_pred[type_], n_gold[type_])
        per_type[type_] = TypeScore(*prf, n_gold[type_], n_pred[type_], n_ok[type_])
    total_ok, total_pred, total_gold = (
        sum(n_ok.values()), sum(n_pred.values()), sum(n_gold.values()))
    return Evaluation(
        *_prf(total_ok, total_pred, total_gold),
        per_type=per_type,
        token_accuracy=n_same / n_tokens if n_tokens else 0.0,
        n_tokens=n_tokens,
        n_sentences=len(gold),
        n_gold=total_gold,
        n_predicted=total_pred,
        n_correct=total_ok,
    )
