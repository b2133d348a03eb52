"""`townhall serve --workers 2`: two processes answer on one port, a login made through one is
good in the other, one of them leads the background loops, and SIGTERM stops them all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from townhall.connectors.standin import free_port
from townhall.db import make_engine, migrate, session_factory, transaction
from townhall.models import Role
from townhall.org.accounts import upsert_user

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "sofia.rossi@acme.example"
PASSWORD = "workers horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for the processes")


def _children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` and that uvicorn spawned (not a tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    database = tmp_path / "townhall.db"
    url = f"sqlite:///{database}"
    engine = make_engine(url)
    migrate(engine)
    with transaction(session_factory(engine)) as session:
        upsert_user(
            session,
            email=EMAIL,
            name="Sofia Rossi",
            department="customer_service",
            role=Role.APPROVER,
            password=PASSWORD,
            now=datetime.now(UTC),
        )
    engine.dispose()
    port = free_port()
    env = os.environ | {
        "TOWNHALL_HOME": str(tmp_path / "home"),
        "TOWNHALL_DATABASE_URL": url,
        "TOWNHALL_POLICY": str(ROOT / "examples" / "acme" / "policy.yaml"),
        "TOWNHALL_QUEUE_INTERVAL": "1",
    }
    env.pop("TOWNHALL_SECRET_KEY", None)  # the key file is made once and shared
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "townhall"), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        yield proc, base, database
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def test_two_processes_share_the_port_and_the_login_one_leads_sigterm_stops_both(server) -> None:
    proc, base, database = server
    deadline = time.monotonic() + 30
    while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = _children(proc.pid)
    assert len(workers) == 2

    with httpx.Client(base_url=base, timeout=10) as client:
        token = _CSRF.search(client.get("/login").text)
        assert token
        response = client.post(
            "/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert response.status_code == 303
        cookies = client.cookies
    # A new connection per request: the kernel hands each to either process, and both must
    # know the session (one secret key for all).
    for _ in range(12):
        with httpx.Client(base_url=base, timeout=10, cookies=cookies) as fresh:
            page = fresh.get("/inbox", headers={"Connection": "close"})
            assert page.status_code == 200
            assert "Sofia Rossi" in page.text

    # One of the two took the queue loop's lock (the file next to the database holds its pid).
    lock = database.parent / f"{database.name}.queue-pass.lock"
    deadline = time.monotonic() + 30
    while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert int(lock.read_text().strip()) in workers

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or ") Z" in Path(f"/proc/{pid}/stat").read_text()
