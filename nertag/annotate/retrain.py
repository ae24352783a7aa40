"""Retraining while annotating (``nertag annotate --retrain-every N``).

After every ``every`` new accepted answers (the count of ids whose last record is an
``accept``, taken when the previous retrain started), :class:`Retrainer` writes the
accepted answers to a folder of its own, ``<output>.models/NNN/``, split by
:func:`held_back`: a share ``holdout`` of the sentences (by a hash of their id, so a
sentence stays on its side as the answers grow) is kept out of the training data to
compare the models on. It then starts :mod:`nertag.annotate.retrain_job` as a process
(``python -m``, in a session of its own: training is CPU-bound, a process does not slow
the server's thread, its first-stage workers are killed with it, and a crash is an exit
status, not a dead server). A thread of this process waits for it and, when the job
ends:

* the new model beats the one in use on the held-back answers: it is used from now on
  (the next retrain continues it), the sentences not answered get its spans and scores,
  and the queue is re-ranked (:meth:`nertag.annotate.queue.Queue.rerank`);
* it does not (a tie included): the model in use stays, the new one's folder is deleted;
* it failed: one line says so (the job's log is kept), and annotation goes on.

Either way :attr:`Session.retrain_f1` gets the new model's held-back F1 (the page shows
it) and ``notify`` one line. One retrain runs at a time: answers that come meanwhile
count toward the next one, which starts at once if they are enough already.
:meth:`Retrainer.close` kills a running job (SIGTERM, then SIGKILL after ``kill_wait``
seconds) and removes its folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

from nertag.annotate.retrain_job import RESULT
from nertag.annotate.session import Session

#: The held-back share of the accepted answers (``--holdout``).
HOLDOUT = 0.2
#: ``train`` overrides of a retrain (docs/annotate.md: 400 answers with rehearsal in
#: well under 30 s on 2 cores).
OVERRIDES = ("train.epochs=5",)
#: Seconds a killed job gets to end after SIGTERM before SIGKILL.
KILL_WAIT = 5.0


def held_back(key: str, share: float) -> bool:
    """Whether sentence ``key`` is held back: a hash of the id below ``share``."""
    digest = hashlib.sha256(f"holdout\0{key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64 < share


def models_dir(output: str | os.PathLike) -> Path:
    """``<output>.models``: where the retrains' folders go."""
    output = Path(output)
    return output.with_name(output.name + ".models")


