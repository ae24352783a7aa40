"""The first layer's share of the token features (name-list matches) on the tagging path.

The per-word-type rows of :mod:`nertag.inference.word_types` cannot hold a token
feature: the match code of ``York`` depends on its neighbours.  But the first layer is
linear, so the C name-list categories' part of z is a sum of its own.  With
``W_{q,c}`` (H, d) the columns of W that multiply category c's vector at window
position q,

    z = b + Σ_q W_q x_(t+q) = [b + Σ_q G_q[type(t+q)]] + Σ_q Σ_c T_{q,c}[id_c(t+q)],

    T_{q,c} = E_c W_{q,c}ᵀ : (8, H)      (8 ids: <s>, </s>, <unk>, O, B, I, E, S)

computed once per model.  Rather than n·C lookups per token, the tokens' codes are
combined: every token gets one key for its C codes (``k = Σ_c code_c 5^c``), the
distinct keys of a call are numbered, and each token's *window* of n numbers is
numbered again; a distinct window's row ``R = Σ_q P_q[·]``, with ``P_q = Σ_c
T_{q,c}[·]`` per distinct token key, is summed once (always the same float operations
in the same order, so a token's row is the same bits in any batch and any process),
and a token costs one row lookup and one addition of H numbers.  In news text a batch of ~100k tokens has a few thousand
distinct windows (most are all O).
"""

from __future__ import annotations

import numpy as np

from nertag.inference.snapshot import ParamSnapshot
from nertag.nn.arch import Arch
from nertag.nn.ragged import window_ids

#: ids of a category's vocabulary: <s>, </s> (padding), <unk>, then the BIOES codes
_START, _END, _FIRST_CODE, _N_CODES = 0, 1, 3, 5


def token_feature_columns(arch: Arch) -> tuple[int, int]:
    """``(a, b)``: the token features' numbers in each window position's D, ``a:b``."""
    word = sum(d for _, _, d in arch.features[:arch.n_word_features])
    return word, word + sum(d for _, _, d in arch.features[arch.n_word_features:])


#: Rows of R summed at a time (256 × H floats stay in cache: twice as fast as whole columns).
_ROW_BLOCK = 256
#: Categories numbered through one table of 5^C flags (390,625 for 8).
_TABLE_CATEGORIES = 8
#: Largest table of flags for the pairs of two halves' numbers (else a sort).
_PAIR_TABLE = 1 << 22


