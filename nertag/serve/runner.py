"""The one thread of a worker process that owns its :class:`~nertag.api.Tagger`.

A Tagger is not thread-safe, and tagging is CPU-bound NumPy: each worker process
gives its Tagger to a single thread, so the event loop stays free to read and
answer requests meanwhile.  Requests that arrive while the thread is busy wait
together and are then tagged in one ``Tagger.pipe`` call (as long as they ask for
the same decoder and sentence mode): a model call on a few sentences costs little
more than on one (the Viterbi decoder steps through the positions of all the
batch's sentences at once), so under load a worker answers many more requests.
"""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from nertag.serve.schema import SENTENCE_MODES, TagRequest, response_body

#: Characters of text tagged together at most (more waits for the next call).
BATCH_CHARS = 256 * 1024
#: After answering a batch of n requests, wait at most this long (seconds) for n
#: requests to be waiting before the next model call (see :meth:`TagRunner._gather`).
GATHER_S = 0.005


@dataclass
class _Job:
    request: TagRequest
    future: asyncio.Future
    chars: int


class TagRunner:
    """``await runner.tag(request)`` → the response body, tagged on the runner's thread."""

    def __init__(self, tagger, batch_chars: int = BATCH_CHARS):
        self.tagger = tagger
        #: The ``sentences`` values requests may ask for (a Tagger takes them all).
        self.modes: tuple[str, ...] = SENTENCE_MODES
        self.batch_chars = batch_chars
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="nertag-tagger")
        self._waiting: deque[_Job] = deque()
        self._drainer: asyncio.Task | None = None
        self._arrived = asyncio.Event()
        self.active = 0  # requests given to tag() and not yet answered
        self.calls = 0  # model calls so far (each tags one or more requests)
        self.requests = 0

    @property
    def busy(self) -> bool:
        """Is this worker tagging other requests than the caller's (just answered)?"""
        return self.active > 0

    @property
    def waiting(self) -> int:
        """Requests waiting for the tagging thread (not counting those it is tagging)."""
        return len(self._waiting)

    async def tag(self, request: TagRequest) -> bytes:
        loop = asyncio.get_running_loop()
        job = _Job(request, loop.create_future(), sum(map(len, request.texts)))
        self._waiting.append(job)
        self._arrived.set()
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        self.active += 1
        try:
            return await job.future
        finally:
            self.active -= 1

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch = self._take()
                try:
                    results = await loop.run_in_executor(self._thread, self._run, batch)
                except asyncio.CancelledError:  # shutting down
                    for job in batch + list(self._waiting):
                        job.future.cancel()
                    raise
                except Exception as e:
                    results = [e] * len(batch)
                for job, result in zip(batch, results):
                    if job.future.done():
                        continue
                    if isinstance(result, BaseException):
                        job.future.set_exception(result)
                    else:
                        job.future.set_result(result)
                n = len(batch) + len(self._waiting)  # those answered come back
                if n > 1:
                    await self._gather(n)
        finally:
            self._drainer = None

    async def _gather(self, n: int) -> None:
        """Wait up to :data:`GATHER_S` for ``n`` requests to be waiting.

        Under load the same clients come back: those just answered send their next
        requests within a fraction of a millisecond.  Tagging at once whatever is waiting
        would split them into two alternating half-size calls; a model call costs about
        the same for 2 sentences as for 8 (the decoder steps through the positions of all
        of them at once), so the runner waits for the requests it just answered plus
        those already waiting (``n``), which nearly doubles the requests answered per
        second.  One client alone never waits (``n`` = 1)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATHER_S
        while len(self._waiting) < n and (left := deadline - loop.time()) > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                return

    def _take(self) -> list[_Job]:
        """The first waiting job, and the others with its options up to ``batch_chars``."""
        first = self._waiting.popleft()
        batch, size, rest = [first], first.chars, deque()
        while self._waiting:
            job = self._waiting.popleft()
            if job.request.options == first.request.options and size + job.chars <= \
                    self.batch_chars and not job.future.done():
                batch.append(job)
                size += job.chars
            elif not job.future.done():
                rest.append(job)
        self._waiting = rest
        return batch

    def _run(self, batch: list[_Job]) -> list:
        """On the tagger's thread: the response body of each job, or its exception."""
        try:
            return self._tag_together(batch)
        except Exception:
            if len(batch) == 1:
                raise
        out: list = []  # one failed: find which, tagging each alone
        for job in batch:
            try:
                out.extend(self._tag_together([job]))
            except Exception as e:
                out.append(e)
        return out

    def _tag_together(self, batch: list[_Job]) -> list[bytes]:
        decoder, sentences, min_score = batch[0].request.options
        texts = [t for job in batch for t in job.request.texts]
        docs = list(self.tagger.pipe(texts, batch_size=max(len(texts), 1), decoder=decoder,
                                     sentences=sentences, min_score=min_score))
        self.calls += 1
        self.requests += len(batch)
        out, i = [], 0
        for job in batch:
            n = len(job.request.texts)
            out.append(response_body(docs[i:i + n], job.request.tokens))
            i += n
        return out

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
