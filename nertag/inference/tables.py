"""The first layer as per-feature lookup tables (SENNA's precomputation), for windows.

The first layer is linear in the window's vectors.  With ``x`` the concatenation
over window positions p and features f of e_f(t+p), and ``W_{p,f}`` the block of
columns of W that multiplies e_f at position p,

    z = W x + b = b + Σ_{p,f} W_{p,f} E_f[id_f(t+p)] = b + Σ_{p,f} T_{f,p}[id_f(t+p)]

where ``T_{f,p} = E_f W_{p,f}ᵀ`` is a (V_f, H) table computed once per model.
Scoring a token then costs n·F row lookups and sums of H numbers instead of a
(n·D)×H matrix product: for the word feature (d = 50) that is ~50× fewer
floating-point operations, paid for with V_f·n·H numbers of memory (100 MB for
an 18k vocabulary, H = 300, n = 5).  Lookups of random rows of a big table are
memory-bound, and BLAS is fast, so whether they win depends on the machine:
:class:`TableScorer` decides per feature.  Each feature is scored in one of three
ways (its *plan*):

``table``   the n tables T_{f,p}; n lookups and sums per token.  Only when the
            tables fit the memory budget and (plan ``"auto"``) a short probe on
            this machine finds the lookups faster than the product.  If only part
            of a table fits, it holds the most frequent ids (vocabularies are
            sorted by frequency) and the rarer ones fall back to E[id] W_{p,f}ᵀ.
``joint``   for a feature with a tiny vocabulary (caps: 8 values) a window has
            at most V_f^n combinations; the distinct combinations of a call get
            one row each, Σ_p T_{f,p}[·] (with b folded in), so the whole
            feature costs one lookup per token.
``matmul``  the plain product of the feature's embeddings with its columns of W.

With the character CNN, its vectors (for the distinct words of each chunk of
windows) are multiplied by their columns of W like a ``matmul`` feature.  The name-list
categories (token features, ``E_gaz_<category>``) are columns of X like any other, with
8 ids each: ``joint`` while the joint codes fit, ``matmul`` after.

``TableScorer(params, arch).scores(X)`` equals :func:`nertag.nn.window.scores` up to
float rounding (the sums are taken in a different order).  The tables are
derived from the parameters and are stale as soon as a parameter changes, so
:class:`~nertag.inference.model.NerModel` uses one only when asked (``fast_inference``)
and checks that the parameters are unchanged before each use (:class:`ParamSnapshot`).
The per-word-type scorer of the tagging path is :class:`nertag.inference.word_types.WordTypeScorer`.
"""

from __future__ import annotations

import os
import time

import numpy as np

from nertag.nn import charcnn
from nertag.nn.activations import activation
from nertag.nn.arch import Arch

#: Largest table (bytes) built for one feature; env NERTAG_FAST_BUDGET_MB overrides.
BUDGET_BYTES = 128 << 20
#: A table that fits the budget only in part is used if it has at least this many rows.
MIN_TABLE_ROWS = 1000
#: A feature whose windows have at most this many combinations is scored ``joint``.
JOINT_MAX = 1 << 20
#: Rows scored at a time: small enough that the (chunk, H) temporaries stay in
#: the CPU cache while the lookups are summed into them (512 was fastest here).
CHUNK = 512

#: ``auto`` tables a feature only if its vectors have at least this many numbers:
#: a lookup costs n·H additions per token whatever d_f is, the product n·d_f·H
#: multiply-adds, and measured here (plan ``probe``) the lookups won for the word
#: vectors (d = 50: 0.7 vs 1.2 µs/token) and lost for 10-number affix vectors.
TABLE_MIN_DIM = 24

PLANS = ("auto", "probe", "light", "tables", "matmul")
_PROBE_CACHE: dict[tuple, dict[str, str]] = {}


def table_budget(default: int | None = None) -> int:
    """Bytes a lookup table may take (``NERTAG_FAST_BUDGET_MB`` overrides the default)."""
    env = os.environ.get("NERTAG_FAST_BUDGET_MB")
    if env:
        return int(float(env) * (1 << 20))
    return BUDGET_BYTES if default is None else default


