"""Tests for nertag.text.tokens: TokenSpans, the array-backed list of Tokens."""

from __future__ import annotations

import pickle

from nertag.text.tokenize import tokenize
from nertag.text.tokens import Token, TokenSpans


def test_token_spans_behave_like_a_list_of_tokens():
    toks = tokenize("Peter visited Zürich’s café.")
    spans = TokenSpans.of(toks)
    assert len(spans) == len(toks) and list(spans) == toks and spans == toks
    assert spans[1] == toks[1] and spans[-1] == toks[-1] and spans[1:3] == toks[1:3]
    assert isinstance(spans[0], Token) and TokenSpans.of(spans) is spans
    assert spans != toks[:-1] and spans != "text"
    assert pickle.loads(pickle.dumps(spans)) == spans          # (sent back by workers)
    assert TokenSpans.of([]) == [] and not TokenSpans([], [], [])
