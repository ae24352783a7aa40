"""One annotation session: the sentences, the queue, the answers file and the rules of
a decision (what the page's requests do, in plain Python; :mod:`nertag.annotate.app`
puts them on HTTP).

* ``next(client)`` -- the client's sentence (the same one until it answers);
* ``answer(client, id, answer, spans)`` -- appends the decision, then gives the next
  sentence; an id answered already (by this client or another) is refused, as is one
  another client holds now: nothing is ever written over;
* ``undo(client)`` -- appends an ``undo`` record for the client's last decision still
  standing and gives that sentence back to it, with the spans it had.

A write that fails (disk full, read-only) keeps the record in memory, in order, and
every later request tries again first; the sentence counts as answered meanwhile.
``notify`` (the command's) hears of a failure and of the recovery, once each.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left, bisect_right
from typing import Callable

from nertag.annotate.queue import Queue
from nertag.annotate.source import Item
from nertag.annotate.store import ANSWERS, UNDO, AnswerStore, Loaded, answered


class Refused(Exception):
    """A request the session turns down: its HTTP ``status`` and a one-line ``message``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class Session:
    def __init__(self, items: list[Item], labels: list[str], store: AnswerStore,
                 loaded: Loaded, queue: Queue, *,
                 notify: Callable[[str], None] = lambda message: None,
                 clock: Callable[[], float] = time.time):
        self.items, self.labels, self.store, self.queue = items, labels, store, queue
        self.notify, self.clock = notify, clock
        self.index = {item.id: i for i, item in enumerate(items)}
        self.last = loaded.last
        self.decisions = {c: [d for d in ids if d in self.index]
                          for c, ids in loaded.decisions.items()}
        for key, rec in loaded.last.items():
            if key in self.index and answered(rec):
                queue.mark_answered(self.index[key])
        self.pending: list[dict] = []  # records not written yet, in order
        self.write_error: str | None = None
        #: The held-back F1 (0..1) of the last retrain's model (None: no retrain yet) and
        #: whether that model was taken into use (set by :mod:`nertag.annotate.retrain`).
        self.retrain_f1: float | None = None
        self.retrain_used: bool | None = None
        #: Called after each answer is recorded, with the lock held (the retrainer's hook).
        self.after_answer: Callable[[], None] | None = None
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ requests
    def next(self, client: str) -> dict:
        with self.lock:
            self._flush()
            return self._answer_body(client)

    def answer(self, client: str, key: str, answer: str, spans: list) -> dict:
        with self.lock:
            self._flush()
            i = self._index(key)
            if answer not in ANSWERS:
                raise Refused(422, f"answer {answer!r}: use one of {', '.join(ANSWERS)}")
            if answered(self.last.get(key)):
                raise Refused(409, "this sentence was answered already (in another tab or "
                                   "browser, or before); nothing was written; here is the next")
            other = self.queue.holder.get(i)
            if other is not None and other != client:
                raise Refused(409, "another tab or browser holds this sentence now; nothing "
                                   "was written; here is the next")
            item = self.items[i]
            record = self._record(item, client, answer, self._char_spans(item, spans))
            self._write(record)
            self.queue.mark_answered(i)
            self.decisions.setdefault(client, []).append(key)
            if self.after_answer is not None:
                self.after_answer()
            return self._answer_body(client)

    def undo(self, client: str) -> dict:
        with self.lock:
            self._flush()
            mine = self.decisions.get(client) or []
            if not mine:
                raise Refused(409, "nothing to undo: this tab's decisions are all undone")
            key = mine.pop()
            i = self.index[key]
            before = self.last[key]
            self._write(self._record(self.items[i], client, UNDO, []))
            self.queue.undo(i, client)
            body = self._answer_body(client)
            body["item"]["spans"] = self._token_spans(self.items[i], [
                (s["start"], s["end"], s["label"], None) for s in before.get("spans", [])])
            body["undone"] = before["answer"]
            return body

    # ------------------------------------------------------------------ the file
    def _write(self, record: dict) -> None:
        self.last[record["id"]] = record
        self.pending.append(record)
        self._flush()

    def _flush(self) -> None:
        while self.pending:
            try:
                self.store.append(self.pending[0])
            except OSError as e:
                first = self.write_error is None
                self.write_error = (f"{self.store.path}: cannot write ({e.strerror or e}); "
                                    f"{len(self.pending)} answer(s) kept in memory, retried "
                                    f"at every next step; free some space or fix the "
                                    f"permissions, and keep this server running")
                if first:
                    self.notify(self.write_error)
                return
            self.pending.pop(0)
        if self.write_error is not None:
            self.write_error = None
            self.notify(f"{self.store.path}: written again; no answer was lost")

    def close(self) -> list[dict]:
        """A last try at the records not written; returns those that still are not."""
        with self.lock:
            self._flush()
            self.store.close()
            return list(self.pending)

    # ------------------------------------------------------------------ helpers
    def _index(self, key) -> int:
        if not isinstance(key, str) or key not in self.index:
            raise Refused(404, f"no sentence {str(key)[:40]!r} in this session; reload the page")
        return self.index[key]

    def _record(self, item: Item, client: str, answer: str, spans: list) -> dict:
        return {"id": item.id, "text": item.text, "tokens": item.token_json(),
                "spans": spans, "answer": answer,
                "meta": {"source": item.source, "offset": item.offset},
                "client": client, "ts": round(self.clock(), 3)}

    def _char_spans(self, item: Item, spans) -> list[dict]:
        """The page's spans (``token_start``, ``token_end`` inclusive, ``label``) checked
        and given their character offsets."""
        if not isinstance(spans, list):
            raise Refused(422, '"spans" must be a list of {"token_start", "token_end", "label"}')
        out, n = [], len(item.tokens)
        for s in spans:
            a, b = (s.get("token_start"), s.get("token_end")) if isinstance(s, dict) \
                else (None, None)
            label = s.get("label") if isinstance(s, dict) else None
            if not (isinstance(a, int) and isinstance(b, int) and 0 <= a <= b < n):
                raise Refused(422, f"span {str(s)[:60]}: token_start and token_end must be "
                                   f"token numbers from 0 to {n - 1}")
            if label not in self.labels:
                raise Refused(422, f"span label {str(label)[:30]!r}: not one of "
                                   f"{', '.join(self.labels)}")
            out.append({"start": item.tokens[a][1], "end": item.tokens[b][2], "label": label,
                        "token_start": a, "token_end": b})
        out.sort(key=lambda s: s["start"])
        for x, y in zip(out, out[1:]):
            if y["token_start"] <= x["token_end"]:
                raise Refused(422, "two spans overlap; each token has one label at most")
        return out

    @staticmethod
    def _token_spans(item: Item, spans) -> list[dict]:
        starts = [t[1] for t in item.tokens]
        ends = [t[2] for t in item.tokens]
        out = []
        for s, e, label, score in spans:
            a, b = bisect_left(starts, s), bisect_right(ends, e) - 1
            if a <= b:
                out.append({"token_start": a, "token_end": b, "label": label,
                            "score": None if score is None else round(score, 3)})
        return out

    def progress(self) -> dict:
        return {"answered": self.queue.answered, "remaining": self.queue.remaining,
                "total": self.queue.n, "unsaved": len(self.pending),
                "retrain_f1": self.retrain_f1, "retrain_used": self.retrain_used}

    def _answer_body(self, client: str) -> dict:
        i = self.queue.take(client)
        body: dict = {"item": None, "progress": self.progress(), "warning": self.write_error,
                      "can_undo": bool(self.decisions.get(client))}
        if i is not None:
            item = self.items[i]
            body["item"] = {"id": item.id, "text": item.text, "context": item.context,
                            "source": item.source, "offset": item.offset,
                            "tokens": [[t, a, b] for t, a, b in item.tokens],
                            "spans": self._token_spans(item, item.spans)}
        return body


