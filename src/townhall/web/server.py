"""Run the app under uvicorn so that live streams end as soon as the server stops."""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from townhall.web.context import WebState


def make_server(
    app: FastAPI, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning"
) -> uvicorn.Server:
    """A uvicorn server for ``app``; setting its ``should_exit`` also ends open SSE streams.

    uvicorn waits for open connections before it exits, and a signal-less server (one in a
    thread, or stopped by code) never reaches sse-starlette's own shutdown hook, so the app
    watches the server's flag itself.
    """
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    web: WebState = app.state.web
    web.servers.append(server)
    return server


def app_from_environment() -> FastAPI:
    """The app of one of ``townhall serve --workers N``'s processes: settings from the
    environment (``TOWNHALL_POLICY`` names the policy the command loaded), an engine of its
    own. uvicorn calls it once in each process it starts."""
    from townhall.cli.runtime import open_runtime
    from townhall.web.app import create_app

    runtime = open_runtime()
    return create_app(runtime.settings, runtime.engine, runtime.source)


def tcp_listener(sock: socket.socket) -> socket.socket:
    """``sock`` as a socket that says it speaks TCP, so that asyncio turns Nagle's algorithm
    off (``TCP_NODELAY``) on every connection it accepts.

    A listening socket made with ``socket.socket(family)`` reports protocol 0; its
    connections inherit that, and asyncio sets ``TCP_NODELAY`` only where the protocol is
    ``IPPROTO_TCP``. Without it each small answer on a kept-alive connection waited ~40 ms for
    the browser's delayed ACK (uvicorn's ``bind_socket`` does this for ``--workers``:
    Kludex/uvicorn#3149). Other sockets (a Unix socket) are returned as they are."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto != 0:
        return sock
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


def run_workers(*, host: str, port: int, workers: int, log_level: str = "warning") -> None:
    """Serve ``app_from_environment`` in ``workers`` processes sharing one listening socket.

    uvicorn's supervisor starts the processes (fresh interpreters, not forks of this one),
    restarts one that dies, and stops them all on Ctrl-C or SIGTERM; in each, the signal ends
    the server and its open live streams. The socket is bound here, as ``uvicorn.run`` would,
    but marked as TCP (``tcp_listener``).
    """
    config = uvicorn.Config(
        "townhall.web.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    sock = tcp_listener(config.bind_socket())
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
