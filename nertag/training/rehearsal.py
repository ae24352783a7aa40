"""Not forgetting what a base model knew while it learns new data (``nertag train --from``).

Two ways, which can be combined (docs/adapt.md says which is used when):

* **rehearsal** (``train.rehearse FILE``): a share of the base model's own training
  data is mixed into every epoch: ``round(train.rehearse_ratio × N)`` sentences of the
  file for N training sentences, drawn afresh each epoch (without replacement, from a
  generator seeded with ``(train.seed, epoch, 2)``: the same run draws the same, a
  resumed one too; a jackknife fold of a two-stage run takes the first ratio × its
  own sentence count of each draw).  Every sentence any epoch draws is featurized once
  (:meth:`Rehearsal.joined`); an epoch trains on the user's sentences and its draw
  (:meth:`Rehearsal.epoch`).
* **pseudo-rehearsal** (``train.pseudo_rehearse``, on by default): the base model tags
  the training sentences, and its entities of the types the training data does not
  annotate are added to the gold where it is O (:func:`pseudo_rehearse`), so a file
  annotated only for ``product`` does not teach that every person is O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from nertag.errors import NertagError
from nertag.inference.model import NerModel
from nertag.nn.ragged import sentence_starts, token_rows
from nertag.text.conll import Corpus
from nertag.text.datasets import read_corpus
from nertag.text.tags import entities_to_tags, get_entities
from nertag.training.data import TrainData


@dataclass
class Rehearsal:
    """The rehearsal sentences of a run: ``pool`` holds every sentence any epoch draws
    (in file order), ``draws[e - 1]`` the rows of ``pool`` epoch e trains on."""

    pool: Corpus
    draws: list[np.ndarray]          # in the order drawn (a model of fewer sentences, a
    #                                  jackknife fold, takes the first ratio × its own)
    ratio: float = 1.0
    n_user: int = 0                  # the user's sentences before the pool (set by joined)
    codes: np.ndarray | None = None  # (N_pool, T) document-context codes of the pool

    def joined(self, train: Corpus, train_codes: np.ndarray | None
               ) -> tuple[Corpus, np.ndarray | None, "Rehearsal"]:
        """The user's training corpus followed by the pool, their codes (with document
        context: the pool's must be set), and this rehearsal for that corpus."""
        mine = dataclasses.replace(self, n_user=len(train.sentences))
        joined = Corpus(train.path, train.sentences + self.pool.sentences, train.scheme,
                        train.format)
        if train_codes is None:
            return joined, None, mine
        if self.codes is None:
            raise ValueError("the rehearsal sentences need their document-context codes")
        return joined, np.concatenate([train_codes, self.codes.astype(train_codes.dtype)]), mine

    def epoch(self, data: TrainData, epoch: int) -> TrainData:
        """The sentences of epoch ``epoch`` (1-based; past the last draw: the last one's)
        out of ``data`` (:meth:`joined`'s corpus prepared): the user's, then the draw."""
        drawn = self.draws[min(epoch, len(self.draws)) - 1]
        drawn = np.sort(drawn[:max(1, round(self.ratio * self.n_user))])
        rows = np.concatenate([np.arange(self.n_user), self.n_user + drawn])
        lengths = data.lengths[rows]
        tokens = token_rows(sentence_starts(data.lengths)[rows], lengths)
        return TrainData(data.X[tokens], data.y[tokens], lengths,
                         Corpus(data.corpus.path, [data.corpus.sentences[i] for i in rows],
                                data.corpus.scheme, data.corpus.format),
                         None if data.codes is None else data.codes[tokens])


def read_rehearsal(path: str, mapping: dict[str, str], encoding: str = "utf-8") -> Corpus:
    """The rehearsal file (any training format, detected), its types renamed by
    ``labels.map``; a file without sentences is an error naming ``train.rehearse``."""
    try:
        corpus = read_corpus(path, "auto", encoding, "auto", mapping)
    except NertagError as e:
        raise NertagError(f"{e.message} ('train.rehearse': the base model's training data)",
                          e.exit_code, inputs=("rehearse",)) from None
    if not corpus.sentences:
        raise NertagError(f"{path}: no sentences found in the rehearsal file "
                          f"('train.rehearse'); give the base model's training data (CoNLL "
                          f"columns or JSON lines), or none", exit_code=2, inputs=("rehearse",))
    return corpus


def draw(corpus: Corpus, n_user: int, ratio: float, epochs: int, seed: int) -> Rehearsal:
    """Each epoch's ``round(ratio × n_user)`` sentences of ``corpus`` (at least 1, at
    most all), drawn afresh each epoch with the run's seed (a model trained on fewer
    than ``n_user`` sentences takes the first ``ratio`` × its own of each draw)."""
    n = min(len(corpus.sentences), max(1, round(ratio * n_user)))
    picks = [np.random.default_rng([seed, e, 2]).choice(len(corpus.sentences), n, replace=False)
             for e in range(1, epochs + 1)]
    used = np.unique(np.concatenate(picks))  # (sorted: the pool keeps the file's order)
    where = np.full(len(corpus.sentences), -1, np.int64)
    where[used] = np.arange(len(used))
    pool = Corpus(corpus.path, [corpus.sentences[i] for i in used], corpus.scheme,
                  corpus.format)
    return Rehearsal(pool, [where[p] for p in picks], ratio)


def pseudo_rehearse(base: NerModel, corpus: Corpus) -> tuple[Corpus, int]:
    """``corpus`` with the base model's entities added to its gold: those of the base's
    types the corpus does not annotate, where every gold tag under them is O; return it
    (a new corpus; the sentences it changes are copies) and how many were added."""
    annotated = set(corpus.entity_types())
    old = {lab[2:] for lab in base.labels if lab != "O"} - annotated
    if not old or not corpus.sentences:
        return corpus, 0
    pred, _ = base.predict([s.words for s in corpus.sentences], docs=corpus.doc_sizes())
    out, added = [], 0
    for s, tags in zip(corpus.sentences, pred):
        extra = [(t, b, e) for t, b, e in get_entities(tags)
                 if t in old and all(g == "O" for g in s.tags[b:e])]
        if extra:
            gold = get_entities(s.tags) + extra
            s = dataclasses.replace(s, tags=entities_to_tags(sorted(gold, key=lambda x: x[1]),
                                                             len(s.tags), "bio"))
            added += len(extra)
        out.append(s)
    return Corpus(corpus.path, out, corpus.scheme, corpus.format, list(corpus.notes)), added

