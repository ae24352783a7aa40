"""Continuing a trained model on new data: ``nertag train --from MODEL`` (``train.base``).

The run's config is the base model's (:func:`adapt_config`): its features, architecture
and word vectors, with the user's data files and training keys; a key that would change
the features or the architecture (:data:`FIXED`) is refused.  The model that training
starts from (:func:`extend`) is the base's, grown for the new data:

* words of the training data the base does not know get rows of ``E_word`` appended:
  their pretrained vectors where ``embeddings.path`` has them (only those words are read),
  else uniform ±``model.init_scale`` as training initialises them (seeded by
  ``train.seed``); the other vocabularies (affixes, shapes, characters, name lists) stay
  the base's, and a new affix or character is an unknown;
* entity types the base does not predict get their labels appended after the base's
  (B-/I-/E-/S- in the model's scheme): rows of ``U`` and ``c`` that start at 0, and with
  the CRF head rows and columns of ``A``, ``start`` and ``end`` that start at 0; with
  document context each new type also gets a document-context feature (``E_doc_<TYPE>``)
  whose columns of ``W`` start at 0.  Every parameter of the base keeps its values, so
  before its first update the grown model scores the old labels exactly as the base did.

A two-stage base is continued stage by stage (:mod:`nertag.training.two_stage`): its
first stage grown the same way and trained, jackknifed, on the user's data, then the
second.  What keeps the old types from being forgotten: :mod:`nertag.training.rehearsal`.
"""

from __future__ import annotations

import dataclasses
import gzip
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nertag.config import Config, LabelsConfig
from nertag.errors import NertagError
from nertag.inference.model import NerModel, model_arch
from nertag.modelio import load_model, model_path
from nertag.nn import window
from nertag.text import tags as tagmod
from nertag.text.conll import Corpus
from nertag.text.datasets import map_types
from nertag.text.features import Feature, Featurizer, Vocab, normalize
from nertag.text.lines import iter_lines
from nertag.text.token_features import DocContextFeature
from nertag.training.data import Emit, read_corpora
from nertag.training.rehearsal import Rehearsal, draw, pseudo_rehearse, read_rehearsal

#: The keys a continued model cannot change (None: the whole section): they decide its
#: features and the shapes of its parameters.
FIXED: dict[str, tuple[str, ...] | None] = {
    "features": None, "embeddings": ("max_words", "scale", "freeze"),
    "model": ("hidden", "activation", "head", "tag_scheme"),
    "train": ("doc_first_hidden", "dtype")}
#: Epochs of a continued run whose config or overrides do not set train.epochs.
ADAPT_EPOCHS = 5


def fixed_keys(cfg: Config) -> dict[str, object]:
    """The values of :data:`FIXED` in ``cfg``, by dotted key, in config order."""
    out = {}
    for sec, keys in FIXED.items():
        values = dataclasses.asdict(getattr(cfg, sec))
        out.update({f"{sec}.{k}": v for k, v in values.items() if keys is None or k in keys})
    return out


def check_fixed(cfg: Config, base_cfg: Config, base: str | Path, src: str) -> None:
    """An error naming the first key of :data:`FIXED` whose value in ``cfg`` (from
    ``src``: a config file or the overrides) differs from the base model's."""
    mine, theirs = fixed_keys(cfg), fixed_keys(base_cfg)
    for key, value in mine.items():
        if value != theirs[key]:
            raise NertagError(f"{src}: '{key}' is {value!r} but {theirs[key]!r} in the base "
                              f"model {base}; continuing a model keeps its features and "
                              f"architecture (only data, train, save, labels and "
                              f"model.decoder/dropout keys may change); train from scratch "
                              f"to change it", exit_code=2,
                              inputs=("overrides",) if src == "override" else ("config",))


#: The last base loaded, by (its path, its manifest's mtime and size): a run reads it for
#: its config, the checks and the training, and it takes seconds to load.
_LAST_BASE: dict[tuple, NerModel] = {}


