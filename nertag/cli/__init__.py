"""The ``nertag`` command line: thin Typer commands over importable functions.

Printing and progress bars live here; the work is done by plain functions
(:func:`nertag.training.loop.train`, :func:`nertag.text.scoring.evaluate`, ...). Heavy
modules (NumPy, rich) are imported inside the commands so ``nertag --help``
starts quickly. Every :class:`~nertag.errors.NertagError` and usage error is
printed as one line ``error: ...`` on standard error with exit code 1 (2 for
usage errors) and no traceback, unless ``--debug`` is given.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
import typer.core

try:  # typer >= 0.20 vendors click as typer._click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older typer on click
    from click.exceptions import ClickException, NoArgsIsHelpError

from nertag.errors import NertagError, UsageError

_state = {"debug": False}


class _Group(typer.core.TyperGroup):
    """Turns every failure into one line on stderr (traceback only with --debug)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        _state["debug"] = "--debug" in args
        if not _state["debug"]:  # NumPy overflow/NaN warnings: nertag reports those itself
            import warnings

            warnings.filterwarnings("ignore", category=RuntimeWarning)
        try:
            rv = super().main(args=args, prog_name=prog_name or "nertag",
                              complete_var=complete_var, standalone_mode=False, **extra)
        except NertagError as e:
            _fail(e.message, e.exit_code, e)
        except NoArgsIsHelpError as e:
            typer.echo(e.ctx.get_help())
            sys.exit(2)
        except ClickException as e:
            hint = f" (see 'nertag {e.ctx.info_name} --help')" if getattr(e, "ctx", None) \
                and e.ctx.parent is not None else " (see 'nertag --help')"
            _fail(e.format_message().replace("\n", " ") + hint, e.exit_code, e)
        except typer.Abort:
            _fail("aborted", 130, None)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except KeyboardInterrupt:
            _fail("interrupted", 130, None)
        except MemoryError as e:
            _fail("out of memory; use smaller batches or a smaller input", 1, e)
        except Exception as e:  # a bug, not a user error: still one line unless --debug
            _fail(f"internal error: {type(e).__name__}: {e} (rerun with --debug and report it)",
                  1, e)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx):
        # typer turns a broken pipe into a silent exit 1 and Ctrl-C into a silent exit 130
        # before main() sees them, so both are handled here first
        try:
            return super().invoke(ctx)
        except OSError as e:
            if e.errno == errno.EPIPE:
                _quiet_broken_pipe()
            raise
        except KeyboardInterrupt:
            _fail("interrupted", 130, None)


