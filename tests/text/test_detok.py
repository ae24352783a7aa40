"""nertag.text.detok: where a writer puts spaces, and the words' offsets in the text."""

from __future__ import annotations

from nertag.text.detok import detokenize, join, spaces_before


def test_spaces_and_offsets():
    words = ["(", "Acme", ")", "said", '"', "no", '"', "."]
    assert spaces_before(words) == [False, False, False, True, True, False, False, False]
    text, offsets = join(words, spaces_before(words))
    assert text == '(Acme) said "no".' == detokenize(words)
    assert all(text[a:b] == w for w, (a, b) in zip(words, offsets))
    assert join(["a", "b"], [True, True]) == (" a b", [(1, 2), (3, 4)])
    assert join([], []) == ("", [])
