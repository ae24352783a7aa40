"""One word-type table for all the worker processes of ``nertag tag --jobs N``.

Each worker meets most of the text's word types (in news text the frequent words are
everywhere), and a new type costs its feature ids (Python, per feature) and its rows of
G (a product of its own, see :mod:`nertag.inference.word_types`): with a table per
worker, every worker computed nearly every type again.  :func:`share` gives a model a
table in shared memory before the workers are forked: a type is computed once, by the
first worker that meets it, and the others use its rows.  A type's rows are the same
bits whoever computes them, so sharing changes no output, only time and memory (the
table is in memory once, not once per worker).

The table has ``capacity`` slots (0 and 1 are the sentence padding).  A worker takes
slots for the new types of a batch from a shared counter, computes their feature ids
and rows, and marks them ready; before taking slots it adopts the types the others have
made ready since it last looked.  Two workers that meet a type at the same time both
compute it (the same bits); the first slot wins.  Types that do not fit (the table is
full, or a word longer than ``WORD_BYTES`` in UTF-8) stay private to the worker, as
types past the table of one process do.  The counter and the ready marks change under a
lock, which also orders the writes of the rows before their use in another process.
"""

from __future__ import annotations

import mmap
import multiprocessing
from typing import Sequence

import numpy as np

from nertag.inference.word_types import (TYPE_BUDGET_BYTES, WORD_CACHE_SIZE, WordCache,
                                         WordTypeScorer, table_budget)
from nertag.text.features import END, START

#: Longest word (UTF-8 bytes) kept in the shared table.
WORD_BYTES = 48
#: The shared table may be this much bigger than one process's (it replaces one per worker).
SHARED_BUDGET_FACTOR = 1.5


