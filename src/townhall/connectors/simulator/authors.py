"""A generated population of authors: channel-style handles, messy locations, heavy-tailed reach."""

from __future__ import annotations

import math
import random
import re
import unicodedata
from dataclasses import dataclass, replace

from townhall.posts import Author

CHANNELS = ("mastodon", "bluesky", "forum", "rss")


@dataclass(frozen=True)
class Persona:
    """One simulated account: who writes, in which language, how many people see it."""

    channel: str
    handle: str
    name: str | None
    followers: int
    location: str | None
    lang: str
    verified: bool = False
    activity: float = 1.0  # relative posting rate within the channel
    role: str = "member"  # member | influencer | journalist | blog | customer
    did: str = ""  # bluesky account id (did:plc:…), empty elsewhere
    site: str = ""  # rss: the blog's address

    def author(self) -> Author:
        """The ``Author`` as the channel would describe this persona."""
        return Author(
            handle=self.handle,
            name=self.name,
            followers=self.followers,
            location=self.location,
            verified=self.verified,
        )


@dataclass(frozen=True)
class _Locale:
    lang: str
    weight: float
    places: tuple[str, ...]
    first: tuple[str, ...]
    last: tuple[str, ...]
    instances: tuple[str, ...]


_EN_FIRST = (
    "Dave", "Sarah", "Tom", "Priya", "Mike", "Jess", "Chris", "Aisha", "Ben", "Emma", "Liam",
    "Olivia", "Sam", "Rachel", "Kwame", "Chloe", "Jamal", "Hannah", "Ravi", "Megan", "Connor",
    "Zoe", "Tyler", "Grace", "Marcus", "Nia", "Owen", "Lucy", "Ade", "Kate", "Jordan", "Ellie",
)  # fmt: skip
_EN_LAST = (
    "Marsh", "Patel", "Smith", "Okafor", "Brown", "Nguyen", "Taylor", "Walsh", "Hughes", "Khan",
    "Murphy", "Evans", "Campbell", "Adeyemi", "Wilson", "Reid", "Clarke", "Lee", "Moore", "Ali",
)  # fmt: skip
_EN_INSTANCES = (
    "mastodon.social", "mas.to", "hachyderm.io", "mstdn.social", "mastodon.online", "fosstodon.org",
    "toot.community", "social.coop", "mastodon.scot", "aus.social", "mastodon.nz", "sfba.social",
)  # fmt: skip

