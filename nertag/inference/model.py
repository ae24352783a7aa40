"""A trained model as a whole: config, features, parameters and labels, and the way
from words to tags (scores, then a decoder from :mod:`nertag.inference.decode`).

Inference speed-ups, all exact (same tags; scores equal up to float rounding),
switched on by ``fast_inference`` (the tagging and benchmark paths do; training
never does, since its parameters change under it):

* each distinct word gets a type number and its feature ids once per process
  (:class:`~nertag.inference.word_types.WordCache`), not once per batch;
* sentences given as words are scored with a
  :class:`~nertag.inference.word_types.WordTypeScorer`: the first layer's contribution
  of each word type at each window position is computed the first time the type is
  seen, so a token costs n row lookups whatever the features (plus one for the
  name-list codes around it: :mod:`~nertag.inference.token_tables`), checked against
  the parameters before each use (:class:`~nertag.inference.snapshot.ParamSnapshot`);
  windows given as X (training's evaluation) go through the plain forward;
* constrained decoding runs Viterbi only on the sentences whose greedy path makes
  an invalid transition (a valid greedy path is the constrained optimum), and the
  scores are decoded transposed (:meth:`~nertag.inference.decode.Decoder.decode`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from nertag.config import Config
from nertag.inference.decode import Decoder
from nertag.inference.word_types import WordCache, WordTypeScorer
from nertag.nn import window
from nertag.nn.arch import Arch, CharArch
from nertag.nn.ragged import sentence_starts
from nertag.text import tags as tagmod
from nertag.text.doc_context import doc_of_tokens, document_codes, spans_to_types
from nertag.text.features import Featurizer


def model_arch(cfg: Config, featurizer: Featurizer, n_labels: int) -> Arch:
    """The :class:`~nertag.nn.arch.Arch` of a config with these features and labels."""
    fc, ch = cfg.features, featurizer.chars
    chars = None if ch is None else CharArch(len(ch.vocab), fc.char_dim, fc.char_filters,
                                             fc.char_width, ch.L, fc.char_activation)
    return Arch(featurizer.arch_features(), cfg.features.window, cfg.model.hidden, n_labels,
                cfg.model.activation, cfg.model.head, chars, featurizer.n_token_features)


def first_stage_codes(first: "NerModel", words: Sequence[str], lengths, docs,
                      types: Sequence[str], max_sentences: int = 0,
                      known: "Known | None" = None) -> np.ndarray:
    """Document-context codes (N, T) from ``first``'s tags on sentences given flat: for
    each token and each of ``types``, what ``first`` tagged the other occurrences of its
    word in its document (:func:`nertag.text.doc_context.document_codes`), documents cut
    into parts of at most ``max_sentences`` (``features.doc_max_sentences``); ``known``:
    what the second stage has already computed of these words, for ``first`` to reuse."""
    lengths = np.asarray(lengths, np.int64)
    if known is None:
        S = first.scores_flat(words, lengths)
    else:
        S = first.type_scores(words, known.types, lengths, gaz=known.gaz)
    ids = first.decode_ids(S, lengths)  # (only the paths: no confidences)
    lab = tagmod.label_codes(first.labels)
    begin, end, typ, _ = tagmod.entity_spans(ids, sentence_starts(lengths[lengths > 0]), lab)
    index = {t: i for i, t in enumerate(types)}  # first model's types -> these
    remap = np.array([index.get(t, -1) for t in lab.entity_types] + [-1], np.int64)
    token_type = spans_to_types(len(words), begin, end, remap[typ])
    return document_codes(words, token_type, doc_of_tokens(lengths, docs, max_sentences),
                          len(types), None if known is None else known.lower)


@dataclass
class Known:
    """What the second stage computed of a batch's N words that the first can reuse (it
    shares the second's word cache: :meth:`NerModel.shares_words`)."""

    types: np.ndarray          # (N,) the words' type numbers in the shared word cache
    gaz: np.ndarray | None     # (N, C) their name-list codes (None: the model has none)
    lower: np.ndarray          # (N,) a number per lower-case form (WordCache.lower_ids)


def _word_keys(cfg: Config) -> tuple:
    """The config values that decide a word's feature keys."""
    f = cfg.features
    return (f.lowercase, f.digits_to_zero, tuple(f.prefix_lengths), tuple(f.suffix_lengths))