def read_result(job: Path, status: int) -> dict:
    """The job's ``result.json``, or an error naming the exit ``status``."""
    try:
        return json.loads((job / RESULT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"error": f"the process ended with status {status} and no result"}


def retagged(session: Session, spans: dict) -> None:
    """A new model's ``spans`` and margins (by id, as
    :func:`nertag.annotate.retrain_job.retag` gives them) on the sentences not answered,
    and the queue re-ranked by their scores."""
    for i, item in enumerate(session.items):
        if item.id in spans and not session.queue.done[i]:
            item.spans = [(int(a), int(b), str(label), float(score))
                          for a, b, label, score in spans[item.id]["spans"]]
            item.margin = float(spans[item.id]["margin"])
    session.queue.rerank([item.score for item in session.items])


class Retrainer:
    """Retrains for ``session`` (see the module's docstring); ``model``: the model
    directory in use at start; ``inputs``, ``sentences``, ``encoding``: the session's."""

    def __init__(self, session: Session, *, every: int, model: str, output: str,
                 inputs: list[str], sentences: str = "auto", encoding: str = "utf-8",
                 holdout: float = HOLDOUT, rehearse: str | None = None,
                 overrides: tuple[str, ...] = OVERRIDES,
                 notify: Callable[[str], None] = lambda message: None,
                 kill_wait: float = KILL_WAIT):
        if every < 1:
            raise ValueError(f"every {every!r}: must be 1 or more")
        if not 0.0 < holdout < 1.0:
            raise ValueError(f"holdout {holdout!r}: must be above 0 and below 1")
        self.session, self.every, self.model = session, every, str(model)
        self.folder = models_dir(output)
        self.inputs, self.sentences, self.encoding = list(inputs), sentences, encoding
        self.holdout, self.rehearse, self.overrides = holdout, rehearse, tuple(overrides)
        self.notify, self.kill_wait = notify, kill_wait
        self.counted = self._accepted_count()  # accepted answers when the last one started
        self.proc: subprocess.Popen | None = None
        self.job: Path | None = None
        self.watcher: threading.Thread | None = None
        self.closed = False
        self.runs = 0  # retrains started
        #: The job's command line, the job file's path appended.
        self.command = [sys.executable, "-m", "nertag.annotate.retrain_job"]
        session.after_answer = self.answered

    # ------------------------------------------------------------------ starting
    def _accepted(self) -> list[dict]:
        return [rec for key, rec in self.session.last.items()
                if rec.get("answer") == "accept" and key in self.session.index]

    def _accepted_count(self) -> int:
        return len(self._accepted())

    def answered(self) -> None:
        """After each answer (the session's lock held): start a retrain if it is due."""
        if self.closed or self.proc is not None:
            return
        records = self._accepted()
        if len(records) - self.counted < self.every:
            return
        train = [r for r in records if not held_back(r["id"], self.holdout)]
        test = [r for r in records if held_back(r["id"], self.holdout)]
        if not train or not test:  # nothing to train on or to compare on yet
            return
        self.counted = len(records)
        self._start(train, test)

    def _new_job_dir(self) -> Path:
        self.folder.mkdir(exist_ok=True)
        n = 1
        while True:  # never over a folder that is there (an earlier session's)
            job = self.folder / f"{n:03d}"
            try:
                job.mkdir()
                return job
            except FileExistsError:
                n += 1

    def _start(self, train: list[dict], test: list[dict]) -> None:
        try:
            job = self._new_job_dir()
            for name, records in (("train.jsonl", train), ("holdout.jsonl", test)):
                with open(job / name, "w", encoding="utf-8") as f:
                    f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            spec = {"base": self.model, "train": str(job / "train.jsonl"),
                    "holdout": str(job / "holdout.jsonl"), "output": str(job / "model"),
                    "overrides": list(self.overrides), "rehearse": self.rehearse,
                    "inputs": self.inputs, "sentences": self.sentences,
                    "encoding": self.encoding}
            (job / "job.json").write_text(json.dumps(spec), encoding="utf-8")
            with open(job / "train.log", "wb") as log:
                self.proc = subprocess.Popen(
                    self.command + [str(job / "job.json")], stdin=subprocess.DEVNULL,
                    stdout=log, stderr=log, start_new_session=True)
        except OSError as e:
            self.notify(f"retrain: cannot start ({e.strerror or e} in {self.folder}); "
                        f"annotating on with the model as it is")
            return
        self.runs += 1
        self.job = job
        self.notify(f"retrain {self.runs} started on {len(train)} answers "
                    f"({len(test)} held back), in {job}")
        self.watcher = threading.Thread(target=self._watch, args=(self.proc, job),
                                        daemon=True, name="nertag-annotate-retrain")
        self.watcher.start()

    # ------------------------------------------------------------------ finishing
    def _watch(self, proc: subprocess.Popen, job: Path) -> None:
        status = proc.wait()
        result = read_result(job, status)  # (parsed before the lock: requests go on)
        with self.session.lock:
            if self.closed:
                return
            self.finish(job, status, result)
            self.proc = self.job = None
            self.answered()  # enough answers came meanwhile: the next one now

    def finish(self, job: Path, status: int, result: dict | None = None) -> None:
        """Act on job ``job``'s ``result`` (read from its folder if None; its process
        ended with ``status``); the session's lock is held."""
        if result is None:
            result = read_result(job, status)
        if "error" in result:
            self.notify(f"retrain {self.runs} failed: {result['error']} (log: "
                        f"{job / 'train.log'}); annotating on with the model as it was")
            shutil.rmtree(job / "model", ignore_errors=True)
            return
        old, new = result["f1_old"], result["f1_new"]
        self.session.retrain_f1 = new
        self.session.retrain_used = bool(result["better"])
        if result["better"]:
            self.model = str(job / "model")
            retagged(self.session, result["spans"] or {})
            self.notify(f"retrain {self.runs}: held-back F1 {100 * new:.2f} > {100 * old:.2f}"
                        f": now using {self.model} (queue re-ranked; {result['seconds']:.0f} s)")
        else:
            shutil.rmtree(job / "model", ignore_errors=True)
            self.notify(f"retrain {self.runs}: held-back F1 {100 * new:.2f}, not above "
                        f"{100 * old:.2f}: kept the model in use ({result['seconds']:.0f} s)")

    def close(self) -> None:
        """No more retrains; a running one is killed (its folder removed)."""
        with self.session.lock:
            self.closed = True
            proc, job = self.proc, self.job
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, self.kill_wait), (signal.SIGKILL, self.kill_wait)):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        if job is not None:
            shutil.rmtree(job, ignore_errors=True)
        self.notify(f"retrain {self.runs}: stopped (the server stopped)")