def code_keys(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes @ 5^c, return_inverse=True)`` for codes (N, C ≤ 26) in 0..4, without
    a sort: ``(keys (U,) int64 ascending, inverse (N,))``.  Up to 8 categories the keys
    are flagged in a table of 5^C; more are split into the first 8 and the rest,
    each numbered so, and the pairs of numbers (in key order: the rest is the high part)
    flagged in a table of their own."""
    N, C = codes.shape
    if C <= _TABLE_CATEGORIES:
        key = np.zeros(N, np.int32)
        for c in range(C - 1, -1, -1):
            key = key * _N_CODES + codes[:, c]
        present = np.zeros(_N_CODES ** C, bool)
        present[key] = True
        return np.flatnonzero(present), (np.cumsum(present) - 1)[key]
    lo_keys, lo = code_keys(codes[:, :_TABLE_CATEGORIES])
    hi_keys, hi = code_keys(codes[:, _TABLE_CATEGORIES:])
    n_lo = len(lo_keys)
    if len(hi_keys) * n_lo > _PAIR_TABLE:
        keys, inv = np.unique(codes.astype(np.int64) @ _N_CODES ** np.arange(C, dtype=np.int64),
                              return_inverse=True)
        return keys, inv.reshape(-1)
    pair = hi * n_lo + lo
    present = np.zeros(len(hi_keys) * n_lo, bool)
    present[pair] = True
    u = np.flatnonzero(present)
    keys = hi_keys[u // n_lo].astype(np.int64) * _N_CODES ** _TABLE_CATEGORIES + lo_keys[u % n_lo]
    return keys, (np.cumsum(present) - 1)[pair]


class TokenFeatureRows:
    """The tables ``T (n, C, V, H)`` of a model's token features, and the rows of the
    distinct windows of codes of a call (see the module's docstring)."""

    def __init__(self, params: dict, arch: Arch):
        self.arch = arch
        n, H, D = arch.n, arch.hidden, arch.D
        W = params["W"]
        self.dtype = W.dtype
        feats = arch.features[arch.n_word_features:]
        self.names = [f"E_{name}" for name, _, _ in feats]
        Wr = W.reshape(H, n, D)
        V = max((v for _, v, _ in feats), default=0)
        self.T = np.zeros((n, len(feats), V, H), dtype=self.dtype)
        off = token_feature_columns(arch)[0]
        for c, (name, v, d) in enumerate(feats):
            E = params[f"E_{name}"]
            for q in range(n):  # T_{q,c} = E_c W_{q,c}ᵀ, one product per table
                self.T[q, c, :v] = E @ Wr[:, q, off:off + d].T
            off += d
        self.snapshot = ParamSnapshot(params, ["W"] + self.names)

    def valid_for(self, params: dict) -> bool:
        return self.snapshot.matches(params)

    def rows(self, codes: np.ndarray, lengths) -> tuple[np.ndarray, np.ndarray]:
        """``(R, index)``: the first layer's share of each token's window of codes is
        ``R[index[t]]``.  codes: (N, C) BIOES codes (0–4) of sentences laid end to end
        with ``lengths`` (S,); R: (U, H) for the U distinct windows, index: (N,) intp."""
        n, C = self.arch.n, codes.shape[1]
        N = len(codes)
        if N == 0:
            return np.zeros((0, self.arch.hidden), self.dtype), np.zeros(0, np.intp)
        # 1. one number per token for its C codes: 0, 1 the padding, 2 + k the distinct keys
        powers = _N_CODES ** np.arange(C, dtype=np.int64)
        keys, inv = code_keys(codes) if C <= 26 else (None, None)  # (5^26 < 2^62)
        if keys is not None:
            tok_codes = (keys[:, None] // powers) % _N_CODES
        else:
            tok_codes, inv = np.unique(codes, axis=0, return_inverse=True)
        ids = np.empty((len(tok_codes) + 2, C), dtype=np.intp)  # category ids per number
        ids[0], ids[1] = _START, _END
        ids[2:] = tok_codes + _FIRST_CODE
        # 2. one number per window of n token numbers (the distinct windows, sorted)
        win = window_ids(inv.reshape(-1).astype(np.intp) + 2, lengths, self.arch.window,
                         0, 1, position_major=True)                                # (n, N)
        base = len(ids)
        if base ** n < 2 ** 62:
            wkey = np.zeros(N, np.int64)
            for q in range(n - 1, -1, -1):
                wkey = wkey * base + win[q]
            uniq, index = np.unique(wkey, return_inverse=True)
            digits = (uniq[:, None] // base ** np.arange(n, dtype=np.int64)) % base   # (U, n)
        else:
            digits, index = np.unique(win.T, axis=0, return_inverse=True)
        # 3. each distinct window's row: Σ_q P_q[token number at q], where P_q[u] =
        #    Σ_c T_{q,c}[id_c(u)] is summed once per token number (c in order; both sums
        #    depend on the codes alone, never on the batch: the same bits anywhere)
        H = self.arch.hidden
        P = np.zeros((n, len(ids), H), dtype=self.dtype)
        for q in range(n):
            for c in range(C):
                P[q] += self.T[q, c][ids[:, c]]
        R = np.zeros((len(digits), H), dtype=self.dtype)
        for a in range(0, len(R), _ROW_BLOCK):  # a block of R stays in cache over the n sums
            block, d = R[a:a + _ROW_BLOCK], digits[a:a + _ROW_BLOCK]
            for q in range(n):
                block += P[q][d[:, q]]
        return R, index.reshape(-1).astype(np.intp)

    @property
    def nbytes(self) -> int:
        return self.T.nbytes
