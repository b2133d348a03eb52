"""`townhall policy simulate`: from a file, stdin or the database, with clear errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.config import get_settings
from townhall.db import make_engine
from townhall.models import Item, PostRecord

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "examples" / "acme" / "policy.yaml"


@pytest.fixture
def database(
    make_database_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """A fresh database as the configured one; TOWNHALL_POLICY is ACME's."""
    url = make_database_url()
    monkeypatch.setenv("TOWNHALL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", url)
    monkeypatch.setenv("TOWNHALL_POLICY", str(ACME))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def acme_with(tmp_path: Path, name: str, routing: dict[str, Any] | None = None) -> Path:
    """ACME's policy file, with ``routing`` instead of its own when given."""
    data = yaml.safe_load(ACME.read_text())
    if routing is not None:
        data["routing"] = routing
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def everything_to(tmp_path: Path, name: str, lead: str) -> Path:
    """A policy (model-independent) that sends every item to ``lead``."""
    return acme_with(tmp_path, name, {"rules": [], "fallback": {"lead": lead}})


def forum_to_marketing(tmp_path: Path) -> Path:
    """A policy (model-independent): forum posts to marketing, the rest to customer service."""
    rule = {"id": "forum", "when": {"channel": ["forum"]}, "then": {"lead": "marketing"}}
    return acme_with(
        tmp_path, "forum.yaml", {"rules": [rule], "fallback": {"lead": "customer_service"}}
    )


def post(n: int, channel: str = "mastodon", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": f"{channel}:{n}",
        "channel": channel,
        "created_at": "2026-11-20T14:00:00Z",
        "text": f"Post number {n} about the ACME KettleOne",
        "author": {"handle": f"@user{n}@example.social", "followers": 10},
    }
    data.update(overrides)
    return data


def jsonl(rows: list[Any]) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in rows) + b"\n"


def run(*args: str, input: bytes | None = None) -> Any:
    return CliRunner().invoke(app, ["policy", "simulate", *args], input=input)


def table_row(table: str, first: str) -> list[str]:
    """The other cells of the table row whose first cell is ``first``."""
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] == first:
            return cells[1:]
    raise AssertionError(f"no row {first!r} in:\n{table}")


