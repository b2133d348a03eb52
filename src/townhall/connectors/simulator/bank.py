"""The text bank: hand-written post templates (YAML under ``bank/``) and slot filling.

Each template carries the intent, topic and sentiment it was written with, so a scenario can
record them (``sim_intent``/``sim_sentiment``) for evaluators; the text itself stands alone.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from townhall.understand import labels

SENTIMENTS = frozenset(labels.SENTIMENTS)
INTENTS = frozenset(labels.INTENTS)
LANGS = frozenset({"en", "es", "fr", "de", "pt", "it", "nl"})

_SLOT = re.compile(r"\{(\w+)\}")

PRODUCTS: dict[str, tuple[str, ...]] = {
    "ACME AirFry 5": ("ACME AirFry 5", "AirFry 5", "AirFry5", "airfry 5", "#AirFry5", "airfry5"),
    "ACME Blender Pro": ("ACME Blender Pro", "Blender Pro", "acme blender", "blender pro"),
    "ACME KettleOne": ("ACME KettleOne", "KettleOne", "Kettle One", "kettleone", "kettle one"),
    "ACME SmartScale": ("ACME SmartScale", "SmartScale", "smartscale", "Smart Scale"),
}
COMPETITORS = ("Globex", "Globex", "Globex", "globex", "GLOBEX")
CITIES = (
    "Leeds", "Manchester", "London", "Glasgow", "Cardiff", "Dublin", "NYC", "Chicago", "Austin",
    "Seattle", "Toronto", "Vancouver", "Sydney", "Melbourne", "Auckland", "Lagos", "Nairobi",
    "Cape Town", "Mumbai", "Singapore", "Berlin", "Madrid", "Paris", "Lisbon", "Amsterdam",
    "Milan", "São Paulo", "Mexico City",
)  # fmt: skip
STORES = (
    "Amazon", "Currys", "Argos", "John Lewis", "Target", "Best Buy", "Walmart", "Costco",
    "MediaMarkt", "Fnac", "El Corte Inglés", "Coolblue", "Magalu", "Unieuro", "the ACME store",
)  # fmt: skip
_CURRENCY = {"en": ("$", "£", "$", "£", "A$"), "pt": ("R$ ",), "es": ("€",), "fr": ("€",)}


@dataclass(frozen=True)
class Template:
    """One hand-written text with the intent, topic and sentiment it was written to carry."""

    key: str
    intent: str
    topic: str
    sentiment: str
    lang: str
    text: str
    title: str | None = None

    @property
    def category(self) -> str:
        """``intent/topic``: the unit the scenario draws traffic mixes over."""
        return f"{self.intent}/{self.topic}"


@dataclass(frozen=True)
class CrisisBank:
    """The scripted texts of the demo crisis (see ``bank/crisis.yaml``)."""

    story: str
    group: str
    origin: Template
    alt: str
    media_url: str
    group_replies: tuple[Template, ...]
    spread: tuple[Template, ...]
    late: tuple[Template, ...]
    influencer: Template
    journalist: Template
    blog: Template


@dataclass(frozen=True)
class Bank:
    """Every template, grouped the way the scenario draws them."""

    posts: tuple[Template, ...]
    articles: tuple[Template, ...]
    replies: Mapping[str, tuple[Template, ...]]
    reshare_comments: Mapping[str, tuple[str, ...]]
    crisis: CrisisBank
    by_category: Mapping[str, tuple[Template, ...]] = field(default_factory=dict)

    def all_templates(self) -> list[Template]:
        """Every template in the bank (posts, articles, replies and the crisis script)."""
        c = self.crisis
        out = [*self.posts, *self.articles]
        for group in self.replies.values():
            out.extend(group)
        out.extend([c.origin, *c.group_replies, *c.spread, *c.late, c.influencer])
        out.extend([c.journalist, c.blog])
        return out


def _template(key: str, meta: Mapping[str, Any], lang: str, item: Any) -> Template:
    if isinstance(item, str):
        text, sentiment, title = item, meta["sentiment"], None
    else:
        text, sentiment = item["text"], item.get("sentiment", meta["sentiment"])
        title = item.get("title")
    template = Template(
        key=key,
        intent=str(meta["intent"]),
        topic=str(meta.get("topic", "other")),
        sentiment=str(sentiment),
        lang=lang,
        text=str(text).strip(),
        title=title,
    )
    if template.intent not in INTENTS or template.sentiment not in SENTIMENTS:
        raise ValueError(f"bank template {key}: bad intent or sentiment")
    if template.lang not in LANGS:
        raise ValueError(f"bank template {key}: unknown language {lang!r}")
    return template


def _group_templates(name: str, group: Mapping[str, Any]) -> list[Template]:
    out: list[Template] = []
    for lang, items in group["texts"].items():
        for n, item in enumerate(items):
            out.append(_template(f"{name}:{group['intent']}:{lang}:{n}", group, lang, item))
    return out


def _read(name: str) -> Any:
    path = resources.files("townhall.connectors.simulator") / "bank" / name
    return yaml.safe_load(path.read_text(encoding="utf-8"))


_POST_FILES = (
    "complaint.yaml",
    "question.yaml",
    "praise.yaml",
    "purchase_intent.yaml",
    "business.yaml",
    "outage.yaml",
    "procedure.yaml",
    "search_email.yaml",
    "spam_other.yaml",
    "competitor.yaml",
)


def _crisis(data: Mapping[str, Any]) -> CrisisBank:
    def one(key: str, part: Mapping[str, Any]) -> Template:
        return _template(f"crisis:{key}", part, "en", part)

    def many(key: str, part: Mapping[str, Any]) -> tuple[Template, ...]:
        return tuple(
            _template(f"crisis:{key}:{n}", part, "en", text) for n, text in enumerate(part["texts"])
        )

    late = list(many("late", data["late"]))
    for lang, text in data["late"]["other_languages"].items():
        late.append(_template(f"crisis:late:{lang}", data["late"], lang, text))
    origin = data["origin"]
    return CrisisBank(
        story=str(data["story"]),
        group=str(data["group"]),
        origin=one("origin", origin),
        alt=str(origin["alt"]),
        media_url=str(origin["media_url"]),
        group_replies=many("group_replies", data["group_replies"]),
        spread=many("spread", data["spread"]),
        late=tuple(late),
        influencer=one("influencer", data["influencer"]),
        journalist=one("journalist", data["journalist"]),
        blog=one("blog", data["blog"]),
    )


@cache
def load_bank() -> Bank:
    """Load and check the bank shipped with the package (cached; raises ``ValueError`` if bad)."""
    posts: list[Template] = []
    for name in _POST_FILES:
        data = _read(name)
        stem = name.removesuffix(".yaml")
        groups = data.get("groups", [data])
        for n, group in enumerate(groups):
            posts.extend(_group_templates(f"{stem}{n}", group))
    articles = [
        _template(f"rss:{n}", item, str(item["lang"]), item)
        for n, item in enumerate(_read("rss.yaml")["articles"])
    ]
    replies_data = _read("replies.yaml")
    replies = {
        mood: tuple(_group_templates(f"reply:{mood}", group))
        for mood, group in replies_data["replies"].items()
    }
    comments = {
        mood: tuple(str(t) for t in texts)
        for mood, texts in replies_data["reshare_comments"].items()
    }
    by_category: dict[str, list[Template]] = {}
    for template in posts:
        by_category.setdefault(template.category, []).append(template)
    return Bank(
        posts=tuple(posts),
        articles=tuple(articles),
        replies=replies,
        reshare_comments=comments,
        crisis=_crisis(_read("crisis.yaml")),
        by_category={k: tuple(v) for k, v in by_category.items()},
    )


def slots_in(text: str) -> set[str]:
    """The slot names (``{product}`` → ``product``) a template uses."""
    return set(_SLOT.findall(text))


SLOTS = frozenset(
    {"product", "competitor", "city", "days", "order_no", "price", "store", "parent", "link"}
)


def fill(
    text: str, rng: random.Random, lang: str = "en", given: Mapping[str, str] | None = None
) -> str:
    """Replace each ``{slot}`` with a plausible value drawn from ``rng`` (``given`` wins)."""
    values = dict(given or {})

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name == "product":
            value = rng.choice(rng.choice(list(PRODUCTS.values())))
        elif name == "competitor":
            value = rng.choice(COMPETITORS)
        elif name == "city":
            value = rng.choice(CITIES)
        elif name == "days":
            value = str(rng.choice((2, 3, 4, 5, 6, 8, 10, 12, 14, 17, 21, 30)))
        elif name == "order_no":
            value = rng.choice(("AC-", "#", "", "ACM")) + str(rng.randrange(1_000_000, 9_999_999))
        elif name == "price":
            symbol = rng.choice(_CURRENCY.get(lang, ("€",)))
            value = f"{symbol}{rng.choice((49, 59, 79, 89, 99, 119, 129, 149, 179, 199, 249))}"
        elif name == "store":
            value = rng.choice(STORES)
        elif name == "parent":
            value = "someone"
        elif name == "link":
            value = ""
        else:
            raise KeyError(f"unknown slot {{{name}}}")
        values[name] = value  # the same slot says the same thing twice in one text
        return value

    return _SLOT.sub(one, text).strip()
