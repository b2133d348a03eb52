"""Topics of a post: brand, product and competitor keywords found with Aho-Corasick.

Matching is on folded text (case and diacritics), whole words only: the characters either side
of a hit must not be letters or digits, so ``#AirFry5`` and ``@acme`` match but ``acmemart``
does not. A multi-word keyword (``Kettle One``) also matches written as one word after ``#`` or
``@`` (``#KettleOne``). Topic ids: ``brand:<name>``, ``product:<id>``, ``competitor:<name>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import ahocorasick

from townhall.understand.fold import fold

if TYPE_CHECKING:
    from townhall.org.policy import Policy

_SLUG = re.compile(r"[^a-z0-9]+")


def topic_slug(name: str) -> str:
    """``ACME Appliances`` → ``acme_appliances``: the id part for names without a policy id."""
    return _SLUG.sub("_", fold(name)).strip("_") or "unnamed"


class TopicMatcher:
    """Finds topic ids in texts; build once (``from_policy`` / ``from_keywords``), share freely."""

    def __init__(self, keywords: Mapping[str, Iterable[str]]) -> None:
        # value: (topic ids for this key, tag_only) — tag_only keys are the space-less forms of
        # multi-word keywords, valid only right after '#' or '@'.
        table: dict[str, tuple[set[str], set[str]]] = {}
        for topic, words in keywords.items():
            for word in words:
                key = fold(word.strip()).lstrip("#@＃＠").strip()
                key = " ".join(key.split())
                if not key:
                    continue
                table.setdefault(key, (set(), set()))[0].add(topic)
                joined = key.replace(" ", "")
                if joined != key:
                    table.setdefault(joined, (set(), set()))[1].add(topic)
        self._automaton: ahocorasick.Automaton | None = None
        if table:
            automaton = ahocorasick.Automaton()
            for key, (anywhere, tag_only) in table.items():
                automaton.add_word(
                    key, (len(key), tuple(sorted(anywhere)), tuple(sorted(tag_only - anywhere)))
                )
            automaton.make_automaton()
            self._automaton = automaton
        self.topics: tuple[str, ...] = tuple(sorted(keywords))

    @classmethod
    def from_keywords(cls, keywords: Mapping[str, Iterable[str]]) -> TopicMatcher:
        """A matcher from ``{topic_id: [keyword, ...]}``."""
        return cls(keywords)

    @classmethod
    def from_policy(cls, policy: Policy) -> TopicMatcher:
        """A matcher over the policy's brand, product and competitor names and aliases."""
        brand = policy.brand
        table: dict[str, list[str]] = {
            f"brand:{topic_slug(brand.name)}": [brand.name, *brand.keywords]
        }
        for product in brand.products:
            table[f"product:{product.id}"] = [product.name, *product.aliases]
        for competitor in brand.competitors:
            key = f"competitor:{topic_slug(competitor.name)}"
            table.setdefault(key, []).extend([competitor.name, *competitor.aliases])
        return cls(table)

    def match(self, text: str) -> list[str]:
        """Sorted unique topic ids mentioned in ``text``."""
        if self._automaton is None or not text:
            return []
        folded = fold(text)
        found: set[str] = set()
        size = len(folded)
        for end, (length, anywhere, tag_only) in self._automaton.iter(folded):
            start = end - length + 1
            if end + 1 < size and folded[end + 1].isalnum():
                continue
            before = folded[start - 1] if start > 0 else " "
            if before.isalnum():
                continue
            found.update(anywhere)
            if tag_only and before in "#@＃＠":
                found.update(tag_only)
        return sorted(found)

    def match_many(self, texts: Iterable[str]) -> list[list[str]]:
        """``match`` for each text."""
        return [self.match(text) for text in texts]
