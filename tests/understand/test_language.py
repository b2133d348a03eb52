"""Language detection tuned for short posts."""

from __future__ import annotations

import pytest

from townhall.understand.language import clean_for_language, detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My kettle stopped working after two days, any advice?", "en"),
        ("Mein Wasserkocher ist nach zwei Tagen kaputt gegangen", "de"),
        ("Bonjour, ma bouilloire ne fonctionne plus depuis hier", "fr"),
        ("Mi hervidor dejó de funcionar después de dos días", "es"),
        ("東京のお店で買いました", "ja"),
        ("@acme https://t.co/xyz #AirFry5 Das Gerät ist wirklich großartig 😍", "de"),
    ],
)
def test_detects(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_too_short_returns_hint() -> None:
    assert detect_language("ok", hint="de") == "de"
    assert detect_language("😍🔥", hint="fr") == "fr"
    assert detect_language("@acme https://x.example #1", hint=None) is None
    assert detect_language("", hint="EN-gb") == "en"


def test_low_confidence_prefers_hint() -> None:
    assert detect_language("hi", hint="nl") == "nl"


def test_bad_hint_ignored() -> None:
    assert detect_language("", hint="english") is None
    assert detect_language("??", hint="") is None


def test_cleaning() -> None:
    assert clean_for_language("@bob@mastodon.example hi #Kettle https://a.example/x 🔥") == (
        "hi Kettle"
    )


@pytest.mark.parametrize(
    "text",
    ["x" * 100_000, "ctrl\x00\x1b\n text", "<script>alert(1)</script>", "Привет 東京 hello"],
)
def test_edge_inputs(text: str) -> None:
    code = detect_language(text)
    assert code is None or (len(code) == 2 and code.islower())
