"""Document context: what a first model predicted for a word's other occurrences.

A window sees five words; a document sees them all.  In a sports table ``LEICESTERSHIRE``
is hard, but the same word is ``Leicestershire`` in a sentence of the article, where a
first model tags it ORG.  Following Ratinov & Roth (2009, "two-stage prediction
aggregation"), a second model gets, for every token t and every entity type T, a
summary of the first model's tags on the *other* occurrences of t's word in the same
document, compared case-insensitively:

    m  = number of other occurrences of lower(word_t) in the document
    c_T = how many of them the first model put inside an entity of type T

    code_T = 0 (``none``)  if m = 0 or c_T = 0
             3 (``all``)   if c_T = m
             2 (``half``)  if 2·c_T ≥ m
             1 (``some``)  otherwise

The codes are token features (one category ``doc_<T>`` per type, like a name-list
category: :class:`nertag.text.features.DocContextFeature`).  In training they must come
from *jackknifed* first-stage predictions (each training document tagged by a model
that did not see it: :mod:`nertag.training.two_stage`), never from the gold tags,
or the second model would learn to trust them more than they deserve.

**What a document is.**  In a CoNLL file, the sentences from one ``-DOCSTART-`` line to
the next (a file without one is one document); in a JSONL corpus, each record; in raw
text, each input (a file, standard input, a ``Tagger`` call, a ``nertag serve``
request).  Everything here is per document: the codes of a token never depend on
another document.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nertag.nn.ragged import token_rows

#: The code values, in order (code = index).
LEVELS = ("none", "some", "half", "all")


def category_names(types: Sequence[str]) -> list[str]:
    """The token-feature names of a model's entity types: ``doc_<TYPE>``."""
    return [f"doc_{t}" for t in types]


def document_codes(words: Sequence[str], types: np.ndarray, doc_of: np.ndarray,
                   n_types: int, word_id: np.ndarray | None = None) -> np.ndarray:
    """Codes (N, T) int8 of tokens laid end to end (see the module's docstring).

    words: (N) the tokens; types: (N,) int, the first model's entity type of each token
    (0..T-1, or -1 outside entities); doc_of: (N,) int, each token's document number;
    word_id: (N,) int ≥ 0, equal for two tokens exactly when their words are equal in
    lower case (None: numbered here from ``words``; the tagging path has them from its
    word types, :meth:`~nertag.inference.word_types.WordCache.lower_ids`).
    Vectorised: one ``np.unique`` numbers the (document, lower-case word) groups, and
    ``bincount`` counts each group's tokens and its tokens per type.
    """
    N = len(words)
    out = np.zeros((N, n_types), np.int8)
    if N == 0 or n_types == 0:
        return out
    if word_id is None:
        lower = np.array([w.lower() for w in words], dtype=object)
        _, word_id = np.unique(lower, return_inverse=True)
    word_id = np.asarray(word_id, np.int64)
    pair = np.asarray(doc_of, np.int64) * (int(word_id.max()) + 1) + word_id.reshape(-1)
    _, group = np.unique(pair, return_inverse=True)
    group = group.reshape(-1)
    G = int(group.max()) + 1
    others = np.bincount(group, minlength=G)[group] - 1                        # m: (N,)
    types = np.asarray(types, np.int64)
    tagged = types >= 0
    per_type = np.bincount(group[tagged] * n_types + types[tagged],
                           minlength=G * n_types).reshape(G, n_types)           # (G, T)
    c = per_type[group]                                                        # (N, T)
    c[np.flatnonzero(tagged), types[tagged]] -= 1                              # not itself
    m = others[:, None]
    out[(c > 0)] = 1
    out[(c > 0) & (2 * c >= m)] = 2
    out[(c > 0) & (c == m)] = 3
    return out


def spans_to_types(n_tokens: int, begin: np.ndarray, end: np.ndarray, typ: np.ndarray
                   ) -> np.ndarray:
    """Per-token entity type (N,) int64 from entity spans ``begin:end`` of type ``typ``
    (as :func:`nertag.text.tags.entity_spans` gives them); -1 outside entities."""
    out = np.full(n_tokens, -1, np.int64)
    lengths = np.asarray(end) - np.asarray(begin)
    out[token_rows(np.asarray(begin), lengths)] = np.repeat(np.asarray(typ, np.int64), lengths)
    return out


def document_parts(doc_sizes, max_sentences: int) -> np.ndarray:
    """The documents (D,) of so many sentences each, a longer one cut into near-equal
    consecutive parts of at most ``max_sentences`` (0: no cap): (P,) sentences per part.

    A document of n sentences becomes ⌈n/m⌉ parts, the first n mod ⌈n/m⌉ of them one
    sentence longer (130 with m = 50: 44, 43, 43).  Why: the codes of a word depend on
    how many other occurrences its document holds, so the second model learns how far to
    trust them from documents of one size.  A corpus without ``-DOCSTART-`` lines is one
    document of thousands of sentences; trained on that, and tested on news articles
    of 15, the second model fell below the first (CoNLL-2003 dev 88.84 against 89.74).
    """
    sizes = np.asarray(doc_sizes, np.int64)
    if max_sentences <= 0 or not len(sizes) or sizes.max() <= max_sentences:
        return sizes
    n_parts = -(-sizes // max_sentences)                    # ⌈n/m⌉ per document
    doc = np.repeat(np.arange(len(sizes)), n_parts)         # each part's document
    rank = np.arange(len(doc)) - np.repeat(np.cumsum(n_parts) - n_parts, n_parts)
    return sizes[doc] // n_parts[doc] + (rank < sizes[doc] % n_parts[doc])


def doc_of_tokens(lengths: np.ndarray, doc_sizes: np.ndarray | None,
                  max_sentences: int = 0) -> np.ndarray:
    """Each token's document number from sentence lengths (S,) and the number of
    sentences in each document (D,) (None: all one document), documents longer than
    ``max_sentences`` cut into parts (:func:`document_parts`)."""
    lengths = np.asarray(lengths, np.int64)
    doc_sizes = document_parts([len(lengths)] if doc_sizes is None else doc_sizes,
                               max_sentences)
    if doc_sizes.sum() != len(lengths):
        raise ValueError(f"documents hold {int(doc_sizes.sum())} sentences, not {len(lengths)}")
    sent_doc = np.repeat(np.arange(len(doc_sizes)), doc_sizes)
    return np.repeat(sent_doc, lengths)
