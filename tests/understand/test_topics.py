"""Topics: brand, product and competitor keywords with Aho-Corasick."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from townhall.understand.topics import TopicMatcher

if TYPE_CHECKING:
    from townhall.org.policy import Policy


@pytest.fixture(scope="module")
def matcher(acme_policy: Policy) -> TopicMatcher:
    return TopicMatcher.from_policy(acme_policy)


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("My ACME KettleOne stopped working", ["brand:acme", "product:kettleone"]),
        ("#AirFry5 is great", ["product:airfry_5"]),
        ("#airfry5 again", ["product:airfry_5"]),
        ("the airfry 5 rocks", ["product:airfry_5"]),
        ("@acme help please", ["brand:acme"]),
        ("@acme@mastodon.example hi", ["brand:acme"]),
        ("#KettleOne", ["product:kettleone"]),
        ("my kettle one is loud", ["product:kettleone"]),
        ("switching to GLOBEX corp", ["competitor:globex"]),
        ("#Globex is cheaper", ["competitor:globex"]),
        ("Ácme blender pro", ["brand:acme", "product:blender_pro"]),
        ("#BlenderPro", ["product:blender_pro"]),
        ("acme smart scale vs globex", ["brand:acme", "competitor:globex", "product:smartscale"]),
    ],
)
def test_matches(matcher: TopicMatcher, text: str, topics: list[str]) -> None:
    assert matcher.match(text) == topics


@pytest.mark.parametrize(
    "text",
    [
        "acmemart sells kettles",
        "superacme",
        "blenderpro without a hash",  # space-less form only counts in a hashtag or mention
        "AirFry50 is not ours",
        "",
        "nothing to see here",
    ],
)
def test_whole_words_only(matcher: TopicMatcher, text: str) -> None:
    assert matcher.match(text) == []


def test_from_mapping_with_diacritics() -> None:
    m = TopicMatcher.from_keywords({"dessert:creme": ["Crème Brûlée"], "x:y": []})
    assert m.match("CRÈME brulee!") == ["dessert:creme"]
    assert m.match("#cremebrulee") == ["dessert:creme"]
    assert m.match("crèmebrulée") == []
    assert TopicMatcher({}).match("anything") == []


def test_match_many(matcher: TopicMatcher) -> None:
    assert matcher.match_many(["ACME", "nope"]) == [["brand:acme"], []]


@pytest.mark.parametrize(
    "text",
    [
        "ACME " * 20_000,
        "😂🔥 #AirFry5 🇩🇪",
        "Привет ACME 東京 مرحبا",
        "ctrl\x00ACME\x1b",
        "<script>ACME</script>",
    ],
)
def test_edge_inputs(matcher: TopicMatcher, text: str) -> None:
    topics = matcher.match(text)
    assert topics == sorted(set(topics))
