"""A trained model as a whole (config, features, parameters, labels) and its decoders.

Decoders (``model.decoder``):
  greedy       argmax of each token's scores, independently;
  constrained  the best path under the token log-probabilities that never makes an
               invalid BIO/BIOES transition (Viterbi with 0/−∞ transitions);
  viterbi      the CRF's best path with its learned transitions (crf head; for the
               other heads it is the same as constrained).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import crf
from . import layers as L
from . import model as M
from . import tags as tagmod
from .config import Config
from .features import Featurizer


@dataclass
class NerModel:
    cfg: Config
    featurizer: Featurizer
    arch: M.Arch
    params: dict[str, np.ndarray]
    labels: list[str]  # in the model's own scheme (cfg.model.tag_scheme)

    @property
    def scheme(self) -> str:
        return self.cfg.model.tag_scheme

    def windows(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        return self.featurizer.featurize(sentences)

    def scores(self, X: np.ndarray) -> np.ndarray:
        return M.scores(self.params, X, self.arch)

    def _masks(self):
        allowed, first, last = tagmod.transition_mask(self.labels, self.scheme)
        dt = self.params["W"].dtype
        neg = dt.type(-np.inf)
        return (np.where(allowed, 0, neg).astype(dt), np.where(first, 0, neg).astype(dt),
                np.where(last, 0, neg).astype(dt))

    def decode(self, S: np.ndarray, lengths: np.ndarray, decoder: str | None = None):
        """Tag ids (B,) and each chosen tag's probability (B,) from scores S: (B, K)."""
        decoder = decoder or self.cfg.model.decoder
        head = self.arch.head
        if head == "binary":
            sig = 0.5 * (1 + np.tanh(0.5 * S))
            probs = sig / sig.sum(axis=1, keepdims=True)
            logp = np.log(np.maximum(probs, 1e-30))
        else:
            logp = L.log_softmax(S)
            probs = np.exp(logp)
        if decoder == "greedy":
            ids = S.argmax(axis=1)
        elif head == "crf" and decoder == "viterbi":
            A, first, last = self._masks()
            ids = crf.viterbi(S, lengths, self.params["A"] + A, self.params["start"] + first,
                              self.params["end"] + last)
        else:
            A, first, last = self._masks()
            ids = crf.viterbi(logp, lengths, A, first, last)
        return ids, probs[np.arange(len(ids)), ids]

    def predict(self, sentences: Sequence[Sequence[str]], decoder: str | None = None,
                X: np.ndarray | None = None):
        """BIO tags and per-token confidences for a list of sentences (lists of words)."""
        if X is None:
            X = self.windows(sentences)
        lengths = np.fromiter((len(s) for s in sentences), np.int64, len(sentences))
        ids, conf = self.decode(self.scores(X), lengths, decoder)
        out_tags, out_conf, o = [], [], 0
        for n in lengths:
            seq = [self.labels[i] for i in ids[o:o + n]]
            if self.scheme != "bio":
                seq = tagmod.convert(seq, self.scheme, "bio")
            out_tags.append(seq)
            out_conf.append(conf[o:o + n])
            o += n
        return out_tags, out_conf
