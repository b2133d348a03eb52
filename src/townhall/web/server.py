"""Run the app under uvicorn so that live streams end as soon as the server stops."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

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
