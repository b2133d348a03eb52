"""Language detection tuned for short posts."""

from __future__ import annotations

import pytest

from townhall.understand.language import UNDETERMINED, clean_for_language, detect_language


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
    assert clean_for_language("@bob@mastodon.example hi #Kettle https://a.example/x 🔥") == "hi"
    # only hashtags carry words: their words are kept
    assert clean_for_language("#AirFry5 #Domingo 🔥") == "AirFry5 Domingo"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fyi", "en"),
        ("lol thx", "en"),
        ("@acme what's the actual warranty process?", "en"),
        ("@acme https://t.co/x what's the actual warranty process? 🙃", "en"),
        ("Domingo de churros en la freidora de aire #AirFry5", "es"),
        ("Wow thanks @acme for the 45 min hold music 🙃", "en"),
        ("Het apparaat is kapot en de klantenservice reageert niet", "nl"),
        ("Qualcuno sa come si pulisce il cestello?", "it"),
    ],
)
def test_short_and_mixed_texts(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["zzq", "xq", "Bonn", "#AirFry5"])
def test_tiny_unknown_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == UNDETERMINED
    assert detect_language(text, hint="pt") == "pt"


def test_chat_words_take_the_hint() -> None:
    assert detect_language("fyi", hint="de") == "de"
    assert detect_language("fyi") == "en"


def test_capitals_do_not_read_as_japanese() -> None:
    assert detect_language("MY KETTLE IS BROKEN AGAIN AND NOBODY ANSWERS") == "en"


@pytest.mark.parametrize(
    "text",
    ["x" * 100_000, "ctrl\x00\x1b\n text", "<script>alert(1)</script>", "Привет 東京 hello"],
)
def test_edge_inputs(text: str) -> None:
    code = detect_language(text)
    assert code is None or code == UNDETERMINED or (len(code) == 2 and code.islower())
