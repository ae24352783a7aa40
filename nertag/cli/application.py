"""The Typer application around the commands: one-line errors, ``--debug``,
``--version``, ``--threads``, and the option types the commands share.

Every :class:`~nertag.errors.NertagError` and usage error is printed as one line
``error: ...`` on standard error with exit code 1 (2 for usage errors) and no
traceback, unless ``--debug`` is given (before or after the command name).
"""

from __future__ import annotations

import errno
import os
import sys
from enum import Enum
from typing import Optional

import typer
import typer.core

try:  # typer >= 0.20 vendors click as typer._click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older typer on click
    from click.exceptions import ClickException, NoArgsIsHelpError

from nertag.blas import set_threads
from nertag.errors import NertagError, UsageError

_state = {"debug": False}


class Decoder(str, Enum):
    """``--decoder`` of tag and evaluate (:data:`nertag.inference.decode.DECODERS`)."""

    greedy = "greedy"
    constrained = "constrained"
    viterbi = "viterbi"


#: ``--pattern-mode`` of tag and serve (:data:`nertag.text.patterns.MODES`).
PatternMode = Enum("PatternMode", {m: m for m in ("override", "fill", "patterns")}, type=str)
#: ``--patterns`` and ``--pattern-mode``, the same options in tag and serve.
PATTERNS_OPTION = typer.Option(
    None, "--patterns", metavar="FILE", help="entity patterns (JSONL, as spaCy's "
    "EntityRuler) to merge with the model's entities, instead of the model's own")
PATTERN_MODE_OPTION = typer.Option(
    None, "--pattern-mode", help="override (the default: a match wins over the model's "
    "entities it overlaps), fill (the model wins), patterns (the matches alone)")

#: ``--min-score`` of tag and serve (checked again by nertag.tagging.chunks.check_min_score).
MIN_SCORE_OPTION = typer.Option(
    None, "--min-score", min=0.0, max=1.0, metavar="X", help="drop the model's entities "
    "scored below X, from 0 to 1 (calibrated scores if the model has a calibration.json)")


def _take_debug(args: list[str]) -> tuple[bool, list[str]]:
    """Remove ``--debug`` from anywhere before a literal ``--``; was it there?"""
    end = args.index("--") if "--" in args else len(args)
    head = [a for a in args[:end] if a != "--debug"]
    return len(head) < end, head + args[end:]


class _Group(typer.core.TyperGroup):
    """Turns every failure into one line on stderr (traceback only with --debug)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _state["debug"], args = _take_debug(list(sys.argv[1:] if args is None else args))
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
            # typer validates with pydantic, which prefixes a refused choice with "Value error, "
            message = e.format_message().replace("\n", " ").replace(": Value error, ", ": ")
            _fail(message + hint, e.exit_code, e)
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


class Command(typer.core.TyperCommand):
    """A command whose arguments are listed in ``--help`` by their metavar alone
    (typer would add a ``<type>`` after it, e.g. ``MODEL <path>``), and whose library
    errors end with the options that give the inputs they name (``--model DIR``)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NertagError as e:
            flags = [self.flag_of(name) for name in e.inputs]
            if any(flags):
                e.message = f"{e.message} ({', '.join(f for f in flags if f)})"
            raise

    def flag_of(self, name: str) -> str:
        """How this command's parameter ``name`` is given: ``--model DIR``, ``--force``,
        ``MODEL``; "" if it has none."""
        for p in self.params:
            if p.name == name:
                if p.param_type_name == "argument":
                    return p.metavar or p.name.upper()
                return " ".join(filter(None, (p.opts[0], None if p.is_flag else p.metavar)))
        return ""

    def collect_usage_pieces(self, ctx):
        """``[OPTIONS] MODEL DATA``: an argument by its metavar (typer would show
        ``{MODEL}``, which reads like a set of choices)."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for p in self.get_params(ctx):
            if p.param_type_name != "argument":
                pieces.extend(p.get_usage_pieces(ctx))
                continue
            name = p.metavar or p.name.upper()
            pieces.append((name if p.required else f"[{name}]") + ("..." if p.nargs != 1 else ""))
        return pieces

    def format_options(self, ctx, formatter):
        args, opts = [], []
        for p in self.get_params(ctx):
            if "(default" in (getattr(p, "help", None) or ""):
                p.show_default = False  # the help says it: no second "[default: ...]"
            rv = p.get_help_record(ctx)
            if rv is None:
                continue
            if p.param_type_name == "argument":
                args.append(((p.metavar or p.name) + ("..." if p.nargs != 1 else ""), rv[1]))
            else:
                opts.append(rv)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


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


def _same_file(a, b) -> bool:
    """Are paths ``a`` and ``b`` one file (by any path: symlink, hard link, ``./x``)?"""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # one of them does not exist (or cannot be looked at)
        try:
            return os.path.realpath(a) == os.path.realpath(b)
        except (OSError, ValueError):
            return False


def _is_stdin(path) -> bool:
    """Is standard input redirected from the file ``path`` (``< path``)?"""
    try:
        return os.path.samestat(os.fstat(sys.stdin.fileno()), os.stat(path))
    except (OSError, ValueError, AttributeError):  # no real stdin (tests), or no such file
        return False


def refuse_overwriting_input(option: str, output, inputs, what: str = "input") -> None:
    """``output`` (given as ``option``) must not be one of ``inputs`` (``-``: standard
    input): writing it would replace what is being read."""
    if output is None:
        return
    for name in inputs:
        if name == "-":
            if _is_stdin(output):
                raise UsageError(f"{option} {output}: is standard input (< {output}); it "
                                 f"would be replaced by the output; give another output file")
        elif _same_file(output, name):
            which = f"the {what}" if str(name) == str(output) else \
                f"the {what} {name} under another name"
            raise UsageError(f"{option} {output}: is {which}; it would be replaced by the "
                             f"output; give another output file")


def _print_version(value: bool) -> None:
    if value:  # eager: `nertag --version` needs no command
        from nertag.version import __version__

        typer.echo(f"nertag {__version__}")
        raise typer.Exit(0)


def _root(
    debug: bool = typer.Option(False, "--debug", expose_value=False,
                               help="show tracebacks on errors (also after the command)"),
    version: bool = typer.Option(False, "--version", help="print the version and exit",
                                 is_eager=True, callback=_print_version, expose_value=False),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, metavar="N",
                                          help="BLAS threads per process (default 1; at "
                                               "most one per CPU: more are lowered, with a "
                                               "warning)"),
):
    # --debug is listed here for --help; _Group.main takes it from anywhere on the line
    if threads is not None:
        from nertag.tagging.workers import cap_workers

        threads, note = cap_workers("--threads", threads, what="thread")
        if note:
            typer.echo(f"warning: {note}", err=True)
    set_threads(threads)


def create_app() -> typer.Typer:
    """The ``nertag`` application, without commands (see :mod:`nertag.cli`)."""
    app = typer.Typer(cls=_Group, add_completion=False, no_args_is_help=True,
                      pretty_exceptions_enable=False, rich_markup_mode=None,
                      help="nertag: a small named-entity tagger you can read end to end.")
    app.callback()(_root)
    return app
