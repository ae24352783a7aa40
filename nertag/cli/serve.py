"""``nertag serve``: the tagger behind an HTTP API and a page (:mod:`nertag.serve`).

Starlette and uvicorn are the optional ``serve`` extra; without them the command
says so in one line.  Nothing here imports them until the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nertag.cli.application import (MIN_SCORE_OPTION, PATTERN_MODE_OPTION, PATTERNS_OPTION,
                                    PatternMode)
from nertag.errors import NertagError

#: Bounds of the request limits (a bigger request is better cut in several).
MAX_BYTES, MAX_TEXTS, MAX_TIMEOUT = 100_000_000, 100_000, 3600.0

MISSING_EXTRA = "nertag serve needs the optional 'serve' extra: pip install 'nertag[serve]'"


def command(
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="DIR",
                                        help="model directory (default, or 'default': the "
                                             "shipped model)"),
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS",
                             help="address to listen on (default: this machine only; "
                                  "0.0.0.0 opens it to the network)"),
    port: int = typer.Option(8080, "--port", "-p", min=0, max=65535, metavar="N",
                             help="port to listen on (0: any free port)"),
    workers: int = typer.Option(1, "--workers", "-w", min=1, metavar="N",
                                help="worker processes, each with the model loaded once (at "
                                     "most one per CPU: more are lowered, with a warning)"),
    max_bytes: int = typer.Option(1_000_000, "--max-bytes", min=1, max=MAX_BYTES, metavar="N",
                                  help="largest request body, bytes (larger: 413)"),
    max_texts: int = typer.Option(1000, "--max-texts", min=1, max=MAX_TEXTS, metavar="N",
                                  help="most texts in one request (more: 413)"),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, max=MAX_TIMEOUT,
                                  metavar="SECONDS",
                                  help="time a client has to send a request's headers, "
                                       "and then its body"),
    access_log: bool = typer.Option(False, "--access-log",
                                    help="log every request on standard error"),
    patterns: Optional[Path] = PATTERNS_OPTION,
    pattern_mode: Optional[PatternMode] = PATTERN_MODE_OPTION,
    min_score: Optional[float] = MIN_SCORE_OPTION,
):
    """Serve the tagger over HTTP: POST /tag, GET /health, GET /model, and a page at /
    to try it.

    \b
    Examples:
      nertag serve                                   # http://127.0.0.1:8080/
      nertag serve --model my-model --workers 2 --port 9000
      curl -s localhost:8080/tag -H 'Content-Type: application/json' \\
           -d '{"text": "Laura Okafor flew to Geneva."}'

    A request's "min_score" (0 to 1) replaces --min-score for it.
    """
    run_serve(model=model, host=host, port=port, workers=workers, max_bytes=max_bytes,
              max_texts=max_texts, timeout=timeout, access_log=access_log, patterns=patterns,
              pattern_mode=pattern_mode and pattern_mode.value, min_score=min_score)


def run_serve(*, model: Optional[str], host: str, port: int, workers: int, max_bytes: int,
              max_texts: int, timeout: float, access_log: bool,
              patterns: Optional[Path] = None, pattern_mode: Optional[str] = None,
              min_score: Optional[float] = None) -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise NertagError(MISSING_EXTRA) from None
    from nertag.serve.app import Settings
    from nertag.serve.server import is_loopback, run

    settings = Settings(model=None if model is None else str(model), max_bytes=max_bytes,
                        max_texts=max_texts, timeout=timeout, pattern_mode=pattern_mode,
                        patterns=None if patterns is None else str(patterns.absolute()),
                        min_score=min_score)
    if not is_loopback(host):
        typer.echo(f"warning: listening on {host}, not only on this machine: anyone who can "
                   f"reach it can use the tagger (there is no authentication)", err=True)

    from nertag.tagging.workers import cap_workers

    workers, note = cap_workers("--workers", workers)
    if note:
        typer.echo(f"warning: {note}", err=True)

    def ready(url: str) -> None:
        name = "the shipped model" if model is None else str(model)
        typer.echo(f"nertag serve: {url} ({name}, {workers} worker{'s' * (workers > 1)}; "
                   f"Ctrl-C to stop)", err=True)

    run(settings, host=host, port=port, workers=workers, access_log=access_log,
        on_ready=ready)