def open_session(inputs: list[str], output: str, *, model: str | None = None,
                 labels: list[str] = (), order: str = "as-is", random_share: float = 0.1,
                 seed: int = 0, sentences: str = "auto", encoding: str = "utf-8",
                 notify: Callable[[str], None] = lambda message: None):
    """Check and read the inputs, lock ``output``, load the model, tag the sentences and
    read the answers so far: ``(session, lock, notes)``; release the lock when done."""
    from nertag.annotate.source import check_inputs, read_items, read_text
    from nertag.annotate.store import OutputLock
    from nertag.api import load

    from nertag.errors import UsageError
    from nertag.text.tags import label_problem

    check_inputs(inputs)
    for name in labels:
        problem = label_problem(name)
        if problem:
            raise UsageError(f"label {name!r}: {problem}", inputs=("labels",))
    texts = [read_text(name, encoding) for name in inputs]  # every file checked first
    lock = OutputLock(output).acquire()
    try:
        tagger = load(model)
        names = list(tagger.labels) + [x for x in labels if x not in tagger.labels]
        items = read_items(tagger, inputs, texts, sentences=sentences)
        store = AnswerStore(output)
        loaded = store.load()
        queue = Queue([item.score for item in items], order, random_share=random_share,
                      seed=seed)
        return Session(items, names, store, loaded, queue, notify=notify), lock, loaded.notes
    except BaseException:
        lock.release()
        raise
