"""Hostile files: valid posts mixed with lines built to break ingestion. The run finishes,
every valid post is stored exactly once, and every hostile line is reported by number."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine
from townhall.models import PostRecord


def valid(tag: str, n: int) -> dict[str, object]:
    return {
        "id": f"{tag}-{n}",
        "channel": "mastodon",
        "created_at": (datetime.now(UTC) - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "text": f"My ACME KettleOne is broken ({n}), any advice?",
        "author": {"handle": f"@fan{n}@example.social", "followers": n},
    }


def hostile(tag: str, n: int) -> list[bytes]:
    """The issue's cases, each as one line (ids are unique to the example)."""
    base = valid(tag, n)

    def with_(**changes: object) -> bytes:
        return orjson.dumps({**base, "id": f"{tag}-h{n}", **changes})

    deep = b'{"x":' * 1000 + b"1" + b"}" * 1000
    return [
        with_(created_at="2999-01-01T00:00:00Z"),
        with_(created_at="9999-12-31T23:59:59-12:00"),
        with_(created_at="0001-01-01T00:00:00+01:00"),
        with_(id="   "),
        with_(id="\u200b"),
        with_(author={"handle": "\u200b"}),
        with_(author={"handle": "@x", "verified": "yes"}),
        with_(created_at=1_700_000_000),
        with_()[:-1] + b',"deep":' + deep + b"}",
        orjson.dumps({**base, "id": f"{tag}-e{n}", "author": {"handle": "@x", "\x1b[2J": 1}}),
        b"{not json",
        b"[1, 2, 3]",
        b"\xff\xfe garbage",
    ]


@pytest.fixture
def database(
    make_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    layout=st.lists(st.one_of(st.just(-1), st.integers(0, 12)), min_size=1, max_size=40),
    noise=st.lists(st.binary(min_size=1, max_size=40), max_size=3),
)
def test_hostile_lines_never_stop_ingestion(
    database: str, tmp_path: Path, layout: list[int], noise: list[bytes]
) -> None:
    tag = uuid.uuid4().hex[:10]
    lines: list[bytes] = []
    expected: set[str] = set()
    bad_numbers: list[int] = []
    for n, kind in enumerate(layout):
        if kind == -1:
            post = valid(tag, n)
            expected.add(f"mastodon:{post['id']}")
            lines.append(orjson.dumps(post))
        else:
            lines.append(hostile(tag, n)[kind])
            bad_numbers.append(len(lines))
    for blob in noise:  # random bytes: a line of their own (maybe valid JSON, never a post)
        lines.append(b"#" + blob.replace(b"\n", b" ").replace(b"\r", b" "))
        bad_numbers.append(len(lines))
    file = tmp_path / f"{tag}.jsonl"
    file.write_bytes(b"\n".join(lines) + b"\n")

    result = CliRunner().invoke(app, ["ingest", str(file)])

    assert result.exit_code == (1 if bad_numbers else 0), result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    for number in bad_numbers:
        assert f"{file}:{number}: " in result.stderr.replace("\n", ""), number
    assert "\x1b[2J" not in result.stderr
    engine = make_engine(database)
    with engine.connect() as conn:
        stored = conn.scalars(
            select(PostRecord.post_id).where(PostRecord.post_id.like(f"mastodon:{tag}-%"))
        ).all()
    engine.dispose()
    assert sorted(stored) == sorted(expected)  # each valid post exactly once, nothing else
    summary = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["stored"], summary["rejected"]) == (len(expected), len(bad_numbers))
