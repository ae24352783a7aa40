"""The Starlette application of ``nertag serve``: ``POST /tag``, ``GET /health``,
``GET /model`` and the page at ``GET /``.

The model is loaded once, when the application is made (:func:`create_app`; with
several workers, :func:`app_from_env` in each worker process at its start), never per
request.  Every answer is JSON except the page and its two files; every refusal is
``{"error": "..."}`` with its status (400, 404, 405, 408, 413, 415, 422, and 503 when
too many requests wait; a bug gives 500 and the same JSON, its traceback only in the
server's log).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import yaml
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from nertag.api import Tagger, load
from nertag.errors import NertagError
from nertag.inference.decode import DECODERS
from nertag.serve.page import CSP, page_html, static_file
from nertag.serve.runner import TagRunner
from nertag.serve.schema import ApiError, check_content_type, error_body, parse_tag_request
from nertag.version import __version__

#: The environment variable that gives the settings to worker processes (JSON).
SETTINGS_ENV = "NERTAG_SERVE_SETTINGS"
JSON_TYPE = "application/json"
ENDPOINTS = "GET /, POST /tag, GET /health, GET /model"
#: Requests waiting for a worker's tagging thread at most; more are answered 503.
MAX_WAITING = 1000
#: With several workers, a busy worker closes a connection after this many answers, or
#: this many seconds, so that the client reconnects (see :class:`Rebalancer`).
REBALANCE_AFTER = 64
REBALANCE_SECONDS = 2.0


@dataclass(frozen=True)
class Settings:
    model: Optional[str] = None     # model directory (None: the shipped model)
    max_bytes: int = 1_000_000      # largest request body
    max_texts: int = 1000           # most texts in one request
    timeout: float = 10.0           # seconds to send a request's headers, and its body
    workers: int = 1                # worker processes sharing the listening socket
    patterns: Optional[str] = None  # entity patterns file (None: the model directory's)
    pattern_mode: Optional[str] = None  # override, fill or patterns (None: override)
    min_score: Optional[float] = None  # entities scored below it left out (None: none)

    def load(self) -> Tagger:
        """The Tagger these settings describe."""
        return load(self.model, patterns=self.patterns, pattern_mode=self.pattern_mode,
                    min_score=self.min_score)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "Settings":
        raw = os.environ.get(SETTINGS_ENV)
        return cls(**json.loads(raw)) if raw else cls()


def _json(obj, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(obj, ensure_ascii=False), status, headers, JSON_TYPE)


def _error(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(error_body(message), status, headers, JSON_TYPE)


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The request's body, if it is at most ``limit`` bytes and arrives within ``timeout``
    seconds (413 and 408 otherwise).  A body a little over the limit is read and dropped,
    so the client gets its 413 on a connection still open; a much larger one (as
    declared, or as it comes) closes the connection after the answer."""
    drain = max(4 * limit, 1 << 20)

    def too_big(size: str, close: bool) -> ApiError:
        return ApiError(413, f"the body is {size} bytes; the limit is {limit:,} bytes: send "
                             f"less text per request (or start the server with a larger "
                             f"--max-bytes)", close)

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > drain:
        raise too_big(f"{int(declared):,}", True)

    async def read() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            elif size > drain:
                raise too_big(f"over {drain:,}", True)
        if size > limit:
            raise too_big(f"{size:,}", False)
        return b"".join(chunks)

    try:
        if hasattr(asyncio, "timeout"):  # Python >= 3.11: no task per request
            async with asyncio.timeout(timeout):
                return await read()
        return await asyncio.wait_for(read(), timeout)
    except asyncio.TimeoutError:
        raise ApiError(408, f"the request's body did not arrive within {timeout:g} s",
                       close=True) from None


class Rebalancer:
    """Workers share one listening socket, and the kernel hands a burst of new
    connections to whichever worker wakes first: a client pool's 8 connections may all
    land on one of 2 workers, which then does all the work while the other idles.  So a
    worker busy with other requests answers a connection's ``REBALANCE_AFTER``-th
    request (or its first after ``REBALANCE_SECONDS``: large requests are few) with
    ``Connection: close``; the client reconnects (HTTP clients do so by
    themselves) and the new connection goes to the worker that is quicker to accept it
    -- the less busy one, whose event loop is not slowed by its tagging thread.  (A
    worker does not know how busy the others are: with the load already even, this
    costs a reconnection every ``REBALANCE_AFTER`` requests.)  Connections are known
    by the client's (address, port)."""

    def __init__(self, after: int = REBALANCE_AFTER, seconds: float = REBALANCE_SECONDS):
        self.after, self.seconds = after, seconds
        self.answered: dict = {}  # client -> [answers, time of the first]

    def close_after(self, client, busy: bool) -> bool:
        now = time.monotonic()
        seen = self.answered.get(client)
        if seen is None:
            if len(self.answered) > 10_000:  # clients gone long ago
                self.answered.clear()
            seen = self.answered[client] = [0, now]
        seen[0] += 1
        if busy and (seen[0] >= self.after or now - seen[1] >= self.seconds):
            del self.answered[client]
            return True
        return False