def _quiet_broken_pipe():
    """Output piped into `head`: stop quietly, as cat and grep do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(0)


def _fail(message: str, code: int, exc) -> None:
    if _state["debug"] and exc is not None:
        import traceback

        traceback.print_exception(exc)
    try:
        sys.stderr.write(f"error: {message}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    sys.exit(code)


app = typer.Typer(cls=_Group, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="nertag: a small named-entity tagger you can read end to end.")


_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def set_threads(n: int | None) -> None:
    """BLAS threads, set before NumPy is imported (it reads them once, at import).

    nertag's matrices are small (a minibatch times a few hundred units), and a
    spinning multi-threaded BLAS slows them down badly whenever another process
    wants the cores; one thread is the default, ``--threads N`` or an explicit
    OPENBLAS_NUM_THREADS changes it (``--jobs`` is the way to use more cores).
    """
    if n is None and any(v in os.environ for v in _THREAD_VARS):
        return
    for v in _THREAD_VARS:
        os.environ[v] = str(n or 1)


def _print_version(value: bool) -> None:
    if value:  # eager: `nertag --version` needs no command
        from nertag.version import __version__

        typer.echo(f"nertag {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="show tracebacks on errors"),
          version: bool = typer.Option(False, "--version", help="print the version and exit",
                                       is_eager=True, callback=_print_version),
          threads: Optional[int] = typer.Option(None, "--threads",
                                                help="BLAS threads per process (default 1)")):
    """Tag entities in text, train window classifiers, check their gradients."""
    if threads is not None and threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")
    set_threads(threads)
    if version:
        from nertag.version import __version__

        typer.echo(f"nertag {__version__}")
        raise typer.Exit(0)


def _console(stderr: bool = True):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# --------------------------------------------------------------------------- train
@app.command()
def train(
    config: Optional[str] = typer.Option(None, "--config", "-c",
                                         help="bundled config name (default, conll2003, ...) or YAML path"),
    train_file: Optional[Path] = typer.Option(None, "--train", help="training file (CoNLL columns)"),
    dev_file: Optional[Path] = typer.Option(None, "--dev", help="development file"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="model directory to write"),
    overrides: List[str] = typer.Option([], "--set", help="override a config key: SECTION.KEY=VALUE"),
    seed: Optional[int] = typer.Option(None, "--seed", help="random seed (train.seed)"),
    embeddings: Optional[Path] = typer.Option(None, "--embeddings", help="pretrained vectors (embeddings.path)"),
    backend: str = typer.Option("hand", "--backend", help="hand (derived by hand) or graph (backprop engine)"),
    force: bool = typer.Option(False, "--force", help="replace an existing --output directory"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="continue an interrupted run in DIR"),
    show_grad_norms: bool = typer.Option(False, "--show-grad-norms", help="print gradient norms per epoch"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
):
    """Train a window classifier and save the best epoch as a model directory."""
    from nertag.cli.train import run_train

    if backend not in ("hand", "graph"):
        raise UsageError(f"--backend: unknown backend {backend!r}; use hand or graph")
    if resume is not None and (config or train_file or dev_file or overrides or output
                               or seed is not None or embeddings is not None):
        raise UsageError("--resume continues a run with its saved config; do not combine it with "
                         "--config, --train, --dev, --set, --seed, --embeddings or --output")
    run_train(config=config, train_file=train_file, dev_file=dev_file, output=output,
              overrides=list(overrides), seed=seed, embeddings=embeddings, backend=backend,
              force=force, resume=resume, show_grad_norms=show_grad_norms, quiet=quiet,
              console=_console())


# --------------------------------------------------------------------------- evaluate
@app.command()
def evaluate(
    model: Path = typer.Argument(..., help="model directory"),
    data: Path = typer.Argument(..., help="tagged CoNLL file to score against"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    decoder: Optional[str] = typer.Option(None, "--decoder", help="greedy, constrained or viterbi"),
    encoding: str = typer.Option("utf-8", "--encoding", help="encoding of DATA"),
    scheme: str = typer.Option("auto", "--tag-scheme", help="tag scheme of DATA: auto, iob1, bio, bioes"),
):
    """Score a model on a tagged file, exactly as the CoNLL-2003 scorer (conlleval) does."""
    import json

    from nertag.text.conll import read_conll
    from nertag.modelio import load_model
    from nertag.text.scoring import evaluate as score

    if decoder is not None and decoder not in ("greedy", "constrained", "viterbi"):
        raise UsageError(f"--decoder: unknown decoder {decoder!r}; use greedy, constrained or viterbi")
    m = load_model(model, read_only=True)
    corpus = read_conll(data, encoding, scheme)
    pred, _ = m.predict([s.words for s in corpus.sentences], decoder)
    ev = score([s.tags for s in corpus.sentences], pred)
    if as_json:
        typer.echo(json.dumps(ev.as_dict(), indent=2))
        return
    from nertag.cli.tables import evaluation_table

    con = _console(stderr=False)
    from rich.markup import escape  # a path is text, not markup: data[/x].conll

    con.print(evaluation_table(ev, title=f"{escape(str(data))} ({ev.n_sentences} sentences, "
                                         f"{ev.n_tokens} tokens)"))


# --------------------------------------------------------------------------- tag
@app.command()
def tag(
    inputs: List[str] = typer.Argument(None, help="text files to tag; - for standard input"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write here (default: stdout)"),
    fmt: Optional[str] = typer.Option(None, "--format", "-f",
                                      help="pretty (default on a terminal), jsonl, conll, inline or html"),
    per: str = typer.Option("sentence", "--per", help="jsonl objects per sentence or per document"),
    tokenized: bool = typer.Option(False, "--tokenized", help="inputs are CoNLL columns (first = word)"),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="model directory (default: shipped model)"),
    encoding: str = typer.Option("utf-8", "--encoding", help="encoding of the inputs"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="worker processes"),
    decoder: Optional[str] = typer.Option(None, "--decoder", help="greedy, constrained or viterbi"),
):
    """Tag raw text (or CoNLL columns) with a trained model."""
    from nertag.cli.tag import run_tag

    if not inputs:
        raise UsageError("give one or more input files, or - for standard input "
                         "(e.g. nertag tag data/example.txt)")
    if decoder is not None and decoder not in ("greedy", "constrained", "viterbi"):
        raise UsageError(f"--decoder: unknown decoder {decoder!r}; use greedy, constrained or viterbi")
    run_tag(inputs=list(inputs), output=output, fmt=fmt, per=per, tokenized=tokenized,
            model_dir=model, encoding=encoding, jobs=jobs, decoder=decoder)


# --------------------------------------------------------------------------- gradcheck
@app.command()
def gradcheck(
    config: Optional[str] = typer.Option(None, "--config", "-c", help="check this config's architecture"),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="check at a saved model's parameters"),
    overrides: List[str] = typer.Option([], "--set", help="override a config key: SECTION.KEY=VALUE"),
    head: str = typer.Option("softmax", "--head", help="default model's head: softmax, binary, crf or all"),
    eps: float = typer.Option(1e-4, "--eps", help="central-difference step h"),
    tol: float = typer.Option(1e-6, "--tol", help="largest relative error that passes"),
    samples: Optional[int] = typer.Option(None, "--samples", help="random entries per parameter (0 = all)"),
    ops: bool = typer.Option(False, "--ops", help="also check every graph op's backward alone"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    seed: int = typer.Option(0, "--seed", help="seed of the random model and minibatch"),
):
    """Check hand-derived and graph gradients against central differences."""
    from nertag.cli.gradcheck import run_gradcheck

    code = run_gradcheck(config=config, model_dir=model, overrides=list(overrides), head=head,
                         eps=eps, tol=tol, samples=samples, ops=ops, as_json=as_json, seed=seed,
                         console=_console(stderr=False))
    raise typer.Exit(code)


# --------------------------------------------------------------------------- benchmark
@app.command()
def benchmark(
    config: Optional[str] = typer.Option("default", "--config", "-c",
                                         help="bundled config name or YAML path"),
    train_file: Optional[Path] = typer.Option(None, "--train", help="training data (default: sample corpus)"),
    dev_file: Optional[Path] = typer.Option(None, "--dev", help="sentences for the inference part"),
    text: Optional[Path] = typer.Option(None, "--text", help="raw text for the tagging part "
                                        "(default: data/example.txt repeated to ~1 MB)"),
    model: Optional[Path] = typer.Option(None, "--model", "-m",
                                         help="model directory (default: untrained, from the config)"),
    overrides: List[str] = typer.Option([], "--set", help="override a config key: SECTION.KEY=VALUE"),
    repeats: int = typer.Option(5, "--repeats", "-r", help="measurements per figure"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="also time tagging with N worker processes"),
    quick: bool = typer.Option(False, "--quick", help="short runs (rough figures, for a smoke test)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
):
    """Measure training, inference and tagging throughput, GEMM rate and peak memory."""
    from nertag.cli.benchmark import run_benchmark_cli

    run_benchmark_cli(config=config, train=train_file, dev=dev_file, text=text, model_dir=model,
                      repeats=repeats, jobs=jobs, as_json=as_json, quick=quick,
                      overrides=list(overrides), console=_console())


def main() -> None:
    app()
