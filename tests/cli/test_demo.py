"""`townhall demo` end to end: a real process serves the inbox while the simulator fills it."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from townhall.connectors.standin import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_demo_serves_the_live_inbox_and_stops_cleanly(tmp_path: Path):
    port = free_port()
    token = secrets.token_urlsafe(32)
    env = {**os.environ, "TOWNHALL_HOME": str(tmp_path / "home"), "TOWNHALL_OPERATOR_TOKEN": token}
    env.pop("TOWNHALL_DATABASE_URL", None)
    # The whole simulated day in about a second: 100,000 simulated seconds per real second.
    command = [
        sys.executable,
        "-m",
        "townhall.cli",
        "demo",
        "--port",
        str(port),
        "--speed",
        "100000",
        "--skip-to",
        "0",
    ]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        health: dict[str, object] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                health = httpx.get(
                    f"http://127.0.0.1:{port}/readyz",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=2,
                ).json()
            except httpx.TransportError:
                health = {}
            if int(health.get("posts", 0)) >= 2_000:  # type: ignore[call-overload]
                break
            time.sleep(0.2)
        assert health.get("status") == "ok", health
        assert int(health["posts"]) >= 2_000  # type: ignore[call-overload]
        assert 0 < int(health["items"]) <= int(health["posts"])  # type: ignore[call-overload]

        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            login = client.get("/login")
            assert login.status_code == 200
            assert "text/html" in login.headers["content-type"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, errors = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, errors = proc.communicate()
            pytest.fail(f"demo did not stop within 30 s after Ctrl-C:\n{errors}")
    assert proc.returncode == 0, errors
    assert "dan.murphy@acme.example" in errors  # the printed logins
    assert "demo stopped:" in errors
    assert (tmp_path / "home" / "demo.db").exists()