def model_info(tagger: Tagger) -> dict:
    """``GET /model``: what the model predicts, its recipe, dev scores and provenance."""
    def read(name: str, parse):
        try:
            return parse((tagger.path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            return None

    meta = read("meta.json", json.loads) or {}
    provenance = dict(meta.get("provenance") or {})
    return {"name": tagger.path.name, "labels": tagger.labels, "decoder": tagger.decoder,
            "tags": meta.get("labels"), "recipe": read("config.yaml", yaml.safe_load),
            "dev_scores": provenance.pop("dev_scores", None), "provenance": provenance,
            "format": meta.get("format"), "format_version": meta.get("format_version"),
            "trained_with": meta.get("nertag_version"), "patterns": patterns_info(tagger)}


def patterns_info(tagger: Tagger) -> dict | None:
    """``GET /model``'s ``patterns``: the entity patterns merged (None: none)."""
    rules = tagger.patterns
    if rules is None:
        return None
    return {"file": Path(rules.source).name, "count": len(rules), "mode": rules.mode,
            "labels": rules.entity_labels()}


def create_app(tagger: Tagger | None = None, settings: Settings = Settings()) -> Starlette:
    """The application around ``tagger`` (None: load ``settings.model`` now)."""
    if tagger is None:
        tagger = settings.load()
    runner = TagRunner(tagger)
    rebalance = Rebalancer() if settings.workers > 1 else None
    started = time.time()
    info = model_info(tagger)
    info["server"] = {"nertag_version": __version__, "max_bytes": settings.max_bytes,
                      "max_texts": settings.max_texts, "timeout": settings.timeout,
                      "decoders": list(DECODERS), "sentences": list(runner.modes),
                      "min_score": tagger.min_score}
    page = page_html(tagger.labels, info["name"], tagger.decoder).encode("utf-8")
    files = {name: static_file(name) for name in ("page.js", "page.css")}

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files:
            raise HTTPException(404)
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(files[name], media_type=f"{kind}; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    async def tag(request: Request) -> Response:
        try:
            check_content_type(request.headers.get("content-type"))
            body = await read_body(request, settings.max_bytes, settings.timeout)
            req = parse_tag_request(body, max_texts=settings.max_texts, decoders=DECODERS,
                                    sentence_modes=runner.modes)
            if runner.waiting >= MAX_WAITING:
                return _error(503, f"the server is busy: {runner.waiting} requests are "
                                   f"waiting; retry in a moment", {"Retry-After": "1"})
            out = await runner.tag(req)
        except ApiError as e:
            return _error(e.status, e.message, {"Connection": "close"} if e.close else None)
        except ClientDisconnect:  # gone before its body arrived: nobody reads the answer
            return _error(400, "the client closed the connection before sending its body")
        except NertagError as e:  # the Tagger refused an option the request checks missed
            return _error(422, e.message)
        close = rebalance and rebalance.close_after(request.scope.get("client"), runner.busy)
        return Response(out, headers={"Connection": "close"} if close else None,
                        media_type=JSON_TYPE)

    async def health(request: Request) -> Response:
        return _json({"status": "ok", "model": info["name"], "pid": os.getpid(),
                      "started": round(started, 3), "requests": runner.requests,
                      "model_calls": runner.calls})

    async def model(request: Request) -> Response:
        return _json(info)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 404:
            message = f"no such endpoint: {where}; the endpoints are {ENDPOINTS}"
        elif exc.status_code == 405:
            allowed = [m.strip() for m in (exc.headers or {}).get("Allow", "").split(",")]
            allowed = " or ".join(m for m in allowed if m not in ("", "HEAD"))
            message = f"{where}: method not allowed here; use {allowed or 'another method'}"
        else:
            message = f"{where}: {exc.detail}"
        return _error(exc.status_code, message, exc.headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        return _error(500, f"internal error ({type(exc).__name__}); the server's log has "
                           f"the details")

    def lifespan(app):
        return _Lifespan(runner)

    routes = [Route("/", index, methods=["GET"]),
              Route("/static/{name}", static, methods=["GET"]),
              Route("/tag", tag, methods=["POST"]),
              Route("/health", health, methods=["GET"]),
              Route("/model", model, methods=["GET"])]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.runner, app.state.tagger = runner, tagger
    return app


class _Lifespan:
    """Stops the tagging thread when the server stops."""

    def __init__(self, runner: TagRunner):
        self.runner = runner

    async def __aenter__(self):
        return None

    async def __aexit__(self, *exc):
        self.runner.close()


def app_from_env() -> Starlette:
    """The application of one worker process (uvicorn's factory), from :data:`SETTINGS_ENV`."""
    return create_app(settings=Settings.from_env())
