"""Incident terms: what went wrong, named in any of the seven languages."""

from __future__ import annotations

import pytest

from townhall.radar.incidents import incident_kinds


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("My AirFry 5 basket MELTED and cracked last night", {"melt", "crack"}),
        ("Smeltende mandjes bij de ACME AirFry 5? Die van mij is vervormd.", {"melt", "warp"}),
        ("Mijn mandje is gesmolten", {"melt"}),
        ("la cesta se ha fundido", {"melt"}),
        ("¿las cestas de la AirFry 5 que se derriten?", {"melt"}),
        ("Der Korb ist geschmolzen", {"melt"}),
        ("Des paniers qui fondent ? Le mien est déformé", {"melt", "warp"}),
        ("a cesta tá derretendo", {"melt"}),
        ("il cestello si scioglie? Il mio ha una crepa", {"melt", "crack"}),
        ("The kettle leaks and it caught fire", {"leak", "fire"}),
    ],
)
def test_incident_kinds_in_seven_languages(text: str, kinds: set[str]) -> None:
    assert incident_kinds(text) == kinds


@pytest.mark.parametrize(
    "text",
    [
        "Cheese fondue night with sparkling wine",  # fondu, spark as parts of other words
        "lekker! bless you, firefox user here",
        "",
        "My KettleOne arrived late",
    ],
)
def test_ordinary_words_are_not_incidents(text: str) -> None:
    assert incident_kinds(text) == frozenset()
