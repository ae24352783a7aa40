"""What training reads and builds before its first step: the inputs (checked all at
once, before anything is written), the corpora, a freshly initialised model and its
training windows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from nertag.config import Config, gazetteer_path
from nertag.errors import NertagError
from nertag.inference.model import NerModel, model_arch
from nertag.nn import window
from nertag.nn.ragged import sentence_starts, token_rows
from nertag.resources import sample_dev, sample_train
from nertag.text import tags as tagmod
from nertag.text.conll import Corpus, open_checked
from nertag.text.datasets import read_corpus
from nertag.text.error_analysis import analyse
from nertag.text.features import Featurizer
from nertag.text.gazetteer import Gazetteer, drop_matches
from nertag.text.scoring import evaluate
from nertag.text.vectors import load_vectors

Emit = Callable[[str, dict], None]


@dataclass
class TrainData:
    X: np.ndarray        # (N, n, F) windows
    y: np.ndarray        # (N,) gold label ids in the model's scheme
    lengths: np.ndarray  # (S,) sentence lengths
    corpus: Corpus
    codes: np.ndarray | None = None  # (N, C) token codes (name lists as matched, before
    #                                   dropout; then document context)


def resolve_data(cfg: Config, train_path=None, dev_path=None) -> tuple[str, str | None]:
    """Command-line paths win over the config; no training file means the sample corpus."""
    train = train_path or cfg.data.train
    dev = dev_path or cfg.data.dev
    if train is None:
        train = str(sample_train())
        dev = dev or str(sample_dev())
    return str(train), (str(dev) if dev else None)


def with_data(cfg: Config, train_path=None, dev_path=None) -> Config:
    """A copy of ``cfg`` whose ``data.train`` and ``data.dev`` are the files the run reads
    (:func:`resolve_data`); ``cfg`` itself is left as it is."""
    train, dev = resolve_data(cfg, train_path, dev_path)
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, train=train, dev=dev))


def check_inputs(cfg: Config) -> None:
    """Every file the run will read exists and opens (``data.train``, ``data.dev``,
    ``embeddings.path``, ``features.gazetteer``): a bad one is an error now, before
    anything is written or minutes are spent."""
    for path, what in ((cfg.data.train, "data file"), (cfg.data.dev, "data file"),
                       (cfg.embeddings.path, "embeddings file (embeddings.path)"),
                       (cfg.train.rehearse, "rehearsal file (train.rehearse)")):
        if path:
            open_checked(path, what).close()
    gazetteer_path(cfg)


def read_corpora(cfg: Config, emit: Emit) -> tuple[Corpus, Corpus | None]:
    """The training and dev corpora of ``cfg.data`` (dev: None without a dev file); what
    the readers noted, and a training file without entities, are ``warn`` events."""
    data = cfg.data
    train_c = read_corpus(data.train, data.format, data.encoding, data.tag_scheme,
                          cfg.labels.map)
    if not train_c.sentences:
        raise NertagError(f"{data.train}: no sentences found; expected CoNLL columns 'word ... "
                          f"tag' or JSON lines with text and entities")
    if not train_c.entity_types():
        emit("warn", {"message": f"{data.train}: the training file has no entities; "
                                 f"the model will only ever predict O"})
    dev_c = read_corpus(data.dev, data.format, data.encoding, data.tag_scheme,
                        cfg.labels.map) if data.dev else None
    for note in train_c.notes + (dev_c.notes if dev_c else []):
        emit("warn", {"message": note})
    return train_c, dev_c


def prepare(model: NerModel, corpus: Corpus, doc_codes: np.ndarray | None = None) -> TrainData:
    """Windows, gold label ids (in the model's scheme) and sentence lengths of a corpus
    (``doc_codes`` (N, T): its document-context codes, with ``features.doc_context``)."""
    index = {t: i for i, t in enumerate(model.labels)}
    y = []
    for s in corpus.sentences:
        seq = s.tags if model.scheme == "bio" else tagmod.convert(s.tags, "bio", model.scheme)
        y.extend(index.get(t, 0) for t in seq)
    lengths = np.array([len(s.words) for s in corpus.sentences], dtype=np.int64)
    feat = model.featurizer
    flat = [w for s in corpus.sentences for w in s.words]
    codes = feat.token_codes(flat, lengths, doc_codes) if feat.n_token_features else None
    X = feat.windows(feat.feature_ids(flat, lengths) if codes is None else
                     feat.token_ids(feat.word_ids(flat), codes), lengths)
    return TrainData(X, np.array(y, dtype=np.int64), lengths, corpus, codes)


def drop_gazetteer_matches(model: NerModel, data: TrainData, p: float, seed: int,
                           epoch: int) -> None:
    """Match dropout for an epoch: hide each whole name-list match of the training data
    with probability p (:func:`nertag.text.gazetteer.drop_matches`), drawn again every
    epoch from a generator of its own seeded with (seed, epoch, 1) — the same run gives
    the same draws, a resumed one too, and the other random draws are unchanged."""
    n_lists = model.featurizer.n_gazetteer  # (the name-list columns come first)
    if data.codes is None or p <= 0 or not n_lists:
        return
    rng = np.random.default_rng([seed, epoch, 1])
    model.featurizer.put_codes(data.X, drop_matches(data.codes[:, :n_lists], p, rng),
                               data.lengths)


def build_model(cfg: Config, corpus: Corpus) -> NerModel:
    """Vocabularies, labels and freshly initialised parameters (with pretrained vectors)."""
    lists_path = gazetteer_path(cfg)  # (a missing file is an error before the slow reads)
    vectors = None
    if cfg.embeddings.path:
        vectors = load_vectors(cfg.embeddings.path, max_words=cfg.embeddings.max_words)
    words = [s.words for s in corpus.sentences]
    lists = Gazetteer.load(lists_path) if lists_path is not None else None
    feat = Featurizer.build(cfg.features, words, extra_words=vectors.words if vectors else (),
                            gazetteer=lists, doc_types=corpus.entity_types())
    labels = tagmod.labels_for(corpus.entity_types(), cfg.model.tag_scheme)
    arch = model_arch(cfg, feat, len(labels))
    dtype = np.dtype(cfg.train.dtype)
    params = window.init_params(arch, np.random.default_rng(cfg.train.seed), dtype,
                                cfg.model.init_scale)
    if vectors is not None:
        vectors.copy_into(params["E_word"], feat.features[0].vocab, cfg.embeddings.scale)
    return NerModel(cfg, feat, arch, params, labels)


def evaluate_model(model: NerModel, data: TrainData, confusion: dict | None = None,
                   params: dict | None = None):
    """The scores on ``data`` of the model, or of the model with ``params`` (e.g. the
    running average) instead of its own; with a dict for ``confusion``, also its gold ×
    predicted type counts (``ErrorAnalysis.as_dict()["confusion"]``) put into it."""
    if params is not None:
        model = dataclasses.replace(model, params=params)
    pred, _ = model.predict([s.words for s in data.corpus.sentences], X=data.X)
    gold = [s.tags for s in data.corpus.sentences]
    if confusion is not None:
        confusion.update(analyse(gold, pred).as_dict()["confusion"])
    return evaluate(gold, pred)


def batches(data: TrainData, head: str, batch_size: int, rng: np.random.Generator):
    """Minibatch index arrays: shuffled tokens, or shuffled whole sentences for the CRF."""
    if head != "crf":
        order = rng.permutation(len(data.y))
        return [(order[i:i + batch_size], None) for i in range(0, len(order), batch_size)]
    offsets = sentence_starts(data.lengths)
    order = rng.permutation(len(data.lengths))
    out = []
    for i in range(0, len(order), batch_size):
        sents = order[i:i + batch_size]
        lens = data.lengths[sents]
        idx = token_rows(offsets[sents], lens)
        out.append((idx, lens))
    return out


def n_batches(data: TrainData, head: str, batch_size: int) -> int:
    """Minibatches an epoch (of sentences for the CRF head, else of tokens)."""
    return -(-(len(data.lengths) if head == "crf" else len(data.y)) // batch_size)
