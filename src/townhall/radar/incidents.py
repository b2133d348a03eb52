"""What went wrong, in seven languages: the incident terms that tie posts into one story.

A post about a product that says what happened to it ("my AirFry 5 basket melted", "Smeltende
mandjes bij de AirFry 5", "la cesta se ha fundido") names an *incident kind* (``melt``,
``crack``, ``fire`` …). Posts about the same product naming the same kind, close in time, are
one incident however many threads, channels and languages they come from (``replay.Incident``).

Pure: ``incident_kinds(text)`` is a set of kind names. The stems are prefixes matched at the
start of a word, case-insensitively, so inflections match ("melt" → melted, melting, meltdown).
"""

from __future__ import annotations

import re
from functools import cache

KINDS: dict[str, tuple[str, ...]] = {
    # en, nl, de, es, fr, pt, it; a stem ending in "=" is a whole word, the others prefixes
    "melt": (
        "melt", "molten", "smelt", "gesmolt", "schmelz", "geschmolz", "fundid", "fundió",
        "derret", "derrit", "fondu=", "fondre", "fondent=", "scioglie", "sciolt", "squagli",
    ),
    "crack": (
        "crack", "gebarst", "barst", "scheur", "gerissen", "riss=", "risse=", "grieta",
        "agriet", "rajad", "fissur", "fêlé", "fendu", "crepa=", "crepat", "incrinat", "rachad",
        "trincad",
    ),
    "warp": ("warp", "vervorm", "verform", "verzog", "deform", "déform", "torcid"),
    "blister": (
        "blister", "bubbl", "blaar", "blasen=", "blase=", "burbuj", "ampoll", "cloqu",
        "bolla=", "bolle=", "bolha",
    ),
    "fire": (
        "fire=", "fires=", "caught fire", "on fire", "flame", "sparks=", "sparked", "sparking",
        "brandde", "vlam", "feuer", "flamm", "fuego", "incendi", "feu=", "étincel", "fuoco",
        "fiamm", "fogo", "faísc", "scintill",
    ),
    "burn": (
        "burn", "scorch", "verbrand", "verschroei", "verbrann", "quemad", "quemó", "brûl",
        "bruciat", "queimad", "queimou",
    ),
    "smoke": ("smok", "rook=", "rauch", "humo=", "fumée", "fumo=", "fumaç"),
    "shock": (
        "electric shock", "shocked me", "schok", "stromschlag", "descarga eléctrica",
        "scossa", "choc électrique", "choque elétrico",
    ),
    "explode": ("explod", "explos", "ontplof", "estall", "scoppi"),
    "leak": (
        "leak", "lek=", "lekt=", "lekken=", "lekte", "undicht", "ausgelaufen", "fuga=", "gotea",
        "fuit", "vaza", "vazament",
    ),
    "overheat": (
        "overheat", "oververhit", "überhitz", "sobrecalent", "surchauff", "surriscald",
        "superaquec",
    ),
    "injury": (
        "injur", "hurt", "hospital", "gewond", "ziekenhuis", "verletz", "krankenhaus", "herid",
        "lesion", "blessé", "ferit", "ferid", "ospedal",
    ),
    "recall": ("recall", "terugroep", "rückruf", "retirada del mercado", "rappel", "richiamo",
               "recolha"),
    "toxic": (
        "toxic", "poison", "contamin", "giftig", "vergift", "tóxic", "tossic", "intoxica",
        "empoisonn", "avvelen", "envenen",
    ),
}  # fmt: skip
"""Incident kinds and the word stems (any of the seven languages) that name them."""


@cache
def _pattern() -> re.Pattern[str]:
    parts = []
    for kind, stems in KINDS.items():
        ordered = sorted(set(stems), key=len, reverse=True)
        alternatives = "|".join(
            re.escape(s[:-1]) + r"(?![^\W\d_])" if s.endswith("=") else re.escape(s)
            for s in ordered
        )
        parts.append(f"(?P<{kind}>{alternatives})")
    return re.compile(r"(?<![^\W\d_])(?:" + "|".join(parts) + ")", re.IGNORECASE)


def incident_kinds(text: str) -> frozenset[str]:
    """The incident kinds a text names ("basket MELTED and cracked" → {melt, crack})."""
    if not text:
        return frozenset()
    found = {m.lastgroup for m in _pattern().finditer(text) if m.lastgroup}
    return frozenset(found)