def x_params(arch: Arch) -> list[str]:
    """The parameters a word's vector e is made from: its embedding tables (and the
    character CNN's)."""
    return [f"E_{name}" for name, _, _ in arch.features] + \
        (list(charcnn.PARAMS) if arch.chars is not None else [])


class ParamSnapshot:
    """What tables derived from parameters were built from: the arrays themselves and a
    copy of their contents.

    ``matches(params)`` is True while each named entry of ``params`` is the same array
    object with the same bytes, so an update in place (as an optimiser step makes) is
    seen.  Comparing with a copy is exact, and at about 10 GB/s it costs 2 ms for the
    20 MB of GloVe-sized embeddings where a CRC checksum took 9 ms on every call; the
    price is the memory of the copy.  A read-only array that owns its data (a model
    loaded with ``read_only=True``) cannot change in place: it is neither copied nor
    compared, only checked to be the same, still read-only, object.
    """

    def __init__(self, params: dict, names):
        self.arrays = {k: params[k] for k in names}
        self.copies = {k: params[k].copy() for k in names if not _frozen(params[k])}

    def matches(self, params: dict) -> bool:
        for k, a in self.arrays.items():
            if params.get(k) is not a:
                return False
            copy = self.copies.get(k)
            if copy is None:
                if not _frozen(a):  # made writable since: it may have changed
                    return False
            elif not _same_bits(a, copy):
                return False
        return True


