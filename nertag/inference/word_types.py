"""Scores of the tagging path: the first layer as one table lookup per word type and
window position (all of a word's features at once).

Every word feature (form, caps, affixes, shape, and the character CNN's vector) is a
function of the word alone, so a word type t has one input vector x_t (its D numbers,
less the token features') and, for
window position q, one contribution ``G_q[t] = W_q x_t`` to the hidden layer's
z = b + Σ_q W_q x_(t+q).  The first time a type is seen its n rows of G are
computed (one product per new type, not per token); then a token costs n row
lookups however many features the model has.  The bias is folded into position
0's rows, ``G_0[t] = b + W_0 x_t``, so z starts as a lookup instead of a copy of b
(the same float operations in the same order: the same bits).  The name-list match
codes are token features (they depend on the neighbouring words): their share of z is
added per token from one row per distinct window of codes
(:mod:`nertag.inference.token_tables`).

A token's scores are the same bits whatever else is tagged with it, in this process or
another (``nertag tag --jobs``, Dask workers, the Python API): a BLAS matrix product
rounds a row differently depending on where the row sits in the matrix (OpenBLAS does,
measurably), so no product here mixes rows whose place depends on the batch.  A type's
G rows are a product of its own (a stack of one-row products), so is its character
vector (its filter windows times K, one product per word), and the second layer
multiplies a sentence at a time (sentences of one length stacked: one product each).
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from nertag.inference.snapshot import ParamSnapshot
from nertag.inference.token_tables import TokenFeatureRows, token_feature_columns
from nertag.nn import charcnn
from nertag.nn.activations import activation
from nertag.nn.arch import Arch
from nertag.nn.ragged import sentence_starts, window_ids
from nertag.text.features import END, START, Featurizer

#: Tokens scored at a time: small enough that the (chunk, H) temporaries stay in
#: the CPU cache while the rows are summed into them (512 was fastest here).
CHUNK = 512
#: Distinct words whose feature ids are remembered (the cache is emptied when full).
WORD_CACHE_SIZE = 100_000
#: Size of the per-word-type table: ~16k types at H = 300, n = 5, which in news text
#: cover all but ~2% of the tokens (the rest are computed per call).
TYPE_BUDGET_BYTES = 96 << 20
#: Rows of types past the table are computed once per this many chunks of tokens
#: (at most ~8k types: 50 MB of temporary rows at H = 300, n = 5).
SEGMENT_CHUNKS = 16
#: Rows of types past the table kept from one segment to the next (49 MB at H = 300,
#: n = 5); when a segment brings more than fit, they all start again.
OVERFLOW_ROWS = 8192


def table_budget(default: int) -> int:
    """Bytes the per-type table may take (``NERTAG_FAST_BUDGET_MB`` overrides ``default``)."""
    env = os.environ.get("NERTAG_FAST_BUDGET_MB")
    return int(float(env) * (1 << 20)) if env else default


def x_params(arch: Arch) -> list[str]:
    """The parameters a word's vector e is made from: its embedding tables (and the
    character CNN's)."""
    return [f"E_{name}" for name, _, _ in arch.features] + \
        (list(charcnn.PARAMS) if arch.chars is not None else [])


