"""Run a stand-in network server (an ASGI app speaking a network's wire format) on loopback.

Tests and the demo use stand-ins for the networks we cannot reach: a local Mastodon, Bluesky
PDS or news feed. ``LocalServer`` starts one under uvicorn in a background thread on
127.0.0.1 and a free port, and stops it (bounded waits) when closed.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """An ASGI app served on ``http://127.0.0.1:<port>`` from a daemon thread."""

    def __init__(self, app: Any, port: int | None = None, start_timeout: float = 10.0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._start_timeout = start_timeout
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="off",
                timeout_graceful_shutdown=1,
            )
        )
        self._thread = threading.Thread(target=self._server.run, name=f"standin:{self.port}")
        self._thread.daemon = True

    def start(self) -> LocalServer:
        """Start serving; returns once the port accepts connections (or raises after the
        start timeout)."""
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the stand-in server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (open streams are cut) and wait for the thread, at most ``timeout`` s."""
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