def load_base(path: str | Path) -> NerModel:
    """The base model of ``train.base`` (``default``: the shipped model), read-only; its
    errors name the path and ``train.base``."""
    d = model_path(path)
    try:
        stat = (d / "manifest.json").stat()
        key = (str(d.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key is not None and key in _LAST_BASE:
        return _LAST_BASE[key]
    try:
        model = load_model(d, read_only=True)
    except NertagError as e:
        raise NertagError(f"{e.message} ('train.base': the model to continue)", e.exit_code,
                          inputs=("base",)) from None
    _LAST_BASE.clear()
    if key is not None:
        _LAST_BASE[key] = model
    return model


def base_run_config(base: str | Path) -> Config:
    """The config a run continuing model ``base`` starts from when the user gives none:
    the base's own, without its data files and rehearsal file, and with
    :data:`ADAPT_EPOCHS` epochs (overrides may set any of them); its ``embeddings.path``
    only if that file is there (a model installed elsewhere: the new words' vectors
    then start random)."""
    cfg = load_base(base).cfg
    vectors = cfg.embeddings.path  # the base's vectors where they are, else none: the new
    if vectors and not Path(vectors).expanduser().is_file():  # words start from random ones
        vectors = None
    return dataclasses.replace(
        cfg, data=dataclasses.replace(cfg.data, train=None, dev=None),
        embeddings=dataclasses.replace(cfg.embeddings, path=vectors),
        train=dataclasses.replace(cfg.train, epochs=ADAPT_EPOCHS, rehearse=None))


def continue_config(base: str | Path, cfg: Config, src: str = "override") -> Config:
    """``cfg`` (from ``src``: the overrides, or a config file) as the config of a run
    continuing model ``base``: an error if a key of :data:`FIXED` differs from the
    base's; ``train.base`` is ``base``."""
    check_fixed(cfg, load_base(base).cfg, base, src)  # ('default': the shipped model's path)
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train,
                                                              base=str(model_path(base))))


def adapt_config(base: str | Path, cfg: Config | None = None, overrides=(),
                 src: str = "override") -> Config:
    """The config of a run continuing model ``base``: ``cfg`` (a config of the user's,
    read from ``src``) or else :func:`base_run_config`, with ``overrides``
    (``["train.epochs=3"]``), checked by :func:`continue_config`."""
    from nertag.config import apply_overrides

    cfg = apply_overrides(base_run_config(base) if cfg is None else cfg, list(overrides))
    return continue_config(base, cfg, src)


def read_adapt_corpora(cfg: Config, base: NerModel, emit: Emit
                       ) -> tuple[Corpus, Corpus | None]:
    """The training and dev corpora with ``labels.map`` applied, after checking that
    every type it maps onto is the base's or the training data's."""
    train, dev = read_corpora(dataclasses.replace(cfg, labels=LabelsConfig()), emit)
    known = sorted(set(base_types(base)) | set(train.entity_types()))
    for label, target in cfg.labels.map.items():
        if target not in known:
            raise NertagError(f"'labels.map': {label} -> {target}: {target} is neither a type "
                              f"of the base model nor of {cfg.data.train}; known types: "
                              f"{', '.join(known)}", exit_code=2, inputs=("overrides",))
    for corpus in (train, dev):
        map_types(corpus, cfg.labels.map)
    return train, dev


def base_types(model: NerModel) -> list[str]:
    """The entity types a model predicts, in its labels' order."""
    return list(dict.fromkeys(lab[2:] for lab in model.labels if lab != "O"))


def new_words(model: NerModel, corpus: Corpus) -> list[str]:
    """The word-feature keys of ``corpus`` (seen ``features.min_count`` times) that the
    model's word vocabulary lacks, most frequent first (as training orders them)."""
    word = model.featurizer.features[0]
    counts = Counter(word.key(w) for s in corpus.sentences for w in s.words)
    least = model.cfg.features.min_count
    return [w for w, c in counts.most_common() if c >= least and w not in word.vocab.index]


