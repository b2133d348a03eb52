"""`townhall classify` and `townhall eval`: enriched JSONL, honest metrics, clear errors."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from townhall.cli.app import app


def test_classify_enriches_every_valid_line_and_names_bad_ones(tmp_path: Path, make_post):
    posts = [
        make_post(
            1, text="My ACME KettleOne stopped working after a week. Can you send a new one?"
        ),
        make_post(
            2,
            text="Loving my #AirFry5 😍 best purchase this year",
            author={"handle": "@a@b.c", "location": "🇩🇪 Berlin", "followers": 25_000},
        ),
        make_post(3, text="", reshare_of="mastodon:100001"),
    ]
    lines = [orjson.dumps(p.to_json()) for p in posts]
    file = tmp_path / "in.jsonl"
    file.write_bytes(b"\n".join([lines[0], b"{nope", lines[1], lines[2]]))

    result = CliRunner().invoke(app, ["classify", str(file)])

    assert result.exit_code == 1  # one line rejected
    assert f"{file}:2: not valid JSON" in result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["mastodon:100001", "mastodon:100002", "mastodon:100003"]
    complaint, praise, reshare = rows
    assert complaint["sentiment"]["label"] == "negative"
    assert complaint["intent"] == "complaint" and complaint["actionable"] is True
    assert complaint["topics"] == ["brand:acme", "product:kettleone"]
    assert complaint["country"] == "GB" and complaint["reach"] == "nano"
    assert praise["sentiment"]["label"] == "positive"
    assert praise["topics"] == ["product:airfry_5"]
    assert praise["country"] == "DE" and praise["reach"] == "mid"
    assert reshare["language"] is None and reshare["topics"] == []
    for row in rows:
        assert -1 <= row["sentiment"]["score"] <= 1 and 0 <= row["toxicity"] <= 1


def test_eval_intents_reports_on_the_held_out_split():
    result = CliRunner().invoke(app, ["eval", "intents"])

    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert summary["n_test"] > 400
    assert 0.75 < summary["macro_f1"] <= 1  # 0.79 when written, 0.82+ with the larger set
    assert 0.85 < summary["actionable_f1"] <= 1
    assert "Confusion" in result.stderr


def test_eval_sentiment_compares_with_vader(tmp_path: Path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "\n".join(
            orjson.dumps(row).decode()
            for row in [
                {"text": "this kettle is sick 🔥", "gold_sentiment": "positive"},
                {"text": "good price but broke in a week", "gold_sentiment": "negative"},
                {"text": "not bad at all", "gold_sentiment": "positive"},
                {"text": "great, another 2h on hold 🙃", "gold_sentiment": "negative"},
            ]
        )
    )

    result = CliRunner().invoke(app, ["eval", "sentiment", str(gold)])

    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert summary["n"] == 4
    assert summary["townhall"]["accuracy"] == 1.0
    assert summary["vader"]["accuracy"] < 1.0


def test_eval_sentiment_names_a_bad_line(tmp_path: Path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"text": "ok", "gold_sentiment": "meh"}\n')

    result = CliRunner().invoke(app, ["eval", "sentiment", str(gold)])

    assert result.exit_code == 1
    assert "gold.jsonl:1: gold_sentiment must be one of" in result.stderr


def test_odd_input_gets_a_result_or_a_numbered_error(tmp_path: Path, make_post):
    odd_texts = [
        "",
        "x" * 100_000,
        "🔥🔥😍🙃",
        "Привет ACME 你好 مرحبا KettleOne",
        "a\x00b\x1bc\u202e",
    ]
    lines = [orjson.dumps(make_post(n, text=t).to_json()) for n, t in enumerate(odd_texts, 1)]
    lines.insert(2, b'{"id": "mastodon:9", "text": "\xff\xfe broken"}')
    file = tmp_path / "odd.jsonl"
    file.write_bytes(b"\n".join(lines))

    result = CliRunner().invoke(app, ["classify", str(file)])

    assert result.exit_code == 1
    assert f"{file}:3: invalid UTF-8" in result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(odd_texts)
    assert rows[0]["intent"] and rows[0]["sentiment"]["label"] == "neutral"
    assert len(rows[1]["text"]) == 100_000
    assert rows[2]["sentiment"]["label"] in {"positive", "negative", "neutral"}
    assert "product:kettleone" in rows[3]["topics"]
    assert rows[4]["text"] == "abc"


def test_route_writes_the_decision_and_its_reasons(tmp_path: Path, make_post):
    posts = [
        make_post(
            1,
            text="Hi ACME, I'm a reporter at the Daily Post. Can we get a comment on the "
            "AirFry 5 basket reports for tomorrow's story?",
        ),
        make_post(2, text="Your checkout page crashes every time I try to pay, website is down"),
    ]
    file = tmp_path / "in.jsonl"
    file.write_bytes(b"\n".join(orjson.dumps(p.to_json()) for p in posts))

    result = CliRunner().invoke(app, ["route", str(file)])

    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    for row in rows:
        assert {"department", "supporting", "priority", "sla_minutes", "rule", "why"} <= row.keys()
        assert row["why"].startswith(f"Rule '{row['rule']}'") or row["rule"] == "fallback"
        assert row["sla_minutes"]["first_response"] is not None
    assert rows[0]["intent"] == "press_inquiry" and rows[0]["department"] == "pr"
    assert rows[1]["department"] == "it" and "customer_service" in rows[1]["supporting"]


def test_model_tune_cross_validates_on_the_train_split_only(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    seeds = [
        ("my parcel never came and nobody answers", "complaint", True),
        ("does the coat come in navy", "question", True),
        ("best coffee in town, thank you", "praise", False),
        ("the website is down, cannot log in", "outage", True),
    ]
    rows = [
        {"text": f"{text} #{n}", "intent": i, "actionable": a, "sentiment": "neutral"}
        for n in range(8)
        for text, i, a in seeds
    ]
    (data / "part_t.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in rows))

    result = CliRunner().invoke(app, ["model", "tune", "--data", str(data)])

    assert result.exit_code == 0, result.output
    assert "5-fold CV on the train split" in result.stderr
    assert "(current)" in result.stderr and "intent macro-F1" in result.stderr
