"""nertag.serve.runner: requests waiting together are tagged in one call on one thread,
each gets its own answer, and a failure stays with the request that caused it."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from nertag.serve.runner import TagRunner
from nertag.serve.schema import TagRequest


class Recording:
    """A Tagger (with Tagger.pipe's signature) that remembers which thread called it and
    with what."""

    def __init__(self, tagger, fail_on=None):
        self.tagger, self.fail_on = tagger, fail_on
        self.calls: list[tuple[list[str], str | None]] = []
        self.sentences: list[str] = []
        self.threads: set[int] = set()

    def pipe(self, texts, batch_size=1000, *, decoder=None, sentences="auto", min_score=None):
        texts = list(texts)
        self.calls.append((texts, decoder))
        self.sentences.append(sentences)
        self.threads.add(threading.get_ident())
        if self.fail_on in texts:
            raise ValueError("boom")
        return self.tagger.pipe(texts, batch_size, decoder=decoder, sentences=sentences)


def run_all(runner: TagRunner, requests: list[TagRequest]) -> list:
    async def main():
        return await asyncio.gather(*(runner.tag(r) for r in requests), return_exceptions=True)

    try:
        return asyncio.run(main())
    finally:
        runner.close()


def entities(body: bytes) -> list[list[str]]:
    return [[e["text"] for s in d["sentences"] for e in s["entities"]]
            for d in json.loads(body)["docs"]]


def test_requests_waiting_together_share_model_calls(tagger):
    rec = Recording(tagger)
    texts = [f"Mr. Whitcombe {i} flew to Ohio." for i in range(20)]
    reqs = [TagRequest([t]) for t in texts] + [TagRequest(texts[:3], decoder="greedy"),
                                               TagRequest(["Paris."], tokens=True)]
    out = run_all(TagRunner(rec), reqs)
    own = lambda text, decoder=None: [e.text for e in tagger(text, decoder=decoder).ents]  # noqa
    assert [entities(b) for b in out[:20]] == [[own(t)] for t in texts]
    assert entities(out[20]) == [own(t, "greedy") for t in texts[:3]]
    assert "tokens" in json.loads(out[21])["docs"][0]["sentences"][0]
    assert len(rec.calls) < len(reqs) and len(rec.threads) == 1
    assert threading.get_ident() not in rec.threads  # never on the event loop's thread
    for texts_, decoder in rec.calls:  # one decoder per call
        assert decoder in (None, "greedy")
    assert sorted(t for c, d in rec.calls if d == "greedy" for t in c) == sorted(texts[:3])


def test_busy_while_other_requests_are_in_flight(tagger):
    runner = TagRunner(tagger)
    seen = []

    async def client(text):
        body = await runner.tag(TagRequest([text]))
        seen.append(runner.busy)  # after its own answer: others still in flight?
        return body

    async def main():
        return await asyncio.gather(*(client(f"Paris {i}.") for i in range(4)))

    try:
        asyncio.run(main())
    finally:
        runner.close()
    assert seen == [True, True, True, False] and runner.active == 0


def test_a_failing_request_fails_alone(tagger):
    rec = Recording(tagger, fail_on="bad")
    out = run_all(TagRunner(rec), [TagRequest(["Paris."]), TagRequest(["bad"]),
                                   TagRequest(["Geneva."])])
    assert entities(out[0]) == [["Paris"]] and entities(out[2]) == [["Geneva"]]
    assert isinstance(out[1], ValueError)


def test_a_batch_is_bounded_in_characters(tagger):
    rec = Recording(tagger)
    reqs = [TagRequest(["Paris. " * 100]) for _ in range(5)]
    run_all(TagRunner(rec, batch_chars=1500), reqs)
    assert max(sum(map(len, c)) for c, _ in rec.calls) <= 1500


def test_each_request_s_sentence_mode_is_passed_to_the_tagger(tagger):
    rec = Recording(tagger)
    runner = TagRunner(rec)
    assert runner.modes == ("blank", "line", "auto")
    run_all(runner, [TagRequest(["Paris."], sentences="line")])
    assert rec.sentences == ["line"]


@pytest.fixture(scope="module")
def tagger():
    import nertag

    return nertag.load()


def test_after_a_batch_of_n_it_waits_briefly_for_n_requests(tagger, monkeypatch):
    import time

    from nertag.serve import runner as runner_module

    monkeypatch.setattr(runner_module, "GATHER_S", 0.2)
    runner = TagRunner(tagger)

    async def main():
        t = time.monotonic()
        await runner._gather(2)  # nobody comes: gives up after GATHER_S
        alone = time.monotonic() - t
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, runner._waiting.append, "job 1")
        loop.call_later(0.02, lambda: (runner._waiting.append("job 2"), runner._arrived.set()))
        t = time.monotonic()
        await runner._gather(2)  # both came: goes on at once
        return alone, time.monotonic() - t

    try:
        alone, together = asyncio.run(main())
    finally:
        runner.close()
    assert 0.15 < alone < 1 and together < 0.15