def pretrained_rows(path: str | Path, words: list[str], dim: int, scale: float
                    ) -> dict[str, np.ndarray]:
    """The vectors of ``words`` (normalised keys) in the pretrained file ``path``: only
    those lines are parsed; the first vector of a key wins (as training's)."""
    wanted, found = set(words), {}
    p = Path(path)
    try:
        with (gzip.open(p, "rb") if p.suffix == ".gz" else open(p, "rb")) as f:
            for lineno, line in iter_lines(f, p):
                word, _, rest = line.partition(b" ")
                key = normalize(word.decode("utf-8", "replace"))
                if key in wanted and key not in found:
                    vec = np.array(rest.split(), np.float32)
                    if vec.shape != (dim,):
                        raise NertagError(f"{p}:{lineno}: a vector of {vec.size} numbers; the "
                                          f"base model's words have {dim} ('embeddings.path')")
                    found[key] = vec * scale
                    if len(found) == len(wanted):
                        break
    except (OSError, EOFError, ValueError, gzip.BadGzipFile) as e:
        raise NertagError(f"{p}: cannot read embeddings ({e}) ('embeddings.path')") from None
    return found


def extend(base: NerModel, cfg: Config, words: list[str], types: list[str],
           vectors: dict[str, np.ndarray]) -> NerModel:
    """The base model grown by ``words`` (new rows of ``E_word``: ``vectors`` where given,
    else initialised as training does) and entity ``types`` (new labels, and new
    document-context features with document context), config ``cfg``; every base
    parameter is copied unchanged into its place.  The base is not changed."""
    feat = base.featurizer
    word = feat.features[0]
    vocab = Vocab([])
    vocab.items = word.vocab.items + list(words)
    vocab.index = {w: i for i, w in enumerate(vocab.items)}
    vocab.n_seen = len(vocab)  # (save.max_words keeps them all: the base's stored words)
    doc = feat.doc_context
    grown = Featurizer([Feature(word.name, word.key, vocab, word.dim)] + feat.features[1:],
                       feat.window, feat.chars, feat.gazetteer,
                       None if doc is None else DocContextFeature(doc.types + types, doc.dim))
    labels = base.labels + [lab for lab in tagmod.labels_for(types, cfg.model.tag_scheme)
                            if lab != "O"]
    arch = model_arch(cfg, grown, len(labels))
    dtype = np.dtype(cfg.train.dtype)
    fresh = window.init_params(arch, np.random.default_rng(cfg.train.seed), dtype,
                               cfg.model.init_scale)
    params = {}
    for name, new in fresh.items():
        old = base.params.get(name)
        if old is None:  # a new type's document-context embedding: as initialised
            params[name] = new
        elif name == "W":
            params[name] = _grown_w(old, base.arch, arch)
        else:  # the base's values in the leading rows (and columns), 0 after them
            out = new if name == "E_word" else np.zeros_like(new)
            out[tuple(slice(0, n) for n in old.shape)] = old
            params[name] = out
    table = params["E_word"]
    for i, w in enumerate(words, start=len(word.vocab)):
        if w in vectors:
            table[i] = vectors[w]
    return NerModel(cfg, grown, arch, params, labels)


def _grown_w(W: np.ndarray, old, new) -> np.ndarray:
    """``W`` (H, n·D) with zero columns for the new features at each of the n window
    positions: they follow the old embedded features, before the character vector."""
    H, n = W.shape[0], old.n
    feats = sum(d for _, _, d in old.features)  # a word's embedded features, then chars
    added = new.D - old.D
    out = np.zeros((H, n, new.D), W.dtype)
    src = W.reshape(H, n, old.D)
    out[:, :, :feats] = src[:, :, :feats]
    out[:, :, feats + added:] = src[:, :, feats:]
    return out.reshape(H, n * new.D)