class TypeStore:
    """Feature ids, rows of G and words of ``capacity`` types, in shared memory."""

    def __init__(self, n: int, hidden: int, n_features: int, dtype, capacity: int):
        self.capacity = C = capacity
        dtype = np.dtype(dtype)
        parts = [("type_rows", dtype, (n, C, hidden)), ("feats", np.int32, (C, n_features)),
                 ("words", np.uint8, (C, WORD_BYTES)), ("length", np.uint8, (C,)),
                 ("ready", np.uint8, (C,)), ("counter", np.int64, (1,))]
        offsets, total = [], 0
        for _, dt, shape in parts:
            total = -(-total // 64) * 64
            offsets.append(total)
            total += int(np.prod(shape)) * np.dtype(dt).itemsize
        self._buf = mmap.mmap(-1, max(total, 1))  # anonymous and shared with forked children
        for (name, dt, shape), offset in zip(parts, offsets):
            setattr(self, name, np.frombuffer(self._buf, dt, int(np.prod(shape)),
                                              offset).reshape(shape))
        self.lock = multiprocessing.get_context("fork").Lock()
        self.counter[0] = 2  # slots 0 and 1: the sentence padding (filled by share())

    def take(self, k: int) -> range:
        """Up to ``k`` free slots for this process's new types."""
        with self.lock:
            a = int(self.counter[0])
            b = min(a + k, self.capacity)
            self.counter[0] = b
        return range(a, b)

    def publish(self, slots: Sequence[int]) -> None:
        with self.lock:
            self.ready[np.asarray(slots, dtype=np.intp)] = 1

    def ready_since(self, start: int) -> tuple[int, np.ndarray]:
        """``(stop, ready)``: the slots taken so far end at ``stop``; which of
        ``start:stop`` are ready."""
        with self.lock:
            stop = int(self.counter[0])
            return stop, self.ready[start:stop].copy()


class SharedWordCache(WordCache):
    """A :class:`WordCache` whose types are slots of a :class:`TypeStore` (numbers below
    its capacity) or private (numbers from the capacity up)."""

    def __init__(self, featurizer, store: TypeStore, max_words: int = WORD_CACHE_SIZE):
        self.store = store
        self.pending: list[int] = []  # own slots whose rows are not computed yet
        self.adopted = 2  # slots before this one have been looked at
        self.index = {}
        super().__init__(featurizer, max_words)

    def clear(self) -> None:
        """The private types start again; the shared ones stay."""
        C = self.store.capacity
        self.index = {w: k for w, k in self.index.items() if k < C}
        self.rows = np.empty((1024, self.featurizer.word_columns), dtype=np.int32)
        self.size = C  # the next private number
        self.generation += 1

    def _adopt(self) -> None:
        """The types other processes made ready since the last look."""
        store, index = self.store, self.index
        stop, ready = store.ready_since(self.adopted)
        waiting = np.flatnonzero(ready == 0)
        stop = self.adopted + (int(waiting[0]) if len(waiting) else len(ready))
        for k in range(self.adopted, stop):
            word = store.words[k, :store.length[k]].tobytes().decode("utf-8", "surrogatepass")
            index.setdefault(word, k)
        self.adopted = stop

    def types(self, words: Sequence[str]) -> np.ndarray:
        index = self.index
        try:
            return np.fromiter(map(index.__getitem__, words), dtype=np.intp, count=len(words))
        except KeyError:
            pass
        self._adopt()
        new = [w for w in dict.fromkeys(words) if w not in index]
        if new:
            encoded = [w.encode("utf-8", "surrogatepass") for w in new]
            fits = [i for i, b in enumerate(encoded) if len(b) <= WORD_BYTES]
            slots = self.store.take(len(fits))
            shared = [new[i] for i in fits[:len(slots)]]
            if shared:
                store, sl = self.store, slice(slots.start, slots.stop)
                self.features_of(shared, out=store.feats[sl])
                for k, i in zip(slots, fits):
                    store.words[k, :len(encoded[i])] = np.frombuffer(encoded[i], np.uint8)
                    store.length[k] = len(encoded[i])
                index.update(zip(shared, slots))
                self.pending.extend(slots)
            private = [w for w in new if w not in index]
            if private:
                self._private(private, words)  # (it may start the private types again)
        return np.fromiter(map(self.index.__getitem__, words), dtype=np.intp, count=len(words))

    def _private(self, new: list[str], words: Sequence[str]) -> None:
        C = self.store.capacity
        if self.size - C + len(new) > self.max_words:
            self.clear()
            new = [w for w in dict.fromkeys(words) if w not in self.index]
        n0, need = self.size - C, self.size - C + len(new)
        if need > len(self.rows):
            grown = np.empty((max(need, 2 * len(self.rows)), self.rows.shape[1]), np.int32)
            grown[:n0] = self.rows[:n0]
            self.rows = grown
        self.features_of(new, out=self.rows[n0:need])
        self.index.update(zip(new, range(self.size, self.size + len(new))))
        self.size += len(new)

    def feature_rows(self, types: np.ndarray) -> np.ndarray:
        types = np.asarray(types, dtype=np.intp)
        C = self.store.capacity
        out = np.empty((len(types), self.store.feats.shape[1]), dtype=np.int32)
        shared = types < C
        out[shared] = self.store.feats[types[shared]]
        out[~shared] = self.rows[types[~shared] - C]
        return out


class SharedTypeScorer(WordTypeScorer):
    """A :class:`WordTypeScorer` whose table G is the store's: it computes the rows of its
    own new slots and marks them ready."""

    def __init__(self, params: dict, arch, cache: SharedWordCache):
        super().__init__(params, arch, cache, budget_bytes=0)
        self.type_rows, self.capacity = cache.store.type_rows, cache.store.capacity
        self.over_in_table = False  # (the store has no room for the rows past it)

    def _fill(self) -> None:
        if self.generation != self.cache.generation:  # the private types started again
            self.generation = self.cache.generation
            self.over_slot.clear()
        pending = self.cache.pending
        for a in range(0, len(pending), 2048):
            slots = np.asarray(pending[a:a + 2048], dtype=np.intp)
            self.type_rows[:, slots] = self._rows(slots)
        if pending:
            self.cache.store.publish(pending)
            pending.clear()


def share(model, budget_bytes: int | None = None) -> None:
    """Give ``model`` (tagging with ``fast_inference``) a word-type table in shared memory,
    used by the processes forked from now on (and by this one)."""
    n, H = model.arch.n, model.arch.hidden
    itemsize = model.params["W"].dtype.itemsize
    budget = budget_bytes if budget_bytes is not None else \
        int(table_budget(TYPE_BUDGET_BYTES) * SHARED_BUDGET_FACTOR)
    store = TypeStore(n, H, model.featurizer.word_columns, model.params["W"].dtype,
                      max(2, budget // (n * H * itemsize)))
    store.feats[0], store.feats[1] = START, END
    cache = SharedWordCache(model.featurizer, store)
    scorer = SharedTypeScorer(model.params, model.arch, cache)
    store.type_rows[:, :2] = scorer._rows(np.arange(2))
    store.ready[:2] = 1
    model._words, model._types = cache, scorer