def _frozen(a: np.ndarray) -> bool:
    """True if nothing can write to ``a``: read-only, and not a view of another array."""
    return not a.flags.writeable and a.flags.owndata


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """True if two arrays have the same shape, dtype and bytes (NaN == NaN, 0.0 != -0.0)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    bits = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}.get(a.dtype.itemsize)
    if bits is None or a.dtype.kind not in "biuf":
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    return bool(np.array_equal(a.view(bits), b.view(bits)))


class TableScorer:
    """Scores of a window model with the first layer as table lookups where that pays.

    ``plan``: a dict {feature: "table" | "joint" | "matmul"}, or
      ``"auto"``    joint for tiny vocabularies; table where it fits the budget and
                    d_f ≥ ``TABLE_MIN_DIM``; matmul otherwise (deterministic, so the
                    same input always gets the same scores, to the last bit);
      ``"probe"``   like auto, but a table wherever a short timing probe on this
                    machine finds the lookups faster than the product;
      ``"light"``   joint for tiny vocabularies, matmul for the rest (no big tables:
                    cheap to build, for small inputs);
      ``"tables"``  joint for tiny vocabularies, table wherever it fits;
      ``"matmul"``  the plain forward (batched for the cache).
    """

    def __init__(self, params: dict, arch: Arch, *, plan: str | dict = "auto",
                 budget_bytes: int | None = None):
        if not isinstance(plan, dict) and plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; use one of {', '.join(PLANS)} or a dict")
        self.arch = arch
        self.params = params
        self.plan_kind = plan if isinstance(plan, str) else "custom"
        budget = table_budget() if budget_bytes is None else budget_bytes
        n, H, D = arch.n, arch.hidden, arch.D
        W = params["W"]
        self.dtype = W.dtype
        Wr = W.reshape(H, n, D)
        self.cols: dict[str, np.ndarray] = {}   # feature -> its columns of W: (H, n, d_f)
        off = 0
        for name, _, d in arch.features:
            self.cols[name] = Wr[:, :, off:off + d]
            off += d
        self.snapshot = ParamSnapshot(params, ["W"] + x_params(arch))
        self.W_char = None  # the character vectors' columns of W: (H, n·m)
        if arch.chars is not None:
            self.W_char = np.ascontiguousarray(Wr[:, :, D - arch.chars.m:].reshape(H, -1))

        # rows of a feature's tables that fit the budget: the vocabularies are sorted by
        # frequency, so a partial table still serves most tokens (the rest use E·Wᵀ)
        cap = budget // (n * H * W.dtype.itemsize)
        self.rows = {name: int(min(V, cap)) for name, V, _ in arch.features}
        fits = {name: self.rows[name] == V or self.rows[name] >= MIN_TABLE_ROWS
                for name, V, _ in arch.features}
        tiny, combos = {}, 1
        for name, V, _ in arch.features:  # joint codes of all joint features fit an int64
            tiny[name] = V ** n <= JOINT_MAX and combos * V ** n < 2 ** 62
            combos *= V ** n if tiny[name] else 1
            if tiny[name]:
                self.rows[name] = V  # small: always whole
        if isinstance(plan, dict):
            self.plan = {name: plan.get(name, "matmul") for name, _, _ in arch.features}
            bad = {v for v in self.plan.values()} - {"table", "joint", "matmul"}
            if bad:
                raise ValueError(f"unknown feature plan {bad.pop()!r}")
        elif plan == "matmul":
            self.plan = {name: "matmul" for name in fits}
        else:
            big = "table" if plan in ("auto", "probe", "tables") else "matmul"
            wide = {name: d >= TABLE_MIN_DIM or plan != "auto" for name, _, d in arch.features}
            self.plan = {name: "joint" if tiny[name] else big if fits[name] and wide[name]
                         else "matmul" for name in fits}
        self.tables: dict[str, np.ndarray] = {
            name: self._table(name) for name, how in self.plan.items() if how != "matmul"}
        if plan == "probe":
            sig = (tuple(arch.features), n, H, str(W.dtype), budget)
            if sig not in _PROBE_CACHE:
                _PROBE_CACHE[sig] = self._probe()
            for name, choice in _PROBE_CACHE[sig].items():
                if choice == "matmul":
                    del self.tables[name]
                self.plan[name] = choice
        self.features = {how: [(f, name) for f, (name, _, _) in enumerate(arch.features)
                               if self.plan[name] == how] for how in ("table", "joint", "matmul")}
        if self.features["matmul"]:  # W's columns of the matmul features in x's order
            self.W_mm = np.ascontiguousarray(np.concatenate(
                [self.cols[name] for _, name in self.features["matmul"]], axis=2).reshape(H, -1))
        else:
            self.W_mm = None

    # ------------------------------------------------------------------ setup
    def _table(self, name: str) -> np.ndarray:
        """T[p] = E_f @ W_{p,f}ᵀ for every window position p: (n, rows, H), for the
        first ``self.rows[name]`` (most frequent) ids of the feature."""
        E = self.params[f"E_{name}"][:self.rows[name]]
        cols = self.cols[name]                          # (H, n, d)
        n = cols.shape[1]
        out = np.empty((n, E.shape[0], cols.shape[0]), dtype=self.dtype)
        for p in range(n):
            np.matmul(E, cols[:, p, :].T, out=out[p])
        return out

    def _probe(self, rows: int = 8 * CHUNK, repeats: int = 3) -> dict[str, str]:
        """Per tabled feature: is the gather-sum faster than its matrix product here?"""
        rng = np.random.default_rng(0)
        n, H, c = self.arch.n, self.arch.hidden, CHUNK
        out = {}
        for name, V, d in self.arch.features:
            if self.plan[name] != "table":
                continue
            # Zipf-like ids (log-uniform), like words in running text
            ids = np.minimum((V ** rng.random((rows, n))).astype(np.int64), V - 1)
            E = self.params[f"E_{name}"]
            Wf = np.ascontiguousarray(self.cols[name].reshape(H, -1))
            z = np.empty((c, H), self.dtype)
            tmp = np.empty_like(z)
            ids_t = np.ascontiguousarray(ids.T)

            def gather():
                for i in range(0, rows, c):
                    z[:] = 0
                    self._add_table(z, tmp, name, ids_t, i)

            def matmul():
                for i in range(0, rows, c):
                    np.matmul(E[ids[i:i + c]].reshape(c, -1), Wf.T, out=z)

            out[name] = "table" if _best(gather, repeats) <= _best(matmul, repeats) \
                else "matmul"
        return out

    # ------------------------------------------------------------------ use
    def _add_table(self, z: np.ndarray, tmp: np.ndarray, name: str, ids: np.ndarray,
                   i: int) -> None:
        """z += Σ_q T_q[ids[q, i:i+B]] for one tabled feature (ids: (n, N) intp); ids past
        a partial table's rows get E[id] W_qᵀ instead."""
        T, rows = self.tables[name], self.rows[name]
        B = len(z)
        for q in range(len(T)):
            idq = ids[q, i:i + B]
            np.take(T[q], idq, axis=0, out=tmp, mode="clip")
            if rows < self.params[f"E_{name}"].shape[0]:
                rare = np.flatnonzero(idq >= rows)
                if len(rare):
                    tmp[rare] = self.params[f"E_{name}"][idq[rare]] @ self.cols[name][:, q, :].T
            z += tmp

    def valid_for(self, params: dict) -> bool:
        """True if ``params`` are (still) the parameters the tables were built from."""
        return self.snapshot.matches(params)

    def _joint_rows(self, X: np.ndarray):
        """One row per distinct combination of the joint features' ids in X (+ b).

        Returns ``(rows (U, H), inverse (N,))`` or ``(None, None)``.
        """
        if not self.features["joint"]:
            return None, None
        n = self.arch.n
        code = np.zeros(len(X), dtype=np.int64)
        digits = []
        for f, name in self.features["joint"]:
            V = self.tables[name].shape[1]
            digits.append((name, V))
            code = code * (V ** n) + X[:, :, f].astype(np.int64) @ (V ** np.arange(n))
        uniq, inverse = np.unique(code, return_inverse=True)
        rows = np.empty((len(uniq), self.arch.hidden), dtype=self.dtype)
        rows[:] = self.params["b"]
        rest = uniq
        for name, V in reversed(digits):
            T = self.tables[name]
            part = rest % (V ** n)
            rest = rest // (V ** n)
            for p in range(n):
                rows += T[p][(part // V ** p) % V]
        return rows, inverse.reshape(-1)

    def scores(self, X: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
        """Scores s: (N, K) for windows X: (N, n, F); equal to :func:`nertag.nn.window.scores`."""
        p, K, H = self.params, self.arch.n_labels, self.arch.hidden
        N = len(X)
        out = np.empty((N, K), dtype=self.dtype)
        if N == 0:
            return out
        F, ch = self.arch.n_features, self.arch.chars
        checks = [(X[:, :, f], name, V) for f, (name, V, _) in enumerate(self.arch.features)]
        if ch is not None:
            checks.append((X[:, :, F:], "characters", ch.A))
        for ids, name, V in checks:  # the lookups clip, so check
            if ids.min() < 0 or ids.max() >= V:
                raise IndexError(f"feature {name}: id out of range of its vocabulary ({V})")
        joint, inverse = self._joint_rows(X)
        mm = [(f, p[f"E_{name}"]) for f, name in self.features["matmul"]]
        # the ids of each tabled feature as contiguous (n, N) index arrays, converted once
        tab = [(np.ascontiguousarray(X[:, :, f].T, dtype=np.intp), name)
               for f, name in self.features["table"]]
        Ut = np.ascontiguousarray(p["U"].T)
        f, _ = activation(self.arch.activation)
        z = np.empty((chunk, H), dtype=self.dtype)
        tmp = np.empty_like(z)
        for i in range(0, N, chunk):
            Xc = X[i:i + chunk]
            B = len(Xc)
            zc, tc = z[:B], tmp[:B]
            if mm:
                parts = [E[Xc[:, :, f]] for f, E in mm]
                x = (np.concatenate(parts, axis=2) if len(parts) > 1 else parts[0]).reshape(B, -1)
                np.matmul(x, self.W_mm.T, out=zc)
                if joint is not None:
                    np.take(joint, inverse[i:i + B], axis=0, out=tc, mode="clip")
                    zc += tc
                else:
                    zc += p["b"]
            elif joint is not None:
                np.take(joint, inverse[i:i + B], axis=0, out=zc, mode="clip")
            else:
                zc[:] = p["b"]
            for ids, name in tab:
                self._add_table(zc, tc, name, ids, i)
            if ch is not None:  # + W_char [v(t−w) … v(t+w)]
                v, _ = charcnn.forward_tokens(Xc[:, :, F:].reshape(B * self.arch.n, -1), p,
                                              ch.activation, grad=False)
                zc += v.reshape(B, -1) @ self.W_char.T
            np.matmul(f(zc, out=zc), Ut, out=out[i:i + B])
        out += p["c"]
        return out

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tables.values())


def _best(fn, repeats: int) -> float:
    fn()  # warm up (page in the table)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best
