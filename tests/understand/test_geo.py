"""Country from free-text profile locations."""

from __future__ import annotations

import pytest

from townhall.understand.geo import country_from_location


@pytest.mark.parametrize(
    ("location", "country"),
    [
        ("NYC", "US"),
        ("nyc", "US"),
        ("Bay Area", "US"),
        ("SF", "US"),
        ("LA", "US"),
        ("London", "GB"),
        ("London, ON", "CA"),
        ("London, Ontario", "CA"),
        ("Paris", "FR"),
        ("Paris, TX", "US"),
        ("Portland", "US"),
        ("Lagos", "NG"),
        ("🇩🇪 Berlin", "DE"),
        ("🇩🇪", "DE"),
        ("Leeds, UK", "GB"),
        ("UK", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Wales", "GB"),
        ("USA", "US"),
        ("U.S.", "US"),
        ("the Netherlands", "NL"),
        ("Holland", "NL"),
        ("Deutschland", "DE"),
        ("España", "ES"),
        ("Brasil", "BR"),
        ("São Paulo", "BR"),
        ("Sao Paulo", "BR"),
        ("Zürich", "CH"),
        ("München", "DE"),
        ("somewhere in Ohio", "US"),
        ("Austin, Texas", "US"),
        ("Chicago, IL", "US"),
        ("Dover, DE", "US"),
        ("Berlin, DE", "DE"),
        ("Los Angeles, CA", "US"),
        ("Toronto, CA", "CA"),
        ("Atlanta, GA", "US"),
        ("Amsterdam, NL", "NL"),
        ("St. John's, NL", "CA"),
        ("Vancouver, BC", "CA"),
        ("Berlin Germany", "DE"),
        ("Manchester UK", "GB"),
        ("Sydney NSW", "AU"),
        ("Mumbai", "IN"),
        ("Lyon, FRA", "FR"),
        ("Berlin | she/her", "DE"),
    ],
)
def test_known_places(location: str, country: str) -> None:
    assert country_from_location(location) == country


@pytest.mark.parametrize(
    "location",
    [
        None,
        "",
        "   ",
        "the moon",
        "127.0.0.1",
        "she/her",
        "he/him",
        "Earth",
        "everywhere",
        "in my head",
        "the best place",
        "x" * 100_000,
        "ctrl\x00\x1b text",
        "<script>alert(1)</script>",
        "😂🔥",
    ],
)
def test_not_a_place(location: str | None) -> None:
    assert country_from_location(location) is None


def test_mixed_scripts_do_not_crash() -> None:
    assert country_from_location("東京, Japan") == "JP"
    assert country_from_location("Москва") in {None, "RU"}
