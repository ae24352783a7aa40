"""Token features: features of a token that are not a function of its word alone.

A token's row of ids is ``[F word ids | C token ids | L character ids]``
(:class:`nertag.text.features.Featurizer`).  The C token columns are, in order:

- the name-list categories (``features.gazetteer``, :class:`GazetteerFeature`): whether
  ``York`` is inside a ``LOC-city`` match depends on the words around it;
- the document-context categories (``features.doc_context``, :class:`DocContextFeature`):
  what a first model predicted for the word's other occurrences in its document
  (:mod:`nertag.text.doc_context`).

Every token column holds ``len(SPECIALS) + code`` with a code 0-4 (vocabulary
:data:`GAZ_VOCAB`, 8 ids; the padding around a sentence gets ``<s>`` / ``</s>``), so the
network embeds them all alike (``E_gaz_<category>``, ``E_doc_<TYPE>``) and the tagging
path sums their share of the first layer the same way
(:mod:`nertag.inference.token_tables`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nertag.text.doc_context import category_names
from nertag.text.gazetteer import CODES, Gazetteer

SPECIALS = ["<s>", "</s>", "<unk>"]  # <s>, </s> pad sentences; <unk>: unknown
#: The vocabulary of each token category: id = len(SPECIALS) + code (a BIOES code for a
#: name-list category, a level of :data:`nertag.text.doc_context.LEVELS` for a document one).
GAZ_VOCAB = SPECIALS + list(CODES)


def code_ids(codes: np.ndarray) -> np.ndarray:
    """Feature ids of codes (N, C): ``len(SPECIALS) + code`` as int32."""
    return codes.astype(np.int32) + len(SPECIALS)


@dataclass
class GazetteerFeature:
    """Name-list matches as C token features, one per category (``features.gazetteer``).

    Column c of a token holds ``len(SPECIALS) + code`` with code its O/B/I/E/S code in
    category c (:meth:`nertag.text.gazetteer.Gazetteer.codes`; vocabulary
    :data:`GAZ_VOCAB`, 8 ids); the padding around a sentence gets ``<s>`` / ``</s>``
    like every column.  The embedding of category c is ``E_gaz_<category>`` (V = 8, d =
    ``dim``).  These ids depend on the neighbouring words (a match spans several), so
    they are computed per sentence, never per word type.
    """

    lists: Gazetteer
    dim: int

    @property
    def categories(self) -> list[str]:
        return list(self.lists.categories)

    @property
    def names(self) -> list[str]:
        """The features' names: ``gaz_<category>`` (parameters ``E_gaz_<category>``)."""
        return [f"gaz_{c}" for c in self.lists.categories]

    def codes(self, words: Sequence[str], lengths=None) -> np.ndarray:
        """Raw BIOES codes of a flat list of sentences' words: (N, C) int8."""
        return self.lists.codes(words, lengths)

    ids = staticmethod(code_ids)


@dataclass
class DocContextFeature:
    """The first model's tags on a word's other occurrences in its document, as T token
    features, one per entity type (``features.doc_context``; codes:
    :func:`nertag.text.doc_context.document_codes`).  They need a first model, so the
    featurizer never computes them: the caller passes them in (training:
    :mod:`nertag.training.two_stage`; tagging: :class:`nertag.inference.model.NerModel`).
    """

    types: list[str]
    dim: int

    @property
    def names(self) -> list[str]:
        """``doc_<TYPE>`` (parameters ``E_doc_<TYPE>``)."""
        return category_names(self.types)
