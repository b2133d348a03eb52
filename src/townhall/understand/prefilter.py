"""A keyword pre-filter for firehoses: which texts of a batch may mention the brand at all.

On a firehose only a small share of posts mention the brand, its products or its competitors;
``KeywordPrefilter.candidates`` tells those apart cheaply so that only they go on to be
understood. Its contract: it never drops a text for which ``TopicMatcher.match`` (the same
policy) finds a topic. False positives are fine (the exact matcher runs after it): the
pre-filter looks for the keywords anywhere, without the matcher's whole-word checks.

How it stays fast: one Aho-Corasick pass over the whole batch joined with ``\\n`` (no keyword
contains one). ASCII texts are only lower-cased (``fold`` does no more to them); other texts
go through NFKD, case folding and dropping what is not ASCII, all in C — every ASCII run of
``fold(text)`` survives that, so every ASCII keyword the matcher would find is still there
(and when a policy has non-ASCII keywords, those texts go through ``fold`` itself).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING

import ahocorasick

from townhall.understand.fold import fold

if TYPE_CHECKING:
    from townhall.org.policy import Policy

SEPARATOR = "\n"
"""Between the texts of a batch; keys never contain it (whitespace is collapsed in keys)."""


def keys_of(words: Iterable[str]) -> set[str]:
    """The folded search keys of ``words`` as ``TopicMatcher`` derives them (``#``/``@``
    stripped, whitespace collapsed), plus multi-word keys without their spaces."""
    keys: set[str] = set()
    for word in words:
        key = fold(word.strip()).lstrip("#@＃＠").strip()
        key = " ".join(key.split())
        if not key:
            continue
        keys.add(key)
        keys.add(key.replace(" ", ""))
    return keys


def _ascii_fold(text: str) -> str:
    """The ASCII characters of ``fold(text)``, in order (C-speed; see the module docstring)."""
    return unicodedata.normalize("NFKD", text).casefold().encode("ascii", "ignore").decode("ascii")


class KeywordPrefilter:
    """Indexes of the texts of a batch that may mention one of the policy's keywords."""

    def __init__(self, words: Iterable[str]) -> None:
        keys = keys_of(words)
        self.keys: frozenset[str] = frozenset(keys)
        self._ascii_keys = all(key.isascii() for key in keys)
        self._automaton: ahocorasick.Automaton | None = None
        if keys:
            automaton = ahocorasick.Automaton()
            for key in keys:
                automaton.add_word(key, len(key))
            automaton.make_automaton()
            self._automaton = automaton

    @classmethod
    def from_keywords(cls, words: Iterable[str]) -> KeywordPrefilter:
        """A pre-filter for these keywords."""
        return cls(words)

    @classmethod
    def from_policy(cls, policy: Policy) -> KeywordPrefilter:
        """The keywords of ``TopicMatcher.from_policy``: brand name and keywords, products and
        their aliases, competitors and their aliases."""
        brand = policy.brand
        words = [brand.name, *brand.keywords]
        for product in brand.products:
            words.extend([product.name, *product.aliases])
        for competitor in brand.competitors:
            words.extend([competitor.name, *competitor.aliases])
        return cls(words)

    def _searchable(self, text: str) -> str:
        if text.isascii():
            return text.lower()
        return _ascii_fold(text) if self._ascii_keys else fold(text)

    def candidates(self, texts: Sequence[str]) -> list[int]:
        """Sorted indexes of the ``texts`` that may mention a keyword (a superset of those
        ``TopicMatcher.match`` finds a topic in)."""
        if self._automaton is None or not texts:
            return []
        joined = SEPARATOR.join(texts)
        if joined.isascii():
            haystack = joined.lower()  # same length: the offsets are those of ``texts``
            lengths: Iterable[int] = map(len, texts)
        else:
            parts = [self._searchable(text) for text in texts]
            haystack = SEPARATOR.join(parts)
            lengths = map(len, parts)
        found: set[int] = set()
        starts: list[int] | None = None
        for end, _length in self._automaton.iter(haystack):
            if starts is None:  # only batches with a hit pay for the offsets
                starts = list(accumulate((n + 1 for n in lengths), initial=0))
            found.add(bisect_right(starts, end) - 1)
        return sorted(found)

    def keep(self, texts: Sequence[str]) -> list[bool]:
        """For each text, whether it is a candidate."""
        kept = [False] * len(texts)
        for index in self.candidates(texts):
            kept[index] = True
        return kept
