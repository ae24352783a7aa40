"""``nertag train``: the command, and its runner (config resolution, signals, rich progress)."""

from __future__ import annotations

import shlex
import signal
import time
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from nertag.errors import NertagError, UsageError


class Backend(str, Enum):
    hand = "hand"
    graph = "graph"


def command(
    config: Optional[str] = typer.Option(None, "--config", "-c", metavar="NAME|FILE",
                                         help="bundled config (default, conll2003, ...) "
                                              "or a YAML file"),
    train_file: Optional[Path] = typer.Option(None, "--train", metavar="FILE",
                                              help="training file: CoNLL columns or JSONL "
                                                   "(see nertag convert --help)"),
    dev_file: Optional[Path] = typer.Option(None, "--dev", metavar="FILE",
                                            help="development file"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="DIR",
                                          help="model directory to write "
                                               "(default: a new one in runs/)"),
    overrides: List[str] = typer.Option([], "--set", metavar="KEY=VALUE",
                                        help="override a config value, e.g. train.epochs=3"),
    seed: Optional[int] = typer.Option(None, "--seed", metavar="N",
                                       help="random seed (train.seed)"),
    embeddings: Optional[Path] = typer.Option(None, "--embeddings", metavar="FILE",
                                              help="pretrained vectors (embeddings.path)"),
    backend: Backend = typer.Option(Backend.hand, "--backend",
                                    help="gradients derived by hand, or by the graph engine"),
    force: bool = typer.Option(False, "--force", help="replace an existing --output directory"),
    resume: Optional[Path] = typer.Option(None, "--resume", metavar="DIR",
                                          help="continue an interrupted run in DIR"),
    base: Optional[Path] = typer.Option(None, "--from", metavar="MODEL",
                                        help="continue a trained model on --train (new words "
                                             "and entity types added; see docs/adapt.md)"),
    rehearse: Optional[Path] = typer.Option(None, "--rehearse", metavar="FILE",
                                            help="with --from: the base model's training data, "
                                                 "a share of it mixed into every epoch "
                                                 "(train.rehearse)"),
    show_grad_norms: bool = typer.Option(False, "--show-grad-norms",
                                         help="print gradient norms per epoch"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
    show_config: bool = typer.Option(False, "--show-config",
                                     help="print the config (with -c and --set) as YAML, "
                                          "every key explained, and exit"),
):
    """Train a window classifier and save the best epoch as a model directory.

    \b
    Examples:
      nertag train -c conll2003 -o models/conll2003
      nertag train --set train.epochs=3 --set model.hidden=50 -o runs/small
      nertag train --from default --train mine.conll --dev mine-dev.conll -o runs/mine
    """
    if resume is not None and (config or train_file or dev_file or overrides or output
                               or seed is not None or embeddings is not None or base
                               or rehearse):
        raise UsageError("--resume continues a run with its saved config (a run started with "
                         "--from too); do not combine it with --from, --config, --train, "
                         "--rehearse, --dev, --set, --seed, --embeddings or --output")
    if rehearse is not None and base is None:
        raise UsageError("--rehearse mixes a base model's training data into a run that "
                         "continues it: add --from MODEL")
    if show_config:
        from nertag.config import config_yaml

        extra = [f"train.seed={seed}"] * (seed is not None) + \
            [f"embeddings.path={embeddings}"] * (embeddings is not None) + \
            [f"train.rehearse={rehearse}"] * (rehearse is not None)
        typer.echo(config_yaml(_config(config, list(overrides) + extra, base)), nl=False)
        return
    from nertag.cli.tables import console

    run_train(config=config, train_file=train_file, dev_file=dev_file, output=output,
              overrides=list(overrides), seed=seed, embeddings=embeddings, backend=backend.value,
              force=force, resume=resume, show_grad_norms=show_grad_norms, quiet=quiet,
              console=console(), base=base, rehearse=rehearse)


def _config(config, overrides: list[str], base):
    """The run's config: ``-c`` (default: ``default``) with the overrides; with ``--from``,
    the base model's (or ``-c``, if its features and architecture are the base's)."""
    from nertag.config import load_config, resolve_config_path

    if base is None:
        return load_config(config, overrides)
    from nertag.training.adapt import adapt_config

    if config is None:
        return adapt_config(base, None, overrides)
    return adapt_config(base, load_config(config, overrides),
                        src=str(resolve_config_path(config)))


class _Stopper:
    """First Ctrl-C / SIGTERM: finish the batch, checkpoint, exit. Second: stop now."""

    def __init__(self):
        self.requested = False
        self.signum = signal.SIGINT
        self._old = {}

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested, self.signum = True, signum

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not in the main thread (e.g. tests)
                pass
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class _Bar:
    """The live line: ``epoch k/N ━━━━ batch b/B  loss …  tok/s  total ETA h:mm:ss``.

    One task for the whole run. No loss or speed is shown before the epoch's first
    batch; the ETA is for every remaining epoch, from the time per batch since this
    process started (dev scoring included once an epoch has ended).
    """

    def __init__(self, console, quiet: bool):
        from rich.progress import BarColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(bar_width=24), TextColumn("batch {task.completed}/{task.total}"),
            TextColumn("{task.fields[stats]}"), TextColumn("total ETA {task.fields[eta]}"),
            console=console, transient=True, disable=quiet or not console.is_terminal)
        self.task = None

    def start(self, info: dict) -> None:
        self.epochs, self.batches = info["epochs"], info["batches"]
        self.done0 = (info["start_epoch"] - 1) * self.batches + info["start_batch"]
        self.t0 = time.perf_counter()
        self.task = self.progress.add_task("", total=self.batches, completed=info["start_batch"],
                                           epoch=info["start_epoch"], epochs=self.epochs,
                                           stats="", eta="-")

    def batch(self, info: dict) -> None:
        done = (info["epoch"] - 1) * self.batches + info["batch"]
        eta = "-"
        if done > self.done0:
            per_batch = (time.perf_counter() - self.t0) / (done - self.done0)
            eta = _clock(per_batch * (self.epochs * self.batches - done))
        self.progress.update(self.task, completed=info["batch"], epoch=info["epoch"], eta=eta,
                             stats=f"loss {info['loss']:.4f}  {info['tokens_per_s']:,.0f} tok/s")

    def epoch_done(self, epoch: int) -> None:
        if self.task is None:
            return
        if epoch < self.epochs:
            self.progress.update(self.task, completed=0, epoch=epoch + 1, stats="")
        else:
            self.progress.update(self.task, stats="saving the model")


