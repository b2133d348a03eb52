"""`townhall eval spam|language|actionable`: figures per file, each saying how the file was used."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from townhall.cli.app import app
from townhall.understand.dataset import MODEL_PATH

needs_model = pytest.mark.skipif(not MODEL_PATH.is_file(), reason="needs `make install`")


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_language_reports_right_und_and_wrong_with_the_files_use(tmp_path: Path) -> None:
    file = write(
        tmp_path / "mixed.eval.jsonl",
        [
            {
                "text": "My kettle stopped working after two days, any advice?",
                "gold_language": "en",
            },
            {"text": "zzq", "gold_language": "en"},
            {
                "text": "Mein Wasserkocher ist kaputt gegangen, was soll ich tun?",
                "gold_language": "fr",
            },
        ],
    )
    result = CliRunner().invoke(app, ["eval", "language", str(file)])

    assert result.exit_code == 0, result.output
    row = orjson.loads(result.stdout.strip().splitlines()[0])
    assert row["use"] == "eval half: not used in tuning"
    assert (row["right"], row["und"], row["wrong"]) == (0.3333, 0.3333, 0.3333)


def test_a_file_without_the_gold_field_is_an_error(tmp_path: Path) -> None:
    file = write(tmp_path / "x.jsonl", [{"text": "hello"}])
    result = CliRunner().invoke(app, ["eval", "language", str(file)])
    assert result.exit_code == 1
    assert "gold_language" in result.output


@needs_model
def test_spam_compares_the_model_with_the_model_and_cues(tmp_path: Path) -> None:
    file = write(
        tmp_path / "sms.dev.jsonl",
        [
            {
                "text": "URGENT! You have won a £1000 prize, txt WIN to 80086 to claim",
                "gold_spam": True,
            },
            {"text": "ok see you at five", "gold_spam": False},
            {"text": "my order never arrived, please check", "gold_spam": False},
        ],
    )
    result = CliRunner().invoke(app, ["eval", "spam", str(file)])

    assert result.exit_code == 0, result.output
    row = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert row["use"] == "dev half: used in tuning"
    assert row["model + cues"]["recall"] == 1.0
    assert set(row) >= {"model alone", "model + cues", "n"}


@needs_model
def test_actionable_shows_the_naive_rule_next_to_the_model(tmp_path: Path) -> None:
    file = write(
        tmp_path / "help.jsonl",
        [
            {"text": "Anyone know how to get red wine out of a carpet?", "gold_actionable": True},
            {"text": "what a lovely sunny day?!", "gold_actionable": False},
        ],
    )
    result = CliRunner().invoke(app, ["eval", "actionable", str(file)])

    assert result.exit_code == 0, result.output
    row = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert row["use"] == "not a corpus half: tuning use unknown"
    assert row["naive rule (?, please, need)"]["precision"] == 0.5
