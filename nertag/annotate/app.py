"""The Starlette application of ``nertag annotate`` and its server.

``GET /`` the page (``/static/annotate.js``, ``/static/annotate.css``), ``GET /health``,
and three JSON endpoints, each taking ``{"client": "<the tab's id>", ...}``:

* ``POST /api/next`` -- ``{"item", "progress", "warning", "can_undo"}``: the client's
  sentence (``item`` null: none is left);
* ``POST /api/answer`` -- ``{"id", "answer": "accept"|"reject"|"ignore", "spans":
  [{"token_start", "token_end", "label"}]}``: saves the decision, answers as ``next``;
* ``POST /api/undo`` -- takes back the client's last decision and answers as ``next``
  with that sentence (``"undone"``: the answer taken back).

A refusal is ``{"error": "..."}`` with its status (400, 404, 409, 413, 415, 422).
The server is ``nertag serve``'s (:mod:`nertag.serve.server`: the socket, port errors,
request timeouts, Ctrl-C), with one worker: the session lives in this process.
"""

from __future__ import annotations

import json
import os
from typing import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from nertag.annotate.page import CSP, page_html, static_file
from nertag.annotate.session import Refused, Session
from nertag.serve.app import Settings, read_body
from nertag.serve.schema import ApiError, check_content_type, error_body
from nertag.serve.server import _Server, bind, make_config, url_of

JSON_TYPE = "application/json"
#: The largest request body (a sentence's spans fit many times over).
MAX_BYTES = 1_000_000
TIMEOUT = 10.0
ENDPOINTS = "GET /, POST /api/next, POST /api/answer, POST /api/undo, GET /health"


def _json(obj, status: int = 200) -> Response:
    return Response(json.dumps(obj, ensure_ascii=False), status, media_type=JSON_TYPE)


def _error(status: int, message: str) -> Response:
    return Response(error_body(message), status, media_type=JSON_TYPE)


async def _request(request: Request) -> dict:
    """The request's JSON object, with a ``client`` string."""
    check_content_type(request.headers.get("content-type"))
    body = await read_body(request, MAX_BYTES, TIMEOUT)
    try:
        obj = json.loads(body)
    except ValueError:
        raise ApiError(400, "the body is not JSON; send a JSON object") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("client"), str) \
            or not 0 < len(obj["client"]) <= 100:
        raise ApiError(400, 'send a JSON object with "client": the tab\'s id (a string)')
    return obj


def create_app(session: Session, title: str) -> Starlette:
    """The application around ``session``."""
    page = page_html(session.labels, title).encode("utf-8")
    files = {name: static_file(name) for name in ("annotate.js", "annotate.css")}

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

    def endpoint(act: Callable[[dict], dict]):
        async def handle(request: Request) -> Response:
            try:
                return _json(act(await _request(request)))
            except Refused as e:
                return _error(e.status, e.message)
            except ApiError as e:
                return _error(e.status, e.message)
            except ClientDisconnect:
                return _error(400, "the client closed the connection before sending its body")
        return handle

    def answer(req: dict) -> dict:
        return session.answer(req["client"], req.get("id"), req.get("answer"),
                              req.get("spans", []))

    async def health(request: Request) -> Response:
        return _json({"status": "ok", "pid": os.getpid(), **session.progress()})

    async def http_error(request: Request, exc: HTTPException) -> Response:
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 404:
            return _error(404, f"no such endpoint: {where}; the endpoints are {ENDPOINTS}")
        return _error(exc.status_code, f"{where}: {exc.detail}")

    routes = [Route("/", index, methods=["GET"]),
              Route("/static/{name}", static, methods=["GET"]),
              Route("/health", health, methods=["GET"]),
              Route("/api/next", endpoint(lambda r: session.next(r["client"])),
                    methods=["POST"]),
              Route("/api/answer", endpoint(answer), methods=["POST"]),
              Route("/api/undo", endpoint(lambda r: session.undo(r["client"])),
                    methods=["POST"])]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.session = session
    return app


def run(session: Session, title: str, *, host: str = "127.0.0.1", port: int = 8080,
        on_ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve the page until interrupted (Ctrl-C or SIGTERM); ``on_ready(url)`` once it
    answers."""
    sock = bind(host, port)
    url = url_of(sock)
    config = make_config(create_app(session, title), Settings(timeout=TIMEOUT))
    try:
        _Server(config, lambda: on_ready(url)).run(sockets=[sock])
    finally:
        sock.close()
