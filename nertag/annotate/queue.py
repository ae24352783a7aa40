"""Which sentence a client gets next, and who holds which (leases).

Orders (``--order``):

* ``as-is`` -- the files' order;
* ``random`` -- a shuffle drawn with ``--seed``;
* ``uncertain`` -- the sentence the model is least sure of first (lowest score, see
  :mod:`nertag.annotate.source`; ties in file order), except that a share
  ``random_share`` of the picks (drawn with ``--seed``) is a random sentence instead, so
  the answers also cover what the model is sure of.

Each sentence handed out is *leased* to one client (a browser tab) for
``lease_seconds``; nobody else gets it meanwhile.  A lease ends when the client
answers, when it expires (the sentence goes back at its rank), or when the client asks
again (it gets the same sentence: a page reloaded shows what it showed).

:meth:`Queue.rerank` is the hook for a retrained model's new scores: the sentences not
answered are ordered again, the answered ones stay answered.
"""

from __future__ import annotations

import heapq
import random
import time
from typing import Callable, Sequence

ORDERS = ("as-is", "uncertain", "random")
#: Seconds a client holds a sentence it was given and has not answered.
LEASE_SECONDS = 600.0


class Queue:
    """Sentences ``0..n-1``; ``scores[i]``: sentence i's certainty (for ``uncertain``)."""

    def __init__(self, scores: Sequence[float], order: str = "as-is", *,
                 random_share: float = 0.1, seed: int = 0,
                 lease_seconds: float = LEASE_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        if order not in ORDERS:
            raise ValueError(f"order {order!r}: use one of {', '.join(ORDERS)}")
        if not 0.0 <= random_share <= 1.0:
            raise ValueError(f"random_share {random_share!r}: must be from 0 to 1")
        self.n, self.order = len(scores), order
        self.random_share = random_share if order == "uncertain" else 0.0
        self.lease_seconds, self.clock = lease_seconds, clock
        self.rng = random.Random(seed)
        self.shuffled = list(range(self.n))
        self.rng.shuffle(self.shuffled)
        self.done = bytearray(self.n)
        self.answered = 0
        self.leases: dict[str, tuple[int, float]] = {}  # client -> (sentence, expiry)
        self.holder: dict[int, str] = {}  # sentence -> client
        self.rerank(scores)

    def rerank(self, scores: Sequence[float]) -> None:
        """Order the sentences again (``uncertain``: by these scores)."""
        if self.order == "uncertain":
            self.ranked = sorted(range(self.n), key=lambda i: (scores[i], i))
        elif self.order == "random":
            self.ranked = list(self.shuffled)
        else:
            self.ranked = list(range(self.n))
        self.rank = {i: r for r, i in enumerate(self.ranked)} if self.order != "as-is" \
            else None
        self._next = self._next_random = 0
        self._back: list[tuple[int, int]] = []  # (rank, sentence) handed back

    def _rank(self, i: int) -> int:
        return i if self.rank is None else self.rank[i]

    def free(self, i: int) -> bool:
        return not self.done[i] and i not in self.holder

    @property
    def remaining(self) -> int:
        return self.n - self.answered

    def take(self, client: str) -> int | None:
        """The sentence for ``client`` (leased to it), or None: none is left for it."""
        self._expire()
        now = self.clock()
        held = self.leases.get(client)
        if held is not None:
            self.leases[client] = (held[0], now + self.lease_seconds)
            return held[0]
        i = None
        if self.random_share and self.rng.random() < self.random_share:
            i = self._pick_random()
        if i is None:
            i = self._pick_ranked()
        if i is not None:
            self.leases[client] = (i, now + self.lease_seconds)
            self.holder[i] = client
        return i

    def _pick_ranked(self) -> int | None:
        while self._next < self.n and not self.free(self.ranked[self._next]):
            self._next += 1
        while self._back and not self.free(self._back[0][1]):
            heapq.heappop(self._back)
        if self._back and (self._next >= self.n or self._back[0][0] < self._next):
            return heapq.heappop(self._back)[1]
        return self.ranked[self._next] if self._next < self.n else None

    def _pick_random(self) -> int | None:
        while self._next_random < self.n and not self.free(self.shuffled[self._next_random]):
            self._next_random += 1
        return self.shuffled[self._next_random] if self._next_random < self.n else None

    def holds(self, client: str, i: int) -> bool:
        held = self.leases.get(client)
        return held is not None and held[0] == i

    def release(self, client: str) -> None:
        """``client``'s lease ends; its sentence goes back at its rank (if unanswered)."""
        held = self.leases.pop(client, None)
        if held is not None:
            del self.holder[held[0]]
            if not self.done[held[0]]:
                heapq.heappush(self._back, (self._rank(held[0]), held[0]))

    def _expire(self) -> None:
        now = self.clock()
        for client in [c for c, (_, until) in self.leases.items() if until <= now]:
            self.release(client)

    def mark_answered(self, i: int) -> None:
        """Sentence ``i`` is answered: never handed out again (unless undone)."""
        if not self.done[i]:
            self.done[i] = 1
            self.answered += 1
        client = self.holder.get(i)
        if client is not None:
            self.release(client)

    def undo(self, i: int, client: str) -> None:
        """Sentence ``i``'s answer is taken back: it is leased to ``client`` at once."""
        if self.done[i]:
            self.done[i] = 0
            self.answered -= 1
        self.release(client)
        other = self.holder.get(i)
        if other is not None:
            self.release(other)
        self.leases[client] = (i, self.clock() + self.lease_seconds)
        self.holder[i] = client
