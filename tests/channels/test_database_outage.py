"""A listener whose database does not answer reports it and goes on (it never raises, and its
cursor stays where it was, so the next pass fetches the same posts again)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from networks import mastodon_channel, policy_with
from redis_server import free_port
from townhall.channels.service import ChannelListener
from townhall.config import Settings
from townhall.db import make_engine, session_factory
from townhall.org.policy import load_policy
from townhall.pipeline.runner import Pipeline


def test_a_pass_while_the_database_is_down_is_reported_not_raised(tmp_path: Path) -> None:
    policy = load_policy(policy_with(tmp_path, mastodon_channel("http://127.0.0.1:9")))
    # Nothing listens on this port: every connection attempt fails at once.
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/townhall")
    sessions = session_factory(engine)
    listener = ChannelListener(
        policy.channel("mastodon"),
        sessions,
        Pipeline(sessions, policy),
        lambda: policy,
        Settings(home=tmp_path),
        lambda: datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
    )
    report = listener.once()
    assert report.error.startswith("the broker or the database does not answer (OperationalError)")
    assert report.stored == 0 and report.cursor == {}
    listener.close()
    engine.dispose()