class WordCache:
    """Word types and their feature ids, remembered across calls.

    Each distinct word gets a *type* number (in order of first appearance; types 0
    and 1 stand for the padding before and after a sentence, whose feature ids are
    all ``<s>`` / all ``</s>``) and ``rows[type]`` holds its feature ids, so each
    word goes through the feature functions once.  ``feature_ids`` == ``Featurizer.feature_ids``.
    When more than ``max_words`` types are known the cache starts again, and
    ``generation`` counts how often that happened.
    """

    def __init__(self, featurizer: Featurizer, max_words: int = WORD_CACHE_SIZE):
        self.featurizer = featurizer
        self.max_words = max_words
        self.generation = -1
        self.clear()

    def clear(self) -> None:
        self.index: dict[str, int] = {}
        self.words: list[str] = ["", ""]  # the word of each type (0, 1: the padding)
        self.rows = np.empty((1024, self.featurizer.word_columns), dtype=np.int32)
        self.rows[0], self.rows[1] = START, END
        self.size = 2
        self.lower_index: dict[str, int] = {}  # lower-case forms, numbered
        self.lower = np.zeros(0, np.int64)     # (types lowered so far,) its form's number
        self.gaz_keys = np.zeros(0, np.int64)  # (types looked up so far,) name-list keys
        self.gaz_lists = None                  # ... in these lists
        self.generation += 1

    def types(self, words: Sequence[str]) -> np.ndarray:
        """Type numbers of a flat list of words: (N,) intp."""
        index = self.index
        try:  # all words known (the common case once the cache is warm)
            return np.fromiter(map(index.__getitem__, words), dtype=np.intp, count=len(words))
        except KeyError:
            pass
        new = [w for w in dict.fromkeys(words) if w not in index]
        if new:
            if self.size + len(new) - 2 > self.max_words:
                self.clear()
                index = self.index
                new = list(dict.fromkeys(words))
            n0 = self.size
            need = n0 + len(new)
            if need > len(self.rows):
                grown = np.empty((max(need, 2 * len(self.rows)), self.rows.shape[1]), np.int32)
                grown[:n0] = self.rows[:n0]
                self.rows = grown
            self.features_of(new, out=self.rows[n0:need])
            index.update(zip(new, range(n0, need)))
            self.words += new
            self.size = need
        return np.fromiter(map(index.__getitem__, words), dtype=np.intp, count=len(words))

    def lower_ids(self, types: np.ndarray) -> np.ndarray:
        """(N,) int64: one number per lower-case form of the types' words (two types get
        the same number exactly when ``a.lower() == b.lower()``), for
        :func:`~nertag.text.doc_context.document_codes`."""
        done = len(self.lower)
        if done < self.size:  # number the forms of the types added since the last call
            index = self.lower_index
            more = np.fromiter((index.setdefault(w.lower(), len(index))
                                for w in self.words[done:self.size]), np.int64, self.size - done)
            self.lower = np.concatenate([self.lower, more])
        return self.lower[types]

    def gazetteer_keys(self, types: np.ndarray, lists) -> np.ndarray:
        """(N,) int64: the name lists' :meth:`~nertag.text.gazetteer.Gazetteer.word_keys`
        of the types' words, each type's looked up once (``lists``: the featurizer's)."""
        if lists is not self.gaz_lists:
            self.gaz_keys, self.gaz_lists = np.zeros(0, np.int64), lists
        done = len(self.gaz_keys)
        if done < self.size:
            more = lists.word_keys(self.words[done:self.size])
            self.gaz_keys = np.concatenate([self.gaz_keys, more])
        return self.gaz_keys[types]

    def features_of(self, words: Sequence[str], out: np.ndarray) -> None:
        """The word-feature ids of some distinct words into ``out`` (len(words), F (+ L))."""
        self.featurizer.type_ids(words, out)

    def feature_rows(self, types: np.ndarray) -> np.ndarray:
        """The feature ids of some types: (len(types), F) int32."""
        return self.rows[types]

    def feature_ids(self, words: Sequence[str]) -> np.ndarray:
        """Word-feature ids ``(N, F)`` int32, as :meth:`Featurizer.word_ids` (no name-list
        columns: they are per token, :meth:`Featurizer.token_ids` adds them)."""
        ks = self.types(words)  # (first: it may replace self.rows)
        return self.feature_rows(ks)


