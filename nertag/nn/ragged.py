"""Sentences laid end to end: a batch of S sentences of lengths (S,) is one array of
N = Σ lengths token rows.  Where each sentence starts, which rows a subset of them
covers, and the window of every token (padded at the sentence edges).
"""

from __future__ import annotations

import numpy as np


def sentence_starts(lengths) -> np.ndarray:
    """The first token row of each sentence: (S,) int64, ``starts[k] = Σ_{j<k} lengths[j]``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.cumsum(lengths) - lengths


def token_rows(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The token rows of some sentences (first rows ``starts``, ``lengths`` tokens each),
    in that order: (Σ lengths,) — e.g. the rows of a minibatch of whole sentences."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())


def window_ids(ids: np.ndarray, lengths, w: int, before, after, *,
               position_major: bool = False) -> np.ndarray:
    """The ids of the n = 2w+1 tokens around each token: x = [e(t−w) … e(t+w)].

    ids: (N, ...) per token, sentences laid end to end with the given lengths (S,).
    Each sentence is padded with w ``before`` ids in front and w ``after`` ids behind
    in one array; token t's window is then a slice of it, gathered for all tokens at
    once.  -> (N, n, ...), or (n, N, ...) with ``position_major``.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n_sent, n_tok = len(lengths), int(lengths.sum())
    pos = np.arange(n_tok) + 2 * w * np.repeat(np.arange(n_sent), lengths) + w  # padded row
    padded = np.full((n_tok + 2 * w * n_sent,) + ids.shape[1:], after, dtype=ids.dtype)
    padded[pos] = ids
    pad_start = sentence_starts(lengths) + 2 * w * np.arange(n_sent)  # each sentence's pads
    padded[(pad_start[:, None] + np.arange(w)).ravel()] = before
    offsets = np.arange(-w, w + 1)
    if position_major:
        return padded[pos[None, :] + offsets[:, None]]
    return padded[pos[:, None] + offsets]