_LOCALES = (
    _Locale("en", 0.30, (
        "Leeds, UK", "London", "london", "Manchester", "Bristol 🇬🇧", "Glasgow, Scotland",
        "Cardiff", "Brighton & Hove", "Yorkshire", "Dublin, Ireland", "Belfast", "UK",
        "North East England", "Edinburgh", "Birmingham, UK",
    ), _EN_FIRST, _EN_LAST, _EN_INSTANCES),
    _Locale("en", 0.30, (
        "NYC", "Brooklyn, NY", "Bay Area", "somewhere in Ohio", "Austin, TX", "PNW", "Chicago",
        "Los Angeles", "Philly", "Boston, MA", "Denver", "Atlanta, GA", "Minneapolis", "Florida 🌴",
        "Portland, OR", "Seattle", "Texas", "New Jersey", "she/her | Detroit",
    ), _EN_FIRST, _EN_LAST, _EN_INSTANCES),
    _Locale("en", 0.15, (
        "London, ON", "Toronto", "Vancouver, BC", "Sydney, Australia", "Melbourne", "Auckland",
        "Lagos", "Nairobi", "Cape Town", "Accra 🇬🇭", "Mumbai", "Bangalore", "Singapore", "Manila",
        "Johannesburg", "Wellington NZ", "Kuala Lumpur",
    ), _EN_FIRST, _EN_LAST, _EN_INSTANCES),
    _Locale("en", 0.09, (
        "", "", "", "the internet", "🌍", "earth, probably", "in my kitchen", "he/him",
        "wherever the coffee is", "⬇️",
    ), _EN_FIRST, _EN_LAST, _EN_INSTANCES),
    _Locale("es", 0.06, (
        "Madrid", "Barcelona 🌞", "CDMX", "Buenos Aires, Argentina", "Bogotá, Colombia", "Sevilla",
        "Valencia", "Santiago de Chile", "Lima",
    ), ("Lucía", "Javier", "María", "Carlos", "Sofía", "Diego", "Carmen", "Pablo"),
        ("García", "Martínez", "López", "Sánchez", "Romero", "Torres"),
        ("masto.es", "mastodon.social", "mastodon.uy")),
    _Locale("fr", 0.035, (
        "Paris", "Lyon, France", "Montréal, QC", "Bruxelles", "Marseille", "Nantes 🌊", "Genève",
    ), ("Camille", "Julien", "Léa", "Thomas", "Chloé", "Antoine", "Manon"),
        ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard"),
        ("piaille.fr", "mamot.fr", "mastodon.social")),
    _Locale("de", 0.04, (
        "🇩🇪 Berlin", "München", "Hamburg", "Wien", "Zürich", "Köln", "Leipzig", "irgendwo in NRW",
    ), ("Lukas", "Anna", "Jonas", "Lena", "Felix", "Marie", "Jan", "Sophie"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner"),
        ("chaos.social", "norden.social", "mastodon.social", "det.social")),
    _Locale("pt", 0.035, (
        "São Paulo", "Rio de Janeiro", "Lisboa", "Porto, PT", "Belo Horizonte", "Curitiba 🌲",
        "Recife",
    ), ("Ana", "João", "Beatriz", "Pedro", "Mariana", "Lucas", "Gabriela"),
        ("Silva", "Santos", "Oliveira", "Souza", "Costa", "Ferreira"),
        ("bolha.us", "mastodon.com.br", "masto.pt")),
    _Locale("it", 0.025, (
        "Milano", "Roma", "Torino 🇮🇹", "Bologna", "Napoli", "Firenze",
    ), ("Giulia", "Marco", "Francesca", "Luca", "Chiara", "Matteo"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi"),
        ("mastodon.uno", "livellosegreto.it")),
    _Locale("nl", 0.025, (
        "Amsterdam", "Utrecht", "Rotterdam", "Gent, BE", "Den Haag", "Eindhoven",
    ), ("Sanne", "Daan", "Lotte", "Bram", "Fleur", "Sem"),
        ("de Vries", "Jansen", "Bakker", "Visser", "Peeters"),
        ("mastodon.nl", "mastodon.social", "toot.community")),
)  # fmt: skip

_WORDS = ("cooks", "bakes", "eats", "kitchen", "makes", "tea", "foodie", "chef", "home", "writes")
_BLOGS = (
    ("The Counter Top", "thecountertop.blog"),
    ("Kitchen Drawer Reviews", "kitchendrawer.reviews"),
    ("Small Appliance Weekly", "smallapplianceweekly.com"),
    ("Gadget Gravy", "gadgetgravy.net"),
    ("The Thrifty Cook", "thethriftycook.co.uk"),
    ("Home Tech Daily", "hometechdaily.news"),
    ("Crumbs & Code", "crumbsandcode.dev"),
    ("Air Fryer Club", "airfryerclub.blog"),
    ("Consumer Watch", "consumerwatch.example"),
    ("La Cocina Práctica", "lacocinapractica.es"),
    ("Cuisine Maline", "cuisinemaline.fr"),
    ("Küchenkram", "kuechenkram.de"),
    ("Cozinha Esperta", "cozinhaesperta.com.br"),
    ("Cucina Facile", "cucinafacile.it"),
    ("Keukenpraat", "keukenpraat.nl"),
)
_BLOG_LANG = {".es": "es", ".fr": "fr", ".de": "de", ".br": "pt", ".it": "it", ".nl": "nl"}
_DID = "abcdefghijklmnopqrstuvwxyz234567"


def _ascii(text: str) -> str:
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", flat.lower())


def _username(rng: random.Random, first: str, last: str) -> str:
    f, la = _ascii(first), _ascii(last)
    pattern = rng.randrange(7)
    if pattern == 0:
        return f"{f}{la}"
    if pattern == 1:
        return f"{f}_{la}"
    if pattern == 2:
        return f"{f[0]}{la}{rng.randrange(1, 99)}"
    if pattern == 3:
        return f"{f}{rng.choice(_WORDS)}"
    if pattern == 4:
        return f"{f}.{la}"
    if pattern == 5:
        return f"{la}{f[0]}"
    return f"{f}{rng.randrange(1970, 2006)}"


def follower_count(rng: random.Random, channel: str) -> int:
    """A heavy-tailed (log-normal) follower count: most 20–2,000, a few in the tens of thousands."""
    median = {"mastodon": 160.0, "bluesky": 220.0, "forum": 40.0, "rss": 900.0}[channel]
    sigma = {"forum": 1.0, "rss": 1.2}.get(channel, 1.35)
    return max(3, min(600_000, round(rng.lognormvariate(math.log(median), sigma))))


def _persona(rng: random.Random, channel: str, locale: _Locale, taken: set[str]) -> Persona:
    first, last = rng.choice(locale.first), rng.choice(locale.last)
    user = _username(rng, first, last)
    while user in taken:
        user = f"{user}{rng.randrange(10)}"
    taken.add(user)
    name = rng.choice((f"{first} {last}", first, f"{first} {last[0]}.", f"{first} 🍳", user))
    if channel == "mastodon":
        handle = f"@{user}@{rng.choice(locale.instances)}"
    elif channel == "bluesky":
        handle = f"{user.replace('_', '-')}.bsky.social"
    else:
        handle = user if rng.random() < 0.7 else f"{first}{last[0]}".replace(" ", "")
        if handle in taken and handle != user:
            handle = user
        taken.add(handle)
    location = rng.choice(locale.places) or None
    if channel == "forum" and rng.random() < 0.3:
        location = None
    activity = rng.paretovariate(1.6)  # a few people post a lot
    return Persona(
        channel=channel,
        handle=handle,
        name=name,
        followers=follower_count(rng, channel),
        location=location,
        lang=locale.lang,
        activity=activity,
        did=f"did:plc:{''.join(rng.choice(_DID) for _ in range(24))}"
        if channel == "bluesky"
        else "",
    )


@dataclass(frozen=True)
class Population:
    """Every persona of the simulated day, by channel, plus the named cast of the crisis."""

    by_channel: dict[str, tuple[Persona, ...]]
    customer: Persona  # writes the crisis post in the forum
    influencer: Persona
    journalist: Persona
    crisis_blog: Persona

    def pick(self, rng: random.Random, channel: str) -> Persona:
        """A persona of ``channel`` drawn by posting activity."""
        people = self.by_channel[channel]
        return rng.choices(people, weights=[p.activity for p in people])[0]


_SIZES = {"mastodon": 1400, "bluesky": 1800, "forum": 600}


def make_population(rng: random.Random) -> Population:
    """Generate the day's authors (deterministic for the state of ``rng``)."""
    weights = [loc.weight for loc in _LOCALES]
    by_channel: dict[str, tuple[Persona, ...]] = {}
    for channel, size in _SIZES.items():
        taken: set[str] = set()
        people = [
            _persona(rng, channel, rng.choices(_LOCALES, weights)[0], taken) for _ in range(size)
        ]
        if channel != "forum":
            # a handful of big accounts: food creators, tech writers, a celebrity chef or two
            for n in range(10):
                p = people[n]
                big = round(10 ** rng.uniform(4.0, 5.7))
                people[n] = replace(p, followers=big, verified=n < 2, role="influencer")
        by_channel[channel] = tuple(people)
    blogs = []
    for title, site in _BLOGS:
        lang = next((v for k, v in _BLOG_LANG.items() if site.endswith(k)), "en")
        blogs.append(
            Persona(
                channel="rss",
                handle=site,
                name=title,
                followers=follower_count(rng, "rss"),
                location=None,
                lang=lang,
                activity=1.0,
                role="blog",
                site=f"https://{site}",
            )
        )
    by_channel["rss"] = tuple(blogs)
    customer = Persona(
        channel="forum", handle="dave_marsh_cooks", name="Dave Marsh", followers=35,
        location="Leeds, UK", lang="en", activity=0.0, role="customer",
    )  # fmt: skip
    influencer = Persona(
        channel="bluesky", handle="chloeeatsgreen.bsky.social", name="Chloe Eats Green 🌱",
        followers=84_300, location="Manchester, UK", lang="en", activity=0.0, role="influencer",
        did="did:plc:chl0e4tsgr33nk1tchen2x7q",
    )  # fmt: skip
    journalist = Persona(
        channel="mastodon", handle="@priya.natarajan@journa.host", name="Priya Natarajan",
        followers=152_000, location="London", lang="en", verified=True, activity=0.0,
        role="journalist",
    )  # fmt: skip
    crisis_blog = Persona(
        channel="rss", handle="consumerwatch.example", name="Consumer Watch", followers=41_000,
        location=None, lang="en", activity=0.0, role="blog", site="https://consumerwatch.example",
    )  # fmt: skip
    return Population(by_channel, customer, influencer, journalist, crisis_blog)
