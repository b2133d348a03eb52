"""`townhall conduct check` through the real typer app: JSON lines, exit codes, the author
looked up in the policy, stdin, and nothing in a draft can drive the terminal."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from townhall.cli.app import app

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"
BAD = "Sorry about the lid! Call us on +44 20 7946 0958 and we'll refund you."


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["conduct", "check", "--policy", str(ACME), *args], input=stdin)


def lines(stdout: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stdout.splitlines()]


def test_findings_are_json_lines_and_a_block_exits_1() -> None:
    result = run("--channel", "mastodon", "--as", "dan.murphy@acme.example", BAD)
    assert result.exit_code == 1, result.output
    rows = lines(result.stdout)
    assert [(r["rule"], r["level"]) for r in rows] == [
        ("phone_number", "block"),
        ("refund_promise", "needs_approval"),
    ]
    for row in rows:
        assert set(row) == {"rule", "level", "message", "why", "start", "end"}
    assert [BAD[r["start"] : r["end"]] for r in rows] == ["+44 20 7946 0958", "we'll refund you"]
    assert "2 finding(s): blocked" in result.stderr


def test_the_author_decides_who_may_make_a_claim() -> None:
    text = "We'll refund you in full."
    assert lines(run("--channel", "mastodon", text).stdout)[0]["rule"] == "refund_promise"
    as_approver = run("--channel", "mastodon", "--as", "SOFIA.ROSSI@acme.example", text)
    assert as_approver.exit_code == 0 and as_approver.stdout == ""
    assert "ok: no findings" in as_approver.stderr


def test_needs_approval_and_warn_exit_0() -> None:
    result = run("--channel", "bluesky", "Unfortunately we're out of stock.")
    assert result.exit_code == 0
    assert [r["rule"] for r in lines(result.stdout)] == ["preferred_words"]


def test_kind_and_paid_flags() -> None:
    private = run("--channel", "mastodon", "--kind", "private", "I'll call 07911 123456.")
    assert private.exit_code == 0 and private.stdout == ""
    paid = run("--channel", "mastodon", "--kind", "post", "--paid", "20% off all kettles")
    assert paid.exit_code == 1 and lines(paid.stdout)[0]["rule"] == "disclosure"
    takeover = run("--channel", "mastodon", "--kind", "takeover", "Ask me anything")
    assert [r["rule"] for r in lines(takeover.stdout)] == ["takeover_sign_off"]


def test_file_and_stdin(tmp_path: Path) -> None:
    draft = tmp_path / "draft.txt"
    draft.write_text("x" * 501, encoding="utf-8")
    result = run("--channel", "mastodon", "--file", str(draft))
    assert result.exit_code == 1
    assert lines(result.stdout) == [
        {
            "rule": "length",
            "level": "block",
            "message": "Shorten the text: the network does not publish a post this long.",
            "why": "501 characters as Mastodon counts them (a link counts 23); at most 500",
            "start": 500,
            "end": 501,
        }
    ]
    piped = run("--channel", "bluesky", "--file", "-", stdin="Thanks, enjoy the tea!\n")
    assert piped.exit_code == 0 and piped.stdout == ""


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    unknown_person = run("--channel", "mastodon", "--as", "nobody@acme.example", "hi")
    assert unknown_person.exit_code == 2
    assert "--as: 'nobody@acme.example' is not among the people of the policy" in (
        unknown_person.stderr
    )
    unknown_channel = run("--channel", "myspace", "hi")
    assert unknown_channel.exit_code == 2
    assert "unknown channel 'myspace' (valid: mastodon, bluesky, forum, rss)" in (
        unknown_channel.stderr
    )
    both = run("--channel", "mastodon", "--file", "x.txt", "hi")
    assert both.exit_code == 2 and "not both" in both.stderr
    neither = run("--channel", "mastodon")
    assert neither.exit_code == 2
    missing = run("--channel", "mastodon", "--file", str(tmp_path / "nope.txt"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00oops")
    assert run("--channel", "mastodon", "--file", str(binary)).exit_code == 2
    bad_kind = run("--channel", "mastodon", "--kind", "tweet", "hi")
    assert bad_kind.exit_code == 2


def test_a_broken_policy_is_reported_with_its_line(tmp_path: Path) -> None:
    text = ACME.read_text("utf-8").replace("check: card_numbers", "check: card_number")
    broken = tmp_path / "policy.yaml"
    broken.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["conduct", "check", "--policy", str(broken), "--channel", "mastodon", "hi"]
    )
    assert result.exit_code == 2
    assert f"{broken}:" in result.stderr and ".check: invalid value 'card_number'" in result.stderr


def test_nothing_in_the_draft_can_drive_the_terminal() -> None:
    text = "Project Falcon\x1b[2J\u009b\u202e is here"
    result = run("--channel", "mastodon", text)
    assert result.exit_code == 1
    for bad in ("\x1b", "\u009b", "\u202e"):
        assert bad not in result.stdout
    (row,) = lines(result.stdout)
    assert row["rule"] == "confidential" and text[row["start"] : row["end"]] == "Project Falcon"
    why = run("--channel", "mastodon", "Project\u202eFalcon is OUR fault\u009b").stdout
    assert "\u202e" not in why and "\u009b" not in why
    assert all(isinstance(r["why"], str) for r in lines(why))
