"""Radar fixtures: a real HTTP server on 127.0.0.1 that records webhook POSTs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Hooks:
    """What the webhook server received; ``answers`` are (status, body) returned in order."""

    url: str = ""
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    answers: list[tuple[int, str]] = field(default_factory=list)

    def json(self, i: int = 0) -> Any:
        return json.loads(self.requests[i][2])


class _HookHandler(BaseHTTPRequestHandler):
    hooks: Hooks

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.hooks.requests.append((self.path, dict(self.headers), body))
        status, text = self.hooks.answers.pop(0) if self.hooks.answers else (200, "ok")
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    """A stdlib HTTP server on 127.0.0.1 that records POSTs."""
    recorded = Hooks()
    handler = type("Handler", (_HookHandler,), {"hooks": recorded})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="hooks", daemon=True)
    thread.start()
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield recorded
    server.shutdown()
    server.server_close()
    thread.join(10)
