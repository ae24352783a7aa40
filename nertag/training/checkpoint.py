"""Training checkpoints for ``nertag train --resume``.

While ``nertag train --output DIR`` runs, its resumable state lives in
``DIR.partial/checkpoint/``: the current parameters, the best epoch's
parameters, the optimiser state (all .npz, no pickle) and ``state.json`` (epoch,
batch, learning rate, early-stopping counters, history and the random
generator's state). Each checkpoint is written as a whole new directory and
renamed into place (:func:`nertag.atomic.replace_dir`), with the previous one kept
as ``checkpoint.old`` until the rename is done, so a ``kill -9`` at any moment
leaves a complete checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
import shutil
from pathlib import Path

import numpy as np

from nertag.atomic import new_temp_dir, replace_dir
from nertag.config import dump_config, from_dict, read_yaml
from nertag.errors import NertagError
from nertag.modelio import load_weights


class Interrupted(Exception):
    """Training stopped on request (Ctrl-C / SIGTERM) after a checkpoint was saved.

    ``epoch``/``batch``: where it stopped (the epoch in progress, batches of it done);
    ``saved``: the model directory the best epoch so far was saved to (None when no
    epoch had finished); ``best_epoch``, ``best_f1`` (None without a dev set),
    ``epochs`` and ``batches`` (per epoch) for the message.
    """

    def __init__(self, epoch: int, batch: int, out, *, saved=None, best_epoch: int = 0,
                 best_f1: float | None = None, epochs: int = 0, batches: int = 0):
        super().__init__(f"interrupted at epoch {epoch}, batch {batch}")
        self.epoch, self.batch, self.out = epoch, batch, out
        self.saved, self.best_epoch, self.best_f1 = saved, best_epoch, best_f1
        self.epochs, self.batches = epochs, batches


class RunError(NertagError):
    """An error whose advice is to continue, restart or start a run.

    ``template`` holds the advice as ``{resume}``, ``{force}``, ``{new_run}`` and
    ``{clip}`` (any other braces doubled); the message fills them in the library's words
    (:data:`LIBRARY_WORDS`: parameter and config key names), and the command line
    words them with its options through :meth:`worded`.
    """

    def __init__(self, template: str, exit_code: int = 1):
        self.template = template
        super().__init__(self.worded(), exit_code)

    def worded(self, words: dict[str, str] | None = None) -> str:
        """The message with ``words`` for the advice (the library's for any not given)."""
        return self.template.format(**{**LIBRARY_WORDS, **(words or {})})


#: How the library words the advice of a :class:`RunError`.
LIBRARY_WORDS = {"resume": "continue it (resume)", "force": "start over (force)",
                 "new_run": "start a new run into it", "clip": "train.clip_norm=5"}


def _braced(value) -> str:
    """``value`` as text for a :class:`RunError` template (a path may hold braces)."""
    return str(value).replace("{", "{{").replace("}", "}}")


@dataclass
class TrainState:
    """Everything needed to continue training exactly where it stopped."""

    epoch: int = 1           # the epoch in progress (1-based)
    batch: int = 0           # batches of it already done
    lr: float = 0.0
    best_f1: float = -1.0
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list = field(default_factory=list)
    rng_state: dict | None = None
    loss_sum: float = 0.0
    tokens_done: int = 0
    grad_norms_sum: dict = field(default_factory=dict)  # this epoch's, for its record
    grad_norms_n: int = 0
    seconds: float = 0.0  # of this epoch, before an interruption
    backend: str = "hand"


def partial_dir(out) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".partial")


def path(out) -> Path:
    return partial_dir(out) / "checkpoint"


def save(out, model, opt, state, best: dict, cfg) -> Path:
    """Write a new checkpoint directory and swap it in for the previous one."""
    root = partial_dir(out)
    root.mkdir(parents=True, exist_ok=True)
    final = root / "checkpoint"
    for stale in root.glob(".checkpoint.*.tmp"):  # left by a save that was killed
        shutil.rmtree(stale, ignore_errors=True)
    tmp = new_temp_dir(final)
    try:
        with open(tmp / "params.npz", "wb") as f:
            np.savez(f, **model.params)
        with open(tmp / "best.npz", "wb") as f:
            np.savez(f, **best)
        with open(tmp / "optim.npz", "wb") as f:
            np.savez(f, **opt.state_arrays())
        (tmp / "state.json").write_text(json.dumps(dataclasses.asdict(state)), encoding="utf-8")
        (tmp / "config.yaml").write_text(dump_config(cfg), encoding="utf-8")
        (tmp / "COMPLETE").write_text("ok", encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, final, old=root / "checkpoint.old")
    return final


def exists(out) -> bool:
    """Whether ``out`` has a complete checkpoint to resume from."""
    root = partial_dir(out)
    return any((root / c / "COMPLETE").is_file() for c in ("checkpoint", "checkpoint.old"))


def latest(out) -> Path:
    """The newest complete checkpoint (falls back to ``checkpoint.old`` after a crash)."""
    root = partial_dir(out)
    for cand in (root / "checkpoint", root / "checkpoint.old"):
        if (cand / "COMPLETE").is_file():
            return cand
    if (Path(out) / "manifest.json").is_file():
        raise NertagError(f"{out}: is a finished model, there is nothing to resume (no "
                          f"checkpoint in {root})", exit_code=2)
    raise RunError(f"{_braced(out)}: no checkpoint to resume from (looked in {_braced(root)}); "
                   f"{{new_run}}", exit_code=2)


def refuse_to_overwrite(out) -> None:
    """A new run into ``out`` (without ``force``) must not throw away the checkpoint of an
    interrupted one there."""
    if exists(out):
        raise RunError(f"{_braced(out)}: an interrupted run left a checkpoint in "
                       f"{_braced(partial_dir(out))}; {{resume}} or {{force}}", exit_code=2)


def load_config(out):
    c = latest(out)
    return from_dict(read_yaml(c / "config.yaml"), src=str(c / "config.yaml"))


def load(out, model, opt):
    """Restore parameters and optimiser state in place; return (state, best params)."""
    c = latest(out)
    params = load_weights(c / "params.npz")
    for k, v in params.items():
        if k not in model.params or model.params[k].shape != v.shape:
            raise NertagError(f"{c}: the checkpoint does not match the model its config.yaml "
                              f"builds (parameter {k}); was the training data changed?")
        model.params[k][...] = v
    best = load_weights(c / "best.npz")
    opt.load_state_arrays(load_weights(c / "optim.npz"))
    try:
        state = TrainState(**json.loads((c / "state.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as e:
        raise RunError(f"{_braced(c / 'state.json')}: unreadable or corrupted checkpoint "
                       f"state ({type(e).__name__}); {{force}}") from None
    return state, best


def remove(out) -> None:
    shutil.rmtree(partial_dir(out), ignore_errors=True)