@dataclass
class NerModel:
    cfg: Config
    featurizer: Featurizer
    arch: Arch
    params: dict[str, np.ndarray]
    labels: list[str]  # in the model's own scheme (cfg.model.tag_scheme)
    stage1: "NerModel | None" = None  # features.doc_context: the first model
    fast_inference: bool = False  # word types, per-type rows, cheap decoding (inference only)
    _words: WordCache | None = field(default=None, init=False, repr=False, compare=False)
    _decoder: Decoder | None = field(default=None, init=False, repr=False, compare=False)
    _types: WordTypeScorer | None = field(default=None, init=False, repr=False, compare=False)
    _shares: bool | None = field(default=None, init=False, repr=False, compare=False)
    #: a first stage's: its second stage's word cache, while that one :meth:`shares_words`
    _shared_words: WordCache | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def scheme(self) -> str:
        return self.cfg.model.tag_scheme

    def windows(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        if not self.fast_inference:
            return self.featurizer.featurize(sentences)
        lengths = np.fromiter((len(s) for s in sentences), np.int64, len(sentences))
        return self.windows_flat([w for s in sentences for w in s], lengths)

    def word_cache(self) -> WordCache:
        """The cache of word types (a first stage's may be its second stage's cache)."""
        if self._shared_words is not None:
            return self._shared_words
        if self._words is None or self._words.featurizer is not self.featurizer:
            self._words = WordCache(self.featurizer)
        return self._words

    def windows_flat(self, words: Sequence[str], lengths: np.ndarray, docs=None) -> np.ndarray:
        """Windows for sentences given as one flat word list and their lengths (``docs``:
        sentences per document, None: one document)."""
        feat = self.featurizer
        doc = self.doc_codes(words, lengths, docs)
        if self.fast_inference:  # word-type rows from the cache, token codes per token
            ids = feat.token_ids(self.word_cache().feature_ids(words),
                                 feat.token_codes(words, lengths, doc))
        else:
            ids = feat.feature_ids(words, lengths, doc)
        return feat.windows(ids, lengths)

    def doc_codes(self, words: Sequence[str], lengths, docs=None,
                  known: Known | None = None) -> np.ndarray | None:
        """With ``features.doc_context``: :func:`first_stage_codes` of the first model
        (``stage1``); ``docs`` (D,) the number of sentences of each document (None: all
        one document); ``known``: what this model computed of the words already.  None
        without."""
        dc = self.featurizer.doc_context
        if dc is None:
            return None
        self.stage1.fast_inference = self.fast_inference
        return first_stage_codes(self.stage1, words, lengths, docs, dc.types,
                                 self.cfg.features.doc_max_sentences, known)

    def shares_words(self) -> bool:
        """True if the first stage sees words as this model does (the same word features,
        vocabularies, characters and name lists: the first stage of a format-2 model
        directory): it then reuses this model's word types and name-list codes."""
        if self._shares is None:
            mine, first = self.featurizer, self.stage1.featurizer
            self._shares = (
                mine.word_columns == first.word_columns
                and [(f.name, f.vocab.items) for f in mine.features]
                == [(f.name, f.vocab.items) for f in first.features]
                and (mine.chars is None) == (first.chars is None)
                and (mine.chars is None or (mine.chars.vocab.items, mine.chars.max_len,
                                            mine.chars.pad) == (first.chars.vocab.items,
                                                                first.chars.max_len,
                                                                first.chars.pad))
                and (mine.gazetteer is None) == (first.gazetteer is None)
                and (mine.gazetteer is None or mine.gazetteer.lists is first.gazetteer.lists)
                and _word_keys(self.cfg) == _word_keys(self.stage1.cfg))
        return self._shares

    def type_scorer(self) -> WordTypeScorer:
        """The cached :class:`~nertag.inference.word_types.WordTypeScorer` for the current
        parameters."""
        cache = self.word_cache()
        ts = self._types
        if ts is None or not ts.valid_for(self.params, cache):
            ts = self._types = WordTypeScorer(self.params, self.arch, cache)
        return ts

    def scores_flat(self, words: Sequence[str], lengths, docs=None) -> np.ndarray:
        """Scores (N, K) of sentences given as one flat word list and their lengths
        (``docs``: sentences per document, for document context; None: one document)."""
        if self.fast_inference:
            return self.type_scores(words, self.word_cache().types(words), lengths, docs)
        return self.scores(self.windows_flat(words, lengths, docs))

    def type_scores(self, words: Sequence[str], types: np.ndarray, lengths, docs=None,
                    gaz: np.ndarray | None = None) -> np.ndarray:
        """:meth:`scores_flat` of words whose type numbers ``types`` (N,) the word cache
        has given (``gaz`` (N, C): their name-list codes, if already computed).  With
        document context the first stage reuses both if it :meth:`shares_words`."""
        feat, codes = self.featurizer, None
        if feat.n_token_features:
            cache = self.word_cache()  # (a --jobs worker's shared table: not reused)
            if gaz is None and feat.gazetteer is not None:
                lists = feat.gazetteer.lists
                keys = cache.gazetteer_keys(types, lists) if type(cache) is WordCache else None
                gaz = lists.codes(words, lengths, keys=keys)
            doc = None
            if feat.doc_context is not None:
                known = Known(types, gaz, cache.lower_ids(types)) \
                    if type(cache) is WordCache and self.shares_words() else None
                self.stage1._shared_words = cache if known is not None else None
                doc = self.doc_codes(words, lengths, docs, known)
            codes = feat.token_codes(words, lengths, doc, gaz=gaz)
        return self.type_scorer().scores(types, lengths, codes)

    # ------------------------------------------------------------------ scores
    def scores(self, X: np.ndarray) -> np.ndarray:
        """Scores (N, K) of windows X: (N, n, F + ...), the plain forward."""
        return window.scores(self.params, X, self.arch)

    # ------------------------------------------------------------------ decoding
    def decoder(self) -> Decoder:
        """The cached :class:`~nertag.inference.decode.Decoder` of these labels and head."""
        key = (tuple(self.labels), self.scheme, self.arch.head, self.params["W"].dtype)
        if self._decoder is None or self._decoder.key != key:
            self._decoder = Decoder(*key)
        return self._decoder

    def decode(self, S: np.ndarray, lengths: np.ndarray, decoder: str | None = None):
        """Tag ids (B,) and each chosen tag's probability (B,) from scores S: (B, K)."""
        return self.decoder().decode(S, lengths, decoder or self.cfg.model.decoder, self.params,
                                     fast=self.fast_inference)

    def decode_ids(self, S: np.ndarray, lengths: np.ndarray, decoder: str | None = None):
        """The tag ids (B,) of :meth:`decode`, without the confidences."""
        return self.decoder().best_paths(S, lengths, decoder or self.cfg.model.decoder,
                                         self.params, fast=self.fast_inference)

    # ------------------------------------------------------------------ predict
    def predict_ids(self, words: Sequence[str], lengths, decoder: str | None = None,
                    X: np.ndarray | None = None, docs=None):
        """Flat tag ids (model scheme) and confidences for sentences given flat (``docs``:
        sentences per document; None: one document)."""
        lengths = np.asarray(lengths, dtype=np.int64)
        S = self.scores_flat(words, lengths, docs) if X is None else self.scores(X)
        return self.decode(S, lengths, decoder)

    def predict(self, sentences: Sequence[Sequence[str]], decoder: str | None = None,
                X: np.ndarray | None = None, docs=None):
        """BIO tags and per-token confidences for a list of sentences (lists of words;
        ``docs``: sentences per document, None: one document)."""
        lengths = np.fromiter((len(s) for s in sentences), np.int64, len(sentences))
        if X is None:
            S = self.scores_flat([w for s in sentences for w in s], lengths, docs)
        else:
            S = self.scores(X)
        ids, conf = self.decode(S, lengths, decoder)
        lab = tagmod.label_codes(self.labels)
        if self.scheme == "bioes" and lab.ok:  # tags.convert for all sentences at once
            bio = tagmod.entity_spans(ids, sentence_starts(lengths[lengths > 0]), lab)[3]
            labels, convert = lab.bio_tags[bio].tolist(), False
        else:
            labels = lab.as_array[ids].tolist()
            convert = self.scheme != "bio"
        out_tags, out_conf, o = [], [], 0
        for n in lengths.tolist():
            seq = labels[o:o + n]
            if convert:
                seq = tagmod.convert(seq, self.scheme, "bio")
            out_tags.append(seq)
            out_conf.append(conf[o:o + n])
            o += n
        return out_tags, out_conf

