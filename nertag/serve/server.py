"""Running the application on uvicorn: the listening socket, the workers, the timeouts.

:func:`run` binds the socket itself (so a port in use is a one-line error and
``--port 0`` picks a free port), loads the model and starts uvicorn: in this process
with one worker, else uvicorn's supervisor starts ``workers`` processes that share
the socket, each making its application (and loading the model) once at its start.

Timeouts: a connection must send a whole request's headers within ``timeout``
seconds of opening (or of its previous answer), or it is closed; a request's body
must arrive within ``timeout`` seconds (408, :func:`nertag.serve.app.read_body`); an
idle kept-alive connection is closed after 5 seconds (uvicorn's own).  So a slow or
silent client holds a connection for a bounded time, never a worker: tagging runs
on its own thread while the event loop serves every other connection.  Bytes that are
not an HTTP request get a JSON 400 as every other refusal (not uvicorn's plain text).

The socket listens from the start (a connection made early waits, it is not refused),
and ``on_ready`` shows the URL only once the server answers.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import os
import socket
import threading
import time
from dataclasses import replace
from typing import Callable

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from nertag.errors import NertagError
from nertag.serve.app import SETTINGS_ENV, Settings, create_app
from nertag.serve.schema import error_body

#: Connections waiting to be accepted, at most (uvicorn's default).
BACKLOG = 2048
#: Seconds the workers have to load the model and answer before the URL is shown.
READY_WAIT = 600.0

class _RequestTimeout:
    """Mixed into uvicorn's HTTP protocols: close a connection that has not sent the
    headers of a request within ``config.nertag_request_timeout`` seconds of opening
    or of its last response (uvicorn itself times out only idle kept-alive ones)."""

    _nertag_timer = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # an answer's headers and body are two writes: without this, the body waits
            # for the client's delayed ACK of the headers (40 ms) on a kept-alive connection
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._nertag_arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._nertag_arm()

    def connection_lost(self, exc) -> None:
        self._nertag_disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _nertag_arm(self) -> None:
        self._nertag_disarm()
        if not self.transport.is_closing():
            timeout = getattr(self.config, "nertag_request_timeout", 10.0)
            self._nertag_timer = self.loop.call_later(timeout, self._nertag_expire)

    def _nertag_disarm(self) -> None:
        if self._nertag_timer is not None:
            self._nertag_timer.cancel()
            self._nertag_timer = None

    def send_400_response(self, msg: str) -> None:
        """Bytes that are not an HTTP request get a JSON 400, as every other refusal
        (uvicorn's own is plain text), and the connection is closed."""
        body = error_body(f"malformed HTTP request ({msg.rstrip('.')}); send HTTP/1.1, "
                          f"e.g. POST /tag with 'Content-Type: application/json'")
        head = [b"HTTP/1.1 400 Bad Request"]
        head += [name + b": " + value for name, value in self.server_state.default_headers]
        head += [b"content-type: application/json", b"content-length: %d" % len(body),
                 b"connection: close"]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()

    def _nertag_expire(self) -> None:
        self._nertag_timer = None
        cycle = self.cycle  # the latest request whose headers arrived
        if (cycle is None or cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


class TimedH11(_RequestTimeout, H11Protocol):
    pass


try:  # uvicorn's faster parser, if httptools is installed
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - the serve extra installs it
    HTTP = f"{__name__}:TimedH11"
else:
    class TimedHttpTools(_RequestTimeout, HttpToolsProtocol):
        pass

    HTTP = f"{__name__}:TimedHttpTools"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and the loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (0: a free port): connections made from
    now on wait in its backlog until the server accepts them, never refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise NertagError(f"--host {host}: not an address of this machine ({e.strerror})") \
            from None
    family, kind, proto, _, address = infos[0]
    # proto as given (IPPROTO_TCP), not 0: asyncio sets TCP_NODELAY only on such sockets
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as e:
        sock.close()
        hint = "; pick another with --port (0: any free port)" if port else ""
        raise NertagError(f"cannot listen on {host}:{port}: {e.strerror}{hint}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def make_config(app, settings: Settings, *, workers: int = 1,
                access_log: bool = False) -> uvicorn.Config:
    """uvicorn's configuration: ``app`` is the application (one worker) or the import
    string of a factory (several)."""
    config = uvicorn.Config(app, factory=isinstance(app, str), workers=workers, http=HTTP,
                            lifespan="on", access_log=access_log,
                            log_level="info" if access_log else "warning", timeout_keep_alive=5,
                            timeout_graceful_shutdown=5)
    config.nertag_request_timeout = settings.timeout  # read by the protocol, in each worker
    return config


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``started()`` once it accepts connections (its
    application's startup done)."""

    def __init__(self, config: uvicorn.Config, started: Callable[[], None]):
        super().__init__(config)
        self._on_started = started

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()

    @contextlib.contextmanager
    def capture_signals(self):
        """Ctrl-C or SIGTERM stop the server and :func:`run` returns, as with several
        workers (uvicorn would raise the signal again once stopped: exit 130)."""
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def answering(sock: socket.socket, wait: float = READY_WAIT) -> bool:
    """True once a worker answers ``GET /health`` on ``sock``'s address (tried every
    0.1 s for at most ``wait`` seconds)."""
    host, port = sock.getsockname()[:2]
    if ipaddress.ip_address(host).is_unspecified:  # 0.0.0.0 or ::: ask this machine
        host = "::1" if sock.family == socket.AF_INET6 else "127.0.0.1"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(host, port, timeout=max(1.0, min(10.0, wait)))
        try:
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return True
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    return False


def run(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
        access_log: bool = False, on_ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); ``on_ready(url)`` once it answers:
    the model loaded and the application started (with several workers: once one of
    them answers; if none does within :data:`READY_WAIT` seconds, never)."""
    sock = bind(host, port)
    url = url_of(sock)
    tagger = settings.load()  # with several workers: only to report errors here, once
    if workers == 1:
        config = make_config(create_app(tagger, settings), settings, access_log=access_log)
    else:
        del tagger
        os.environ[SETTINGS_ENV] = replace(settings, workers=workers).to_env()
        config = make_config("nertag.serve.app:app_from_env", settings, workers=workers,
                             access_log=access_log)
    try:
        if workers == 1:
            _Server(config, lambda: on_ready(url)).run(sockets=[sock])
        else:
            from uvicorn.supervisors import Multiprocess

            threading.Thread(target=lambda: answering(sock) and on_ready(url), daemon=True,
                             name="nertag-serve-ready").start()
            Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
