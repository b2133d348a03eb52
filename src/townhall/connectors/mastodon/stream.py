"""The Mastodon user stream (``/api/v1/streaming/user``, server-sent events) as a wake-up signal.

One reader thread per open stream, with httpx and a read timeout. ``close()`` shuts the socket
down so the blocked read returns at once, then joins the thread (bounded): nothing leaks.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

import httpx

_log = logging.getLogger(__name__)

WAKING_EVENTS = frozenset({"update", "notification", "status_update", "conversation"})
"""Stream events after which a ``fetch_new`` may find something."""


class UserStream:
    """Reads one streaming connection in a daemon thread and counts the events it saw."""

    def __init__(self, url: str, token: str, *, connect_timeout: float, read_timeout: float):
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        self._client = httpx.Client(timeout=httpx.Timeout(connect_timeout, read=read_timeout))
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._pending = 0
        self._socket: socket.socket | None = None
        self._closing = False
        self.news = threading.Event()
        """Set when a waking event arrived (and not yet taken)."""
        self.connected = threading.Event()
        """Set once the server accepted the stream (HTTP 200)."""
        self.ended = threading.Event()
        """Set when the stream is over (dropped, refused, timed out or closed)."""
        self._thread = threading.Thread(target=self._run, name="mastodon-user-stream", daemon=True)

    def start(self) -> UserStream:
        """Open the stream in the background."""
        self._thread.start()
        return self

    def take_news(self) -> int:
        """How many waking events arrived since the last call (and reset the count)."""
        with self._lock:
            pending, self._pending = self._pending, 0
            self.news.clear()
            return pending

    def close(self) -> None:
        """Stop reading (the socket is shut down), wait for the thread, free the client."""
        with self._lock:
            self._closing = True
            sock = self._socket
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(self._connect_timeout + 2.0)
        self._client.close()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", self._url, headers=self._headers) as response:
                if response.status_code != 200:
                    return
                network = response.extensions.get("network_stream")
                with self._lock:
                    if network is not None:
                        self._socket = network.get_extra_info("socket")
                    if self._closing:
                        return
                self.connected.set()
                event: str | None = None
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line == "" and event is not None:
                        if event in WAKING_EVENTS:
                            with self._lock:
                                self._pending += 1
                                self.news.set()
                        event = None
        except Exception:  # a failed stream only means "stop waiting"; fetch_new reports errors
            _log.debug("mastodon user stream ended", exc_info=True)
        finally:
            self.ended.set()
            self.news.set()