def grown_models(cfg: Config, base: NerModel, train: Corpus, extra_types: list[str],
                 emit: Emit) -> tuple[NerModel, NerModel | None]:
    """The model to continue and, with document context, its first stage (config
    :func:`nertag.training.two_stage.first_config`), grown by ``train``'s new words and
    the types of ``train`` and ``extra_types`` that the base lacks."""
    from nertag.training.two_stage import first_config

    have = set(base_types(base))
    types = sorted((set(train.entity_types()) | set(extra_types)) - have)
    words = new_words(base, train)
    vectors = {}
    if words and cfg.embeddings.path and Path(cfg.embeddings.path).expanduser().is_file():
        vectors = pretrained_rows(Path(cfg.embeddings.path).expanduser(), words,
                                  base.featurizer.features[0].dim, cfg.embeddings.scale)
    emit("stage", {"message": f"continuing {cfg.train.base}: {len(words)} new words "
                              f"({len(vectors)} with pretrained vectors"
                              + ("" if cfg.embeddings.path else ": no embeddings.path")
                              + "), "
                              + (f"new types {', '.join(types)}" if types else "no new types")})
    model = extend(base, cfg, words, types, vectors)
    first = None
    if base.stage1 is not None:  # (a format-1 first stage may have words of its own)
        first_words = new_words(base.stage1, train)
        if set(first_words) - set(words) and vectors:
            vectors.update(pretrained_rows(Path(cfg.embeddings.path).expanduser(),
                                           first_words, base.featurizer.features[0].dim,
                                           cfg.embeddings.scale))
        first = extend(base.stage1, first_config(cfg), first_words, types, vectors)
    return model, first


@dataclass
class Adaptation:
    """What a run continuing a base model trains on and starts from."""

    train: Corpus                  # the training data, labels mapped (+ pseudo-rehearsal)
    dev: Corpus | None
    model: NerModel                # the base grown for it (the second stage, if two)
    first: NerModel | None         # with document context: the grown first stage
    rehearsal: Rehearsal | None    # train.rehearse: each epoch's draw

    def first_stage(self) -> dict:
        """The arguments of :func:`nertag.training.two_stage.first_stage` that continue
        the base's first stage."""
        return {"init": self.first, "rehearsal": self.rehearsal,
                "types": self.model.featurizer.doc_context.types}

    def second_stage(self, stage1) -> dict:
        """The arguments of :func:`nertag.training.fit.fit` that continue the base's
        (second) model; with document context, after ``stage1``
        (:class:`~nertag.training.two_stage.Stage1`): the rehearsal sentences get the
        codes of its first model."""
        from nertag.training.two_stage import codes_of

        rehearsal = self.rehearsal
        if rehearsal is not None and stage1 is not None:
            dc = self.model.featurizer.doc_context
            rehearsal = dataclasses.replace(rehearsal, codes=codes_of(
                stage1.model, rehearsal.pool, dc.types, self.model.cfg.features.doc_max_sentences))
        return {"model": self.model, "rehearsal": rehearsal}


def prepare_adaptation(cfg: Config, emit: Emit) -> Adaptation:
    """Load the base (``train.base``), read the data (``labels.map`` checked and
    applied), add the base's own entities of the types the data leaves out
    (``train.pseudo_rehearse``), read and draw the rehearsal file (``train.rehearse``)
    and grow the base's models for the data."""
    base = load_base(cfg.train.base)
    train, dev = read_adapt_corpora(cfg, base, emit)
    tc = cfg.train
    again = read_rehearsal(tc.rehearse, cfg.labels.map, cfg.data.encoding) \
        if tc.rehearse else None
    if tc.pseudo_rehearse:
        base.fast_inference = True
        train, added = pseudo_rehearse(base, train)
        emit("stage", {"message": f"pseudo-rehearsal: {added} entities of the base model's "
                                  f"types that {cfg.data.train} does not annotate added to "
                                  f"its gold"})
    model, first = grown_models(cfg, base, train, again.entity_types() if again else [], emit)
    rehearsal = None
    if again is not None:
        rehearsal = draw(again, len(train.sentences), tc.rehearse_ratio, tc.epochs, tc.seed)
        emit("stage", {"message": f"rehearsal: {len(rehearsal.draws[0])} sentences of "
                                  f"{tc.rehearse} an epoch"})
    return Adaptation(train, dev, model, first, rehearsal)
