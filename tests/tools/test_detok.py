"""Tests for tools.detok: detokenize, and the tokenizer's agreement with CoNLL-2003's tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.detok import detokenize, tokenizer_agreement

CONLL_VALID = Path(__file__).resolve().parents[2].parent / "shared/data/conll2003/valid.txt"


def test_detokenize():
    assert detokenize(["He", "said", '"', "I", "'m", "fine", ",", '"', "did", "n't", "he", "?"]) \
        == 'He said "I\'m fine," didn\'t he?'
    assert detokenize(["(", "U.S.", ")", "$", "5", "and", "C$", "3", "50", "%"]) == "(U.S.) $5 and C$3 50%"
    assert detokenize(["the", "players", "'", "union"]) == "the players' union"
    assert detokenize(["meals", "/", "feeds"]) == "meals/feeds"
    assert detokenize([]) == ""


def test_conll_agreement():
    if not CONLL_VALID.exists():
        pytest.skip(f"{CONLL_VALID} not available")
    agree, total = tokenizer_agreement(CONLL_VALID)
    assert total > 3000
    assert agree / total >= 0.97
