"""Connecting to a Dask scheduler within a deadline.

``distributed.Client(address, timeout=...)`` bounds only the TCP connection: its
handshake then waits for the peer's first message with no bound, so an address that
accepts connections and never answers (a stuck process, a firewall's tarpit) hangs it
forever, and one that speaks another protocol (HTTP: the dashboard's port) answers with
bytes that Dask reads as the size of a message ("out of memory").  So :func:`connect`
first asks the address who it is -- the comm handshake and the scheduler's ``identity``
-- in a thread of its own with its own event loop, under one deadline, and makes the
Client only once a scheduler has answered.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

import distributed
from distributed.comm import connect as comm_connect

from nertag.errors import NertagError

#: Seconds a scheduler has to answer (the environment variable overrides the default).
TIMEOUT_ENV = "NERTAG_DASK_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
START_HINT = "start one with 'dask scheduler' and give the address it prints"


def default_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise NertagError(f"{TIMEOUT_ENV}={raw!r}: give seconds, more than 0 and at most 3600")
    return value


async def _identity(address: str, timeout: float, box: dict) -> None:
    """The scheduler's answer to ``identity``, into ``box["reply"]``."""
    comm = await comm_connect(address, timeout=timeout)  # (its timeout: TCP's connect only)
    try:
        await comm.write({"op": "identity", "reply": True})
        box["reply"] = await comm.read()
    finally:
        comm.abort()


def check_address(address: str) -> None:
    """A :class:`NertagError` unless ``address`` is one Dask can connect to (as written:
    no name is looked up)."""
    from distributed.comm import parse_address, parse_host_port, registry

    try:
        scheme, loc = parse_address(address)
        registry.get_backend(scheme)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(loc)
    except ValueError as e:
        raise NertagError(f"{address}: not a Dask scheduler's address ({e}); give e.g. "
                          f"tcp://10.0.0.5:8786") from None


def probe(address: str, timeout: float) -> None:
    """Returns once the Dask scheduler at ``address`` has answered, within ``timeout``
    seconds; else a :class:`NertagError` saying what answered, if anything."""
    check_address(address)
    box: dict = {}

    async def ask():
        try:
            await asyncio.wait_for(_identity(address, timeout, box), timeout)
        except BaseException as e:  # noqa: BLE001 - whatever the peer's bytes caused
            box["error"] = e

    # its own thread and event loop: the deadline holds also where a loop is running
    # (a notebook), and if name resolution outlives the loop (its executor's threads)
    thread = threading.Thread(target=asyncio.run, args=(ask(),), daemon=True,
                              name="nertag-dask-probe")
    thread.start()
    thread.join(timeout + 1)
    error, reply = box.get("error"), box.get("reply")
    if thread.is_alive() or isinstance(error, (TimeoutError, asyncio.TimeoutError)) or (
            isinstance(error, OSError) and str(error).startswith("Timed out")):
        raise NertagError(f"no Dask scheduler answered at {address} within {timeout:g} s; "
                          f"check the address, or {START_HINT}")
    if error is not None or not isinstance(reply, dict) or not isinstance(reply.get("type"),
                                                                         str):
        raise NertagError(f"{address} answered, but not as a Dask scheduler (is it another "
                          f"server, e.g. the dashboard's HTTP port?); give the scheduler's "
                          f"address, tcp://HOST:8786 by default")
    if reply["type"] != "Scheduler":
        raise NertagError(f"{address} is a Dask {reply['type'].lower()}, not the scheduler; "
                          f"give the scheduler's address (its log says 'Scheduler at')")


def connect(address: str, timeout: float | None = None):
    """A client of the Dask scheduler at ``address`` (e.g. ``tcp://10.0.0.5:8786``); it
    must answer within ``timeout`` seconds (default: 10, or ``$NERTAG_DASK_TIMEOUT``)."""
    timeout = default_timeout() if timeout is None else timeout
    deadline = time.monotonic() + timeout
    probe(address, timeout)
    try:
        return distributed.Client(address, timeout=max(deadline - time.monotonic(), 1.0))
    except (OSError, TimeoutError, ValueError) as e:
        raise NertagError(f"cannot connect to a Dask scheduler at {address} "
                          f"({type(e).__name__}: {e}); {START_HINT}") from None
