"""One retrain of ``nertag annotate --retrain-every``, in a process of its own:
``python -m nertag.annotate.retrain_job JOB.json`` (started by
:mod:`nertag.annotate.retrain`).

``JOB.json`` holds ``{"base", "train", "holdout", "output", "overrides", "rehearse",
"inputs", "sentences", "encoding"}``: the model in use, the accepted answers to train
on and the held-back ones (Prodigy JSON lines, as the answers file), the new model's
directory, the training overrides and rehearsal file, and the session's text files.
The job

1. continues ``base`` on ``train`` (:func:`nertag.train` with ``base=``, as ``nertag
   train --from``; pseudo-rehearsal on, ``rehearse`` added if given) into ``output``;
2. scores ``base`` and the new model on ``holdout`` (entity F1, as ``nertag.evaluate``);
3. if the new model scores higher (a tie keeps ``base``), tags the text files again with
   it, as the session tagged them at start (:func:`nertag.annotate.source.read_items`),

and writes ``result.json`` beside ``JOB.json`` (whole, then renamed into place):
``{"f1_old", "f1_new", "better", "seconds", "phases": {"train", "score", "retag"},
"spans": {id: [[start, end, label,
score], ...]} | null}``, or ``{"error": "..."}`` (one line) with exit status 1.
Nothing is printed; the training library's warnings go to standard error, which the
parent sends to a log file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from nertag.errors import NertagError

RESULT = "result.json"


def held_back_f1(model, holdout: str) -> float:
    """Entity F1 (0..1) of ``model`` on the held-back answers."""
    from nertag.api import evaluate

    return float(evaluate(model, holdout).f1)


def retag(model: str, inputs: list[str], sentences: str, encoding: str) -> dict:
    """Every sentence's spans ``[[start, end, label, score]]`` and margin by the model, by
    id: ``{id: {"spans": [...], "margin": m}}``."""
    from nertag.annotate.source import read_items, read_text
    from nertag.api import load

    tagger = load(model)
    texts = [read_text(name, encoding) for name in inputs]
    return {item.id: {"spans": [list(s) for s in item.spans], "margin": item.margin}
            for item in read_items(tagger, inputs, texts, sentences=sentences)}


def run(job: dict) -> dict:
    """Do ``job`` (see the module's docstring) and return its result."""
    from nertag.api import train

    times = [time.perf_counter()]
    train(base=job["base"], train=job["train"], output=job["output"],
          overrides=list(job.get("overrides") or ()), rehearse=job.get("rehearse"))
    times.append(time.perf_counter())
    f1_old = held_back_f1(job["base"], job["holdout"])
    f1_new = held_back_f1(job["output"], job["holdout"])
    better = f1_new > f1_old
    times.append(time.perf_counter())
    spans = retag(job["output"], job["inputs"], job.get("sentences", "auto"),
                  job.get("encoding", "utf-8")) if better else None
    times.append(time.perf_counter())
    return {"f1_old": f1_old, "f1_new": f1_new, "better": better,
            "seconds": round(times[-1] - times[0], 3),
            "phases": {name: round(b - a, 3) for name, a, b in
                       zip(("train", "score", "retag"), times, times[1:])},
            "spans": spans}


def write_result(folder: Path, result: dict) -> None:
    tmp = folder / (RESULT + ".part")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    os.replace(tmp, folder / RESULT)


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    job = json.loads(path.read_text(encoding="utf-8"))
    try:
        result = run(job)
    except NertagError as e:
        write_result(path.parent, {"error": str(e).splitlines()[0]})
        return 1
    except MemoryError:
        write_result(path.parent, {"error": "out of memory"})
        return 1
    write_result(path.parent, result)
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a process by the tests
    sys.exit(main(sys.argv[1:]))