class WordTypeScorer:
    """Scores from a table per word *type* (see the module's docstring).

    Types are numbered by a :class:`~nertag.inference.model.WordCache` (0 and 1 are the
    sentence padding); G, (n, capacity, H), holds the first ``capacity`` types (the
    memory budget) and rarer ones get their rows computed per call.
    """

    def __init__(self, params: dict, arch: Arch, cache, *, budget_bytes: int | None = None):
        self.arch, self.params, self.cache = arch, params, cache
        n, H, D = arch.n, arch.hidden, arch.D
        W = params["W"]
        self.dtype = W.dtype
        budget = table_budget(TYPE_BUDGET_BYTES) if budget_bytes is None else budget_bytes
        self.capacity = max(2, budget // (n * H * W.dtype.itemsize))
        # x_t W_qᵀ for all q at once: x_t (D_t,) @ Wcat (D_t, n·H), D_t the word-type
        # numbers of D (the token features' columns are left out: TokenFeatureRows)
        a, b = token_feature_columns(arch)
        keep = np.r_[0:a, b:D]
        self.Wcat = np.ascontiguousarray(
            W.reshape(H, n, D)[:, :, keep].transpose(2, 1, 0).reshape(len(keep), n * H))
        self.tokens = TokenFeatureRows(params, arch) if arch.token_features else None
        self.snapshot = ParamSnapshot(params, ["W", "b"] + x_params(arch))
        self.type_rows: np.ndarray | None = None  # G: (n, capacity, H), types < filled
        self.filled = 0
        self.generation = cache.generation
        self.over: np.ndarray | None = None  # (n, OVERFLOW_ROWS, H): rows of types past G
        self.over_slot: dict[int, int] = {}  # type -> its row in ``over``
        #: ``over`` is the table's own last OVERFLOW_ROWS rows, so a type past the table is
        #: numbered ``capacity + its row`` and summed as any other (a table of its own: a
        #: shared table has no room for them, :class:`~.shared_types.SharedTypeScorer`)
        self.over_in_table = True

    def valid_for(self, params: dict, cache) -> bool:
        """True if the rows are still those of ``params`` and of ``cache``'s numbering."""
        return cache is self.cache and self.snapshot.matches(params)

    def _rows(self, types: np.ndarray) -> np.ndarray:
        """G rows of some types: (n, R, H), the bias added to position 0's; each type's
        rows are a product of their own (the same bits whatever other types come along)."""
        feats = self.cache.feature_rows(types)
        F = self.arch.n_word_features
        parts = [self.params[f"E_{name}"][feats[:, f]]
                 for f, (name, _, _) in enumerate(self.arch.features[:F])]
        if self.arch.chars is not None:  # the character vector: a product per word
            parts.append(charcnn.forward(feats[:, F:], self.params,
                                         self.arch.chars.activation, per_word=True,
                                         grad=False)[0])
        x = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        n, H = self.arch.n, self.arch.hidden
        rows = np.matmul(x[:, None, :], self.Wcat).reshape(len(types), n, H).transpose(1, 0, 2)
        rows[0] += self.params["b"]
        return rows

    def _fill(self) -> None:
        """Rows for the types the cache has numbered since the last call (up to capacity)."""
        if self.generation != self.cache.generation:  # the cache started again
            self.filled, self.generation = 0, self.cache.generation
            self.over_slot.clear()
        if self.type_rows is None:
            rows = self.capacity + (OVERFLOW_ROWS if self.over_in_table else 0)
            self.type_rows = np.empty((self.arch.n, rows, self.arch.hidden), dtype=self.dtype)
            if self.over_in_table:
                self.over = self.type_rows[:, self.capacity:]
        top = min(self.cache.size, self.capacity)
        for a in range(self.filled, top, 2048):  # in blocks: small temporaries
            b = min(a + 2048, top)
            self.type_rows[:, a:b] = self._rows(np.arange(a, b))
        self.filled = max(self.filled, top)

    def _window_types(self, types: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The type at each window position of each token: (n, N) intp, with the
        padding types 0 (before a sentence) and 1 (after it)."""
        return window_ids(types.astype(np.intp, copy=False), lengths, self.arch.window, 0, 1,
                          position_major=True)

    def scores(self, types: np.ndarray, lengths, codes: np.ndarray | None = None,
               chunk: int = CHUNK) -> np.ndarray:
        """Scores (N, K) of tokens given as type numbers (N,), sentences laid end to end
        with the given lengths (S,); ``codes`` (N, C): the tokens' name-list codes, for
        a model with token features.

        The tokens are scored in the order of their sentences' lengths (``pieces``), so
        sentences of one length lie side by side and go through the second layer as one
        stack of per-sentence products; the rows come back in input order at the end."""
        arch, p = self.arch, self.params
        lengths = np.asarray(lengths, dtype=np.int64)
        N, K, H = len(types), arch.n_labels, arch.hidden
        if N == 0:
            return np.empty((N, K), dtype=self.dtype)
        self._fill()
        order, groups = pieces(lengths, chunk)
        ids = self._window_types(types, lengths)[:, order]
        gaz = None
        if self.tokens is not None:  # one row per distinct window of name-list codes
            if codes is None or codes.shape != (N, self.arch.token_features):
                raise ValueError(f"the model has {self.arch.token_features} token features: "
                                 f"give their codes (N, C) for the {N} tokens")
            gaz_rows, gaz_index = self.tokens.rows(codes, lengths)
            gaz = gaz_rows, gaz_index[order]
        any_over = bool((ids >= self.capacity).any())
        f, _ = activation(arch.activation)
        Ut = np.ascontiguousarray(p["U"].T)
        z = np.empty((chunk, H), dtype=self.dtype)
        tmp = np.empty_like(z)
        done = np.empty((N, K), dtype=self.dtype)  # scores in ``order``
        for g0 in range(0, len(groups), SEGMENT_CHUNKS):
            segment = groups[g0:g0 + SEGMENT_CHUNKS]
            s0, s1 = segment[0][0], segment[-1][0] + segment[-1][1] * segment[-1][2]
            seg, extra = ids[:, s0:s1], None
            if any_over:  # types past the table: their rows, for this segment only
                seg, extra = self._extra_rows(seg)
            for a, c, L in segment:
                B = c * L
                zc, tc = z[:B], tmp[:B]
                self._sum_rows(zc, tc, seg[:, a - s0:a - s0 + B], extra)
                if gaz is not None:  # + Σ_q Σ_c T_{q,c}[id_c(t+q)], one row per token
                    np.take(gaz[0], gaz[1][a:a + B], axis=0, out=tc, mode="clip")
                    zc += tc
                np.matmul(f(zc, out=zc).reshape(c, L, H), Ut, out=done[a:a + B].reshape(c, L, K))
        done += p["c"]
        out = np.empty_like(done)
        out[order] = done
        return out

    def _extra_rows(self, ids: np.ndarray):
        """Rows for the types in ``ids`` (n, M) past the table: ``(ids2, extra)`` where
        ``ids2`` numbers them ``capacity + r`` and ``extra`` (n, R, H) holds them (None:
        they are rows ``capacity + r`` of the table itself, :attr:`over_in_table`).  They
        are kept (up to ``OVERFLOW_ROWS``) for the next segments: a type's rows are the
        same bits whenever they are computed, so keeping them changes nothing but time."""
        cap = self.capacity
        over = ids >= cap
        if not over.any():
            return ids, None
        uniq, inv = np.unique(ids[over], return_inverse=True)
        ids = ids.copy()
        if len(uniq) > OVERFLOW_ROWS:  # more than the store holds: rows for this call only
            ids[over] = cap + inv.reshape(-1)
            return ids, self._rows(uniq)
        slot = self.over_slot
        new = [t for t in uniq.tolist() if t not in slot]
        if len(slot) + len(new) > OVERFLOW_ROWS:
            slot.clear()
            new = uniq.tolist()
        if new:
            if self.over is None:
                self.over = np.empty((self.arch.n, OVERFLOW_ROWS, self.arch.hidden), self.dtype)
            k = len(slot)
            self.over[:, k:k + len(new)] = self._rows(np.array(new, dtype=np.intp))
            slot.update(zip(new, range(k, k + len(new))))
        slots = np.fromiter(map(slot.__getitem__, uniq.tolist()), np.intp, len(uniq))
        ids[over] = cap + slots[inv.reshape(-1)]
        return ids, None if self.over_in_table else self.over

    def _sum_rows(self, z: np.ndarray, tmp: np.ndarray, ids: np.ndarray, extra) -> None:
        """z (B, H) = G_0[ids[0]] (bias included) + G_1[ids[1]] + ... for window types
        ids (n, B), rows numbered past the table taken from ``extra``."""
        rows, cap = self.type_rows, self.capacity
        for q in range(len(ids)):
            idq = ids[q]
            dst = z if q == 0 else tmp
            np.take(rows[q], idq, axis=0, out=dst, mode="clip")
            if extra is not None:
                rare = np.flatnonzero(idq >= cap)
                if len(rare):
                    dst[rare] = extra[q][idq[rare] - cap]
            if q:
                z += tmp

    @property
    def nbytes(self) -> int:
        return 0 if self.type_rows is None else self.filled * self.arch.n * self.arch.hidden * \
            self.type_rows.itemsize


def pieces(lengths: np.ndarray, chunk: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """The order in which :meth:`WordTypeScorer.scores` takes the tokens, and its groups.

    Sentences are sorted by length (stably); a sentence longer than ``chunk`` tokens is
    cut into pieces of ``chunk`` tokens from its start (the last one shorter), each
    taken as a sentence of its own length.  Returns ``order`` (N,), the token rows in
    that order, and ``groups``: ``(a, c, L)`` = rows ``a : a + c·L`` of the order are
    ``c`` pieces of ``L`` tokens (c·L ≤ chunk, or c = 1), in order.  Everything depends
    on the lengths alone, so a sentence is cut and multiplied the same way in any batch.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = sentence_starts(lengths)
    keep = lengths > 0
    plen, pstart = lengths[keep], starts[keep]
    if (plen > chunk).any():  # cut long sentences into pieces (from their start)
        n_cut = -(-plen // chunk)
        first = np.repeat(pstart, n_cut)
        k = np.arange(len(first)) - np.repeat(np.cumsum(n_cut) - n_cut, n_cut)
        pstart = first + k * chunk
        plen = np.minimum(np.repeat(plen, n_cut) - k * chunk, chunk)
    by_len = np.argsort(plen, kind="stable")
    plen, pstart = plen[by_len], pstart[by_len]
    order = np.repeat(pstart - (np.cumsum(plen) - plen), plen) + np.arange(int(plen.sum()))
    groups: list[tuple[int, int, int]] = []
    values, counts = np.unique(plen, return_counts=True)
    a = 0
    for L, n in zip(values.tolist(), counts.tolist()):
        per = max(1, chunk // L)
        for i in range(0, n, per):
            c = min(per, n - i)
            groups.append((a, c, L))
            a += c * L
    return order, groups