def _interrupted(console, e, signum: int) -> None:
    """What an interrupted run left, and the commands that use it."""
    from rich.markup import escape

    from nertag.training import checkpoint as ckpt

    out = escape(shlex.quote(str(e.out)))
    where = (f"during epoch {e.epoch} of {e.epochs} (batch {e.batch} of {e.batches})"
             if e.batch else f"after epoch {e.epoch - 1} of {e.epochs}")
    console.print(f"stopped {where}; checkpoint saved in {escape(str(ckpt.path(e.out)))}",
                  soft_wrap=True)
    if e.saved is not None:
        f1 = f", dev F1 {100 * e.best_f1:.2f}" if e.best_f1 is not None else ""
        console.print(f"the best epoch so far ({e.best_epoch}{f1}) is saved as a complete model "
                      f"in {escape(str(e.saved))}; use it with: nertag tag -m {out} FILE",
                      soft_wrap=True)
    else:
        console.print("no epoch had finished, so there is no model yet", soft_wrap=True)
    console.print(f"resume with: nertag train --resume {out}", soft_wrap=True)
    raise SystemExit(128 + int(signum))  # 130 after Ctrl-C, 143 after SIGTERM


def _with_options(e: NertagError, out: Path) -> NertagError:
    """A :class:`~nertag.training.checkpoint.RunError` with its advice in the commands and
    options of ``nertag train``; any other error as it is."""
    from nertag.training.checkpoint import RunError

    if isinstance(e, RunError):
        return NertagError(e.worded({
            "resume": f"continue it with 'nertag train --resume {out}'",
            "force": "add --force to start over",
            "new_run": f"start a new run with 'nertag train --output {out}'",
            "clip": "--set train.clip_norm=5"}), e.exit_code)
    return e  # (Command adds the options of the inputs it names)