def departments(report: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {
        d["department"]: (d["current"], d["new"])
        for d in report["departments"]
        if d["current"] or d["new"]
    }


DAY = [
    post(1, "forum"),
    post(2),
    post(3, "forum", text="A question for the forum"),
    post(4, "bluesky"),
    post(5, "mastodon", text="", reshare_of="forum:1"),  # a plain reshare opens no item
    post(1, "forum"),  # a repeat opens no item either
    b"{not json",
    post(6),
]


def test_a_file_is_understood_and_routed_by_both_policies(tmp_path: Path, database: str) -> None:
    file = tmp_path / "day.jsonl"
    file.write_bytes(jsonl(DAY))
    current = everything_to(tmp_path, "current.yaml", "customer_service")

    result = run(
        str(file),
        "--policy",
        str(forum_to_marketing(tmp_path)),
        "--against",
        str(current),
        "--json",
    )

    assert result.exit_code == 1, result.output  # the bad line
    assert f"{file}:7: not valid JSON" in result.stderr
    report = orjson.loads(result.stdout)
    assert report["items"] == 5
    assert report["left_out"] == {"plain reshares": 1, "duplicates": 1, "rejected lines": 1}
    assert departments(report) == {"customer_service": (5, 3), "marketing": (0, 2)}
    assert [(c["post_id"], c["text"]) for c in report["changes"]] == [
        ("forum:1", "Post number 1 about the ACME KettleOne"),
        ("forum:3", "A question for the forum"),
    ]
    change = report["changes"][0]
    assert change["from"] == {
        "department": "customer_service",
        "rule": "fallback",
        "priority": "normal",
    }
    assert change["to"] == {"department": "marketing", "rule": "forum", "priority": "normal"}
    assert change["why"] == "Rule 'forum': channel is forum, so marketing leads."


def test_stdin_and_the_table(tmp_path: Path, database: str) -> None:
    current = everything_to(tmp_path, "current.yaml", "customer_service")
    posts = jsonl([post(n, "forum") for n in range(1, 5)])

    result = run(
        "-",
        "--policy",
        str(forum_to_marketing(tmp_path)),
        "--against",
        str(current),
        "--show",
        "1",
        input=posts,
    )

    assert result.exit_code == 0, result.output
    assert table_row(result.stdout, "marketing") == ["0", "4", "+4"]
    assert table_row(result.stdout, "customer_service") == ["4", "0", "-4"]
    assert table_row(result.stdout, "total") == ["4", "4", "0"]
    assert table_row(result.stdout, "hr") == ["0", "0", "0"]
    assert "4 of 4 items change owner." in result.stdout
    assert "forum:1  customer_service → marketing  (rule fallback → forum)" in result.stdout
    assert "forum:2" not in result.stdout  # --show 1
    assert "… and 3 more items change owner" in result.stdout
    assert "4 items simulated" in result.stderr


def test_against_defaults_to_the_configured_policy(tmp_path: Path, database: str) -> None:
    file = tmp_path / "day.jsonl"
    file.write_bytes(jsonl([post(1, "forum"), post(2)]))
    acme = orjson.loads(run(str(file), "--policy", str(ACME), "--json").stdout)

    everyone_to_hr = everything_to(tmp_path, "hr.yaml", "hr")
    result = run(str(file), "--policy", str(everyone_to_hr), "--json")

    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["against"] == str(ACME)
    assert acme["changes"] == []  # ACME against ACME
    assert {d: c for d, (c, _) in departments(report).items() if c} == {
        d: c for d, (c, _) in departments(acme).items() if c
    }
    assert {d: n for d, (_, n) in departments(report).items() if n} == {"hr": 2}


def ingest(tmp_path: Path, posts: list[dict[str, Any]]) -> None:
    file = tmp_path / "ingest.jsonl"
    file.write_bytes(jsonl(posts))
    result = CliRunner().invoke(app, ["ingest", str(file)])
    assert result.exit_code == 0, result.output


def stored_departments(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(PostRecord.post_id, Item.department).join(Item, Item.post_pk == PostRecord.id)
        ).all()
    engine.dispose()
    return dict(rows)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


PURCHASES = [
    "Where can I buy the ACME KettleOne? I want to order 20 for our office",
    "How much is the AirFry 5? Looking to buy one this week",
]
OTHERS = [
    "Love my new AirFry 5, best purchase this year!",
    "Journalist at the Daily Planet here, can ACME comment on the recall?",
    "The checkout on the website is broken, I can't pay",
]


def test_since_reroutes_stored_items_from_their_stored_enrichment(
    tmp_path: Path, database: str
) -> None:
    now = datetime.now(UTC)
    recent = [
        post(n, text=text, created_at=iso(now - timedelta(hours=2)))
        for n, text in enumerate(PURCHASES + OTHERS, start=1)
    ]
    old = [post(90, text=PURCHASES[0], created_at=iso(now - timedelta(days=10)))]
    reshare = post(91, text="", reshare_of="mastodon:1", created_at=iso(now - timedelta(hours=1)))
    ingest(tmp_path, [*recent, *old, reshare])
    stored = stored_departments(database)
    assert len(stored) == 6  # the reshare has no item
    assert "sales" in stored.values(), stored  # the case this test is about
    data = yaml.safe_load(ACME.read_text())
    for rule in data["routing"]["rules"]:
        if rule["then"]["lead"] == "sales":  # purchase intent, and the buying words
            rule["then"].update(lead="marketing", supporting=["sales"])
    new = acme_with(tmp_path, "purchase_to_marketing.yaml", data["routing"])

    result = run("--since", "7d", "--policy", str(new), "--json")

    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    in_window = {k: v for k, v in stored.items() if k != "mastodon:90"}
    assert report["items"] == len(in_window) == 5
    # Re-routed by the policy ingest used, the stored enrichment gives the stored owners.
    assert {d: c for d, (c, _) in departments(report).items() if c} == Counter(in_window.values())
    sales = sorted(k for k, v in in_window.items() if v == "sales")
    assert sorted(c["post_id"] for c in report["changes"]) == sales
    assert all(c["to"]["department"] == "marketing" for c in report["changes"])
    assert departments(report)["sales"] == (len(sales), 0)


def test_since_counts_only_posts_inside_the_window(tmp_path: Path, database: str) -> None:
    now = datetime.now(UTC)
    ingest(
        tmp_path,
        [
            post(1, created_at=iso(now - timedelta(minutes=90))),
            post(2, created_at=iso(now - timedelta(hours=30))),
            post(3, created_at=iso(now - timedelta(days=10))),
        ],
    )
    everyone_to_hr = str(everything_to(tmp_path, "hr.yaml", "hr"))

    def items(since: str) -> int:
        result = run("--since", since, "--policy", everyone_to_hr, "--json")
        assert result.exit_code == 0, result.output
        return int(orjson.loads(result.stdout)["items"])

    assert [items(s) for s in ("30m", "2h", "24h", "2d", "7d", "2w")] == [0, 1, 1, 2, 2, 3]


@pytest.mark.parametrize("since", ["7", "7x", "d", "-3d", "0h", "seven days", "9999999999w"])
def test_a_bad_since_is_a_clear_error(tmp_path: Path, database: str, since: str) -> None:
    result = run("--since", since, "--policy", str(ACME))

    assert result.exit_code == 2
    assert "--since" in result.stderr
    assert result.stdout == ""


def test_file_and_since_together_or_neither_are_refused(tmp_path: Path, database: str) -> None:
    file = tmp_path / "day.jsonl"
    file.write_bytes(jsonl([post(1)]))

    both = run(str(file), "--since", "7d", "--policy", str(ACME))
    neither = run("--policy", str(ACME))

    assert both.exit_code == neither.exit_code == 2
    assert "error: give a Post JSONL FILE or --since, not both" in both.stderr
    assert "error: give a Post JSONL FILE to read (- for stdin) or --since" in neither.stderr
    assert both.stdout == neither.stdout == ""


def test_a_missing_file_is_a_clear_error(tmp_path: Path, database: str) -> None:
    result = run(str(tmp_path / "nope.jsonl"), "--policy", str(ACME))

    assert result.exit_code == 2
    assert "nope.jsonl: no such file" in result.stderr


@pytest.mark.parametrize("which", ["--policy", "--against"])
def test_a_bad_policy_is_reported_like_policy_check(
    tmp_path: Path, database: str, which: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        ACME.read_text().replace(
            "then: {lead: sales, supporting: [marketing]",
            "then: {lead: saless, supporting: [marketing]",
        )
    )
    file = tmp_path / "day.jsonl"
    file.write_bytes(jsonl([post(1)]))
    good = str(ACME)
    args = ["--policy", str(bad), "--against", good]
    if which == "--against":
        args = ["--policy", good, "--against", str(bad)]

    result = run(str(file), *args)
    check = CliRunner().invoke(app, ["policy", "check", str(bad)])

    assert result.exit_code == 2
    assert check.exit_code == 1
    line = next(
        n
        for n, text in enumerate(ACME.read_text().splitlines(), start=1)
        if "lead: sales, supporting: [marketing]" in text
    )
    rules = yaml.safe_load(ACME.read_text())["routing"]["rules"]
    index = next(i for i, r in enumerate(rules) if r["then"]["lead"] == "sales")
    assert f"bad.yaml:{line}: routing.rules[{index}].then.lead" in check.stderr
    assert result.stderr.strip() == check.stderr.strip()
    assert result.stdout == ""


def test_since_uses_stored_topics_and_the_new_brand_keywords(tmp_path: Path, database: str) -> None:
    now = iso(datetime.now(UTC) - timedelta(hours=1))
    ingest(
        tmp_path,
        [
            post(1, text="The KettleOne is great", created_at=now),
            post(2, text="Initech makes a better kettle", created_at=now),
            post(3, text="Nice weather", created_at=now),
        ],
    )
    rule: dict[str, Any] = {
        "id": "mentions",
        "when": {"topics_any": ["product:kettleone"]},
        "then": {"lead": "marketing"},
    }
    same_brand = acme_with(
        tmp_path, "same.yaml", {"rules": [rule], "fallback": {"lead": "customer_service"}}
    )
    data = yaml.safe_load(same_brand.read_text())
    data["brand"]["competitors"].append({"name": "Initech"})  # not in the stored topics
    data["routing"]["rules"][0]["when"]["topics_any"].append("competitor:initech")
    new_brand = tmp_path / "new_brand.yaml"
    new_brand.write_text(yaml.safe_dump(data, sort_keys=False))
    current = str(everything_to(tmp_path, "current.yaml", "customer_service"))

    def moved(new: Path) -> list[tuple[str, str]]:
        result = run("--since", "1d", "--policy", str(new), "--against", current, "--json")
        assert result.exit_code == 0, result.output
        changes = orjson.loads(result.stdout)["changes"]
        return [(c["post_id"], c["why"]) for c in changes]

    kettle = ("mastodon:1", "Rule 'mentions': it mentions product:kettleone, so marketing leads.")
    initech = ("mastodon:2", "Rule 'mentions': it mentions competitor:initech, so marketing leads.")
    assert moved(same_brand) == [kettle]  # the topics stored at ingest
    assert moved(new_brand) == [kettle, initech]  # the new brand's keywords find one more
