"""The background loops run in one web process at a time: the one holding the leader lock.

In process: ``queue_tick`` with a leader that does not hold the lock does nothing but reload the
policy. With two real ``townhall serve`` processes on one database (the run's backend): one
weekly digest goes out, not two; when the process running the loops is killed with SIGKILL, the
other one takes them over and works the queue.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import func, select, update

from townhall.cases.tasks import QueuePass
from townhall.connectors.standin import free_port
from townhall.db import make_engine, session_factory
from townhall.leader import QUEUE_LOOP, WEBHOOK_LOOP, Leader
from townhall.models import Item, SlaBreach
from townhall.org.policy import load_policy
from townhall.pipeline.runner import Pipeline
from townhall.posts import Post, now_utc
from townhall.web.worker import leader_of, queue_tick

pytestmark = pytest.mark.timeout(180)

ACME_POLICY = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"
WAIT = 45.0
"""Most seconds any one step below waits for (start-up, a digest, a takeover)."""


def _wait_for(what: str, done: Callable[[], bool], seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"waited {seconds:.0f} s for {what}"
        time.sleep(0.1)


def _post(n: int, text: str = "My kettle leaks, can you help?") -> Post:
    return Post.model_validate(
        {
            "id": f"mastodon:leader-{n}",
            "channel": "mastodon",
            "created_at": now_utc() - timedelta(minutes=1),
            "text": text,
            "author": {"handle": f"@fan{n}@example.social", "name": f"Fan {n}"},
        }
    )


# -- in process -----------------------------------------------------------------------------------
def test_a_process_without_the_lock_skips_the_pass(site: Any) -> None:
    site.feed(site.post("Kettle leaks"))
    holder, standby = Leader(site.engine), Leader(site.engine)
    web = site.app.state.web
    try:
        assert holder.holds(QUEUE_LOOP)
        assert queue_tick(web, standby) == QueuePass()
        with site.engine.connect() as conn:
            assert conn.scalar(select(Item.assignee_id)) is None
        holder.close()
        assert queue_tick(web, standby) == QueuePass(assigned=1)
        assert standby.leading == {QUEUE_LOOP}
    finally:
        holder.close()
        standby.close()


def test_the_app_says_which_loops_it_runs(site: Any) -> None:
    assert leader_of(site.app) is None  # queue_interval 0: no loops, no lock


# -- two web processes ----------------------------------------------------------------------------
@dataclass
class Mailbox:
    """What the local SMTP server received."""

    messages: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"

    def subjects(self) -> list[str]:
        found = []
        for message in self.messages:
            content = message.content
            raw = content.decode() if isinstance(content, bytes) else str(content)
            found += re.findall(r"^Subject: (.*)$", raw, flags=re.MULTILINE)
        return found


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """aiosmtpd on 127.0.0.1 and its port."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    yield box, port
    controller.stop()


@dataclass
class WebProcess:
    """One ``townhall serve`` process and its stderr log."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def runs(self, family: str) -> bool:
        return f"(pid {self.process.pid}) now runs {family}" in self.text()

    def healthy(self) -> bool:
        assert self.process.poll() is None, f"townhall serve exited:\n{self.text()}"
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


def _policy_with_a_digest_always_due(folder: Path) -> Path:
    """ACME's policy with one digest schedule (PR, Monday 00:00): due at any time of the week."""
    text = ACME_POLICY.read_text()
    digests = re.compile(r"^  digests:\n(?:    - .*\n)+", flags=re.MULTILINE)
    assert digests.search(text), "the ACME policy's digest schedules moved"
    path = folder / "policy.yaml"
    path.write_text(
        digests.sub('  digests:\n    - {department: pr, weekday: mon, time: "00:00"}\n', text)
    )
    return path


def test_two_web_processes_run_the_loops_once_and_one_takes_over(
    make_database_url: Callable[[], str],
    tmp_path: Path,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, smtp_port = mailbox
    url = make_database_url()
    policy_path = _policy_with_a_digest_always_due(tmp_path)
    policy = load_policy(policy_path)
    engine = make_engine(url)
    sessions = session_factory(engine)
    pipeline = Pipeline(sessions, policy)
    env = {
        **os.environ,
        "TOWNHALL_DATABASE_URL": url,
        "TOWNHALL_POLICY": str(policy_path),
        "TOWNHALL_QUEUE_INTERVAL": "0.2",
        "TOWNHALL_LISTEN": "false",
        "TOWNHALL_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "TOWNHALL_SECRET_KEY": "test-secret-key-for-two-web-processes-0123456789",
    }
    webs: list[WebProcess] = []
    try:
        for n in range(2):
            port = free_port()
            log = tmp_path / f"serve-{n}.log"
            home = tmp_path / f"home-{n}"
            with log.open("wb") as stderr:
                process = subprocess.Popen(
                    [sys.executable, "-m", "townhall.cli", "serve", "--port", str(port)],
                    env={**env, "TOWNHALL_HOME": str(home)},
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            webs.append(WebProcess(process, f"http://127.0.0.1:{port}", log))
        for web in webs:
            _wait_for("both web processes to answer /healthz", web.healthy)

        _wait_for("the digest", lambda: len(box.messages) >= 1)
        pipeline.process_batch([_post(1)], now_utc())
        with sessions() as session, session.begin():
            session.execute(update(Item).values(first_response_due_at=now_utc()))
        _wait_for("the first item's SLA breach", lambda: _breaches(sessions) == 1)
        # Both loops are alive: each reloads the edited policy file on its next pass.
        policy_path.write_text(policy_path.read_text() + "# edited\n")
        _wait_for(
            "both processes to reload the policy",
            lambda: all("policy reloaded" in web.text() for web in webs),
        )

        (subject,) = box.subjects()  # one digest: not one per web process
        assert subject.startswith("ACME weekly digest: Public relations, week ")
        for family in (QUEUE_LOOP, WEBHOOK_LOOP):
            assert sum(web.runs(family) for web in webs) == 1, [web.text() for web in webs]
        assert _breaches(sessions) == 1

        (leader,) = [web for web in webs if web.runs(QUEUE_LOOP)]
        (other,) = [web for web in webs if web is not leader]
        os.kill(leader.process.pid, signal.SIGKILL)
        leader.process.wait(10)

        pipeline.process_batch([_post(2, "The lid of my kettle broke")], now_utc())
        with sessions() as session, session.begin():
            session.execute(
                update(Item)
                .where(Item.first_response_breached_at.is_(None))
                .values(first_response_due_at=now_utc())
            )
        _wait_for("the other process to take over the queue", lambda: _breaches(sessions) == 2)
        # Each loop takes its lock on its own next pass: the webhook sender may come a moment
        # after the queue pass.
        _wait_for(
            "the other process to run both loops",
            lambda: other.runs(QUEUE_LOOP) and other.runs(WEBHOOK_LOOP),
        )
        assert len(box.messages) == 1  # the new leader finds the week's digest already sent
        assert other.healthy()
    finally:
        for web in webs:
            if web.process.poll() is None:
                web.process.send_signal(signal.SIGTERM)
        for web in webs:
            try:
                web.process.wait(15)
            except subprocess.TimeoutExpired:
                web.process.kill()
                web.process.wait(10)
        engine.dispose()


def _breaches(sessions: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count(SlaBreach.id))))