def run_train(*, config, train_file, dev_file, output, overrides, seed, embeddings, backend,
              force, resume, show_grad_norms, quiet, console, base=None, rehearse=None):
    """Train and print: progress (unless ``quiet``), one line per epoch and the history
    table (unless ``quiet``), and always warnings and the final result lines."""
    from rich.markup import escape

    from nertag.api.runs import default_output
    from nertag.cli.tables import grad_norm_tables, history_table
    from nertag.config import check_data_files
    from nertag.training import checkpoint as ckpt
    from nertag.training.loop import train
    from nertag.training.two_stage import FirstStageStopped

    if resume is not None:
        try:
            cfg = ckpt.load_config(resume)
        except NertagError as e:
            raise _with_options(e, resume) from None
        output = resume
    else:
        extra = []
        if seed is not None:
            extra.append(f"train.seed={seed}")
        if embeddings is not None:
            extra.append(f"embeddings.path={embeddings}")
        if rehearse is not None:
            extra.append(f"train.rehearse={rehearse}")
        cfg = _config(config, overrides + extra, base)
        check_data_files(cfg, train_file, dev_file)
        if output is None:
            output = default_output()
    bar = _Bar(console, quiet)
    report: dict = {}

    def callback(event: str, info: dict) -> None:
        if event == "start":
            bar.start(info)
            if not quiet:
                console.print(f"training on {escape(info['train'])} ({info['sentences']} "
                              f"sentences, {info['tokens']} tokens), dev "
                              f"{escape(info['dev'] or '-')}; {len(info['labels'])} labels, "
                              f"{info['params']:,} parameters", soft_wrap=True)
        elif event == "batch":
            bar.batch(info)
        elif event == "epoch":
            bar.epoch_done(info["epoch"])
            if quiet:
                return
            dev = info.get("dev")
            devs = (f"dev P {100 * dev['precision']:.2f} R {100 * dev['recall']:.2f} "
                    f"F1 {100 * dev['f1']:.2f}") if dev else "no dev set"
            mark = " *" if info.get("best") else ""
            console.print(f"epoch {info['epoch']:3d}  loss {info['loss']:.4f}  "
                          f"{info['tokens_per_s']:,.0f} tok/s  {info['seconds']:.1f}s  {devs}{mark}")
            if show_grad_norms:  # name=value pairs, so a wrapped line never splits one
                norms = "  ".join(f"{k}={v:.3g}" for k, v in info["grad_norms"].items())
                console.print(f"      grad norms: {norms}")
        elif event == "warn":
            console.print(f"[yellow]warning:[/] {escape(info['message'])}", soft_wrap=True)
        elif event == "note" or (event == "stage" and not quiet):
            console.print(escape(info["message"]), soft_wrap=True)
        elif event == "end":
            report["path"] = info.get("report")

    t0 = time.perf_counter()
    with _Stopper() as stopper, bar.progress:
        try:
            model, history = train(cfg, output=output, train_path=train_file, dev_path=dev_file,
                                   callback=callback, backend=backend, force=force,
                                   resume=resume is not None,
                                   should_stop=lambda: stopper.requested)
        except ckpt.Interrupted as e:
            bar.progress.stop()
            _interrupted(console, e, stopper.signum)
        except FirstStageStopped as e:  # 130 after Ctrl-C, 143 after SIGTERM
            raise NertagError(e.message, 128 + int(stopper.signum)) from None
        except NertagError as e:
            raise _with_options(e, output) from None
    if not quiet:
        console.print(history_table(history))
        if show_grad_norms:
            for table in grad_norm_tables(history, console.width):
                console.print(table)
    best = max((r for r in history if r.get("best")), key=lambda r: r["epoch"], default=None)
    best_f1 = f", dev F1 {100 * best['dev']['f1']:.2f}" if best and best.get("dev") else ""
    console.print(f"saved the best epoch ({best['epoch'] if best else '-'} of {len(history)}"
                  f"{best_f1}) to {escape(str(output))}  [{time.perf_counter() - t0:.1f}s]",
                  soft_wrap=True)
    if report.get("path"):
        console.print(f"report: {escape(report['path'])}", soft_wrap=True)
