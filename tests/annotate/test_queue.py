"""The orders and the leases of the annotation queue."""

from __future__ import annotations

import pytest

from nertag.annotate.queue import Queue


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def drain(q: Queue, client: str = "c") -> list[int]:
    out = []
    while (i := q.take(client)) is not None:
        out.append(i)
        q.mark_answered(i)
    return out


SCORES = [0.9, 0.2, 1.0, 0.5, 0.2, 0.99]


def test_as_is_is_the_files_order():
    assert drain(Queue(SCORES, "as-is")) == [0, 1, 2, 3, 4, 5]


def test_uncertain_without_random_picks_is_lowest_score_first_ties_in_file_order():
    assert drain(Queue(SCORES, "uncertain", random_share=0.0)) == [1, 4, 3, 0, 5, 2]


def test_random_is_a_seeded_shuffle():
    a, b = drain(Queue(SCORES, "random", seed=3)), drain(Queue(SCORES, "random", seed=3))
    assert a == b and sorted(a) == list(range(6))
    assert any(drain(Queue(SCORES, "random", seed=s)) != a for s in range(4, 10))


def test_uncertain_mixes_in_a_share_of_seeded_random_picks():
    scores = [i / 1000 for i in range(1000)]
    picks = drain(Queue(scores, "uncertain", random_share=0.2, seed=1))
    assert sorted(picks) == list(range(1000))
    assert picks == drain(Queue(scores, "uncertain", random_share=0.2, seed=1))
    # the first 100 picks: about 80 from the front of the ranking, about 20 from anywhere
    off_rank = sum(p >= 100 for p in picks[:100])
    assert 10 <= off_rank <= 30


def test_a_client_keeps_its_sentence_until_it_answers_and_others_get_others():
    q = Queue(SCORES)
    assert q.take("a") == 0 and q.take("a") == 0
    assert q.take("b") == 1
    q.mark_answered(0)
    assert q.take("a") == 2 and q.answered == 1 and q.remaining == 5


def test_an_expired_lease_goes_back_at_its_rank():
    clock = Clock()
    q = Queue(SCORES, lease_seconds=600, clock=clock)
    assert q.take("a") == 0
    clock.now = 601
    assert q.take("b") == 0  # a's lease ran out: the first sentence is free again
    assert not q.holds("a", 0) and q.holds("b", 0)


def test_undo_gives_the_sentence_back_to_the_client_and_its_next_goes_back():
    q = Queue(SCORES)
    assert q.take("a") == 0
    q.mark_answered(0)
    assert q.take("a") == 1
    q.undo(0, "a")
    assert q.answered == 0 and q.take("a") == 0
    assert q.take("b") == 1  # the sentence a held before its undo is free again


def test_rerank_orders_what_is_left_again():
    q = Queue(SCORES, "uncertain", random_share=0.0)
    assert q.take("a") == 1
    q.mark_answered(1)
    q.rerank([0.0, 0.0, 0.1, 0.9, 0.9, 0.05])
    assert drain(q, "a") == [0, 5, 2, 3, 4]


@pytest.mark.parametrize("kw", [{"order": "best"}, {"random_share": 1.5}])
def test_bad_options(kw):
    with pytest.raises(ValueError):
        Queue(SCORES, **kw)
