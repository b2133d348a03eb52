"""Route one item: the first policy rule whose conditions hold decides who leads, and why.

Pure: no clock (the post's ``created_at`` is the time), no I/O. A policy's rules are compiled
once (sets, regexes, the time zone) and cached, so a decision costs a few set lookups per rule.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

import ahocorasick

from townhall.org.fields import WEEKDAYS, fold_keyword, in_window
from townhall.org.policy import Policy
from townhall.org.routing import RuleAction, normalized_conditions
from townhall.understand.labels import INTENTS

if TYPE_CHECKING:
    from townhall.posts import Post
    from townhall.understand.enrich import Enrichment


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """What routing looks at for one item: its enrichment and a few fields of the post."""

    intent: str
    sentiment: str
    actionable: bool
    toxicity: float
    topics: tuple[str, ...]
    language: str | None
    country: str | None
    reach: str
    verified: bool
    channel: str
    group: str | None
    text: str
    created_at: datetime
    """When the post was written (time zone aware); hours and weekdays are read from it."""

    @classmethod
    def from_post(cls, post: Post, enrichment: Enrichment) -> RouteFacts:
        """The facts of a post and what Townhall understood of it."""
        return cls(
            intent=enrichment.intent,
            sentiment=enrichment.sentiment_label,
            actionable=enrichment.actionable,
            toxicity=enrichment.toxicity,
            topics=tuple(enrichment.topics),
            language=enrichment.language,
            country=enrichment.country,
            reach=enrichment.reach,
            verified=post.author.verified,
            channel=post.channel,
            group=post.group,
            text=post.text,
            created_at=post.created_at,
        )


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where an item goes: lead department, who supports, how urgent, and why."""

    department: str
    supporting: tuple[str, ...]
    priority: str
    sla_first_response_minutes: int | None
    sla_resolution_minutes: int | None
    tags: tuple[str, ...]
    escalate: bool
    rule: str
    """The rule id, ``"fallback"``, or ``"channel_default"`` when the policy has no routing."""
    matched: dict[str, str] = field(default_factory=dict)
    """Each condition that held → the fact that satisfied it."""
    why: str = ""
    activity: str | None = None
    """The ownership activity the rule names (its lead is the last escalation step)."""
    close: bool = False
    """The item closes as soon as it opens (spam, chatter that asks for nothing): no SLA."""


# A check returns the fact that satisfied it, or None when the condition does not hold.
_Check = Callable[[RouteFacts, "_Clock"], str | None]


class _Clock:
    """Per-decision lazy facts: the local time in the policy's zone, the keywords in the text and
    its number of words.

    Each is computed at most once per decision, and only if some rule asks for it.
    """

    __slots__ = ("_found", "_local", "_pattern", "_text", "_tz", "_when", "_words")

    def __init__(self, facts: RouteFacts, tz: zoneinfo.ZoneInfo, pattern: _Keywords | None) -> None:
        self._when, self._tz, self._text, self._pattern = facts.created_at, tz, facts.text, pattern
        self._local: datetime | None = None
        self._found: dict[str, int] | None = None
        self._words: int | None = None

    def local(self) -> datetime:
        if self._local is None:
            self._local = self._when.astimezone(self._tz)
        return self._local

    def keywords(self) -> dict[str, int]:
        """Every policy keyword in the text (as the policy writes it, folded) → where it first
        occurs."""
        if self._found is None:
            self._found = self._pattern.find(self._text) if self._pattern and self._text else {}
        return self._found

    def words(self) -> int:
        """Words in the text, not counting @mentions and links."""
        if self._words is None:
            self._words = sum(
                1 for w in self._text.split() if not w.startswith(("@", "http://", "https://"))
            )
        return self._words


_LINK = re.compile(r"https?://\S+")


def fold_text(text: str) -> str:
    """How routing compares text with keywords: ``fold_keyword``, without links (their words
    are an address, not the author's) and without accents, so that ``desabonne`` and
    ``désabonné`` are the same word."""
    if "http" in text:
        text = _LINK.sub(" ", text)
    folded = fold_keyword(text)
    if folded.isascii():
        return folded
    # NFKD splits é into e + a combining accent; dropping the marks keeps the base letters.
    return "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))


class _Keywords:
    """Every rule's keywords, found in one pass over the folded text (Aho-Corasick).

    A keyword ending in ``*`` is a prefix: only its start must be at a word boundary.
    """

    __slots__ = ("_automaton",)

    def __init__(self, keywords: set[str]) -> None:
        # folded stem → (the keyword as written when whole, as written when a prefix)
        stems: dict[str, tuple[str | None, str | None]] = {}
        for word in keywords:
            prefix = word.endswith("*")
            stem = fold_text(word.removesuffix("*"))
            if not stem:
                continue
            whole, start = stems.get(stem, (None, None))
            stems[stem] = (whole, word) if prefix else (word, start)
        self._automaton = ahocorasick.Automaton()
        for stem, (whole, start) in stems.items():
            self._automaton.add_word(stem, (len(stem), whole, start))
        self._automaton.make_automaton()

    def find(self, text: str) -> dict[str, int]:
        """Each keyword in ``text`` → where it first occurs (in the folded text)."""
        folded = fold_text(text)
        size = len(folded)
        found: dict[str, int] = {}
        for end, (length, whole, prefix) in self._automaton.iter(folded):
            start = end - length + 1
            if start > 0 and _is_word(folded[start - 1]):
                continue
            if prefix is not None and prefix not in found:
                found[prefix] = start
            if whole is not None and whole not in found:
                if end + 1 < size and _is_word(folded[end + 1]):
                    continue
                found[whole] = start
        return found


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: str
    description: str
    checks: tuple[tuple[str, _Check], ...]
    decision: RouteDecision  # matched and why filled per item
    whys: dict[tuple[str, ...], str] = field(default_factory=dict)
    """The sentence for each set of matched facts (in condition order), which repeat."""


@dataclass(frozen=True, slots=True)
class CompiledRouting:
    """A policy's routing in the form ``route`` evaluates; build with ``compile_routing``."""

    policy: Policy
    tz: zoneinfo.ZoneInfo
    rules: tuple[_Compiled, ...]
    fallback: RouteDecision | None
    keywords: _Keywords | None
    by_intent: dict[str, tuple[_Compiled, ...]] = field(default_factory=dict)
    """The rules an item of each intent can match, in order (the others are never tried)."""

    def candidates(self, intent: str) -> tuple[_Compiled, ...]:
        """The rules that may match an item of ``intent``, in policy order."""
        return self.by_intent.get(intent, self.rules)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _keyword_pattern(keywords: set[str]) -> _Keywords | None:
    """One automaton finds every rule's keywords in a single pass over the folded text."""
    return _Keywords(keywords) if any(keywords) else None


def _compile_check(key: str, value: object) -> _Check:
    if key in ("intent", "sentiment", "reach", "channel"):
        allowed = value
        assert isinstance(allowed, frozenset)
        return lambda f, _c: v if (v := getattr(f, key)) in allowed else None
    if key == "language":
        langs = value
        assert isinstance(langs, frozenset)
        return lambda f, _c: f.language if f.language and f.language.lower() in langs else None
    if key == "country":
        countries = value
        assert isinstance(countries, frozenset)
        return lambda f, _c: f.country if f.country and f.country.upper() in countries else None
    if key == "group":
        groups = value
        assert isinstance(groups, frozenset)
        return lambda f, _c: f.group if f.group and fold_keyword(f.group) in groups else None
    if key in ("actionable", "verified"):
        return lambda f, _c: ("true" if value else "false") if getattr(f, key) is value else None
    if key == "toxicity_at_least":
        threshold = value
        assert isinstance(threshold, float)
        return lambda f, _c: f"{f.toxicity:g}" if f.toxicity >= threshold else None
    if key == "topics_any":
        topics = value
        assert isinstance(topics, frozenset)

        def topic_check(f: RouteFacts, _c: _Clock) -> str | None:
            hits = [t for t in f.topics if t in topics]
            return ", ".join(hits) if hits else None

        return topic_check
    if key == "keywords_any":
        words = value
        assert isinstance(words, frozenset)

        def keyword_check(f: RouteFacts, c: _Clock) -> str | None:
            found = c.keywords()
            if not found:
                return None
            hits = [w for w in found if w in words]
            return min(hits, key=found.__getitem__) if hits else None

        return keyword_check
    if key == "keywords_all":
        lists = value
        assert isinstance(lists, tuple)

        def all_check(f: RouteFacts, c: _Clock) -> str | None:
            found = c.keywords()
            firsts = []
            for words in lists:
                hits = [w for w in found if w in words]
                if not hits:
                    return None
                firsts.append(min(hits, key=found.__getitem__))
            return "' and '".join(firsts)

        return all_check
    if key == "keywords_none":
        banned = value
        assert isinstance(banned, frozenset)

        def none_check(f: RouteFacts, c: _Clock) -> str | None:
            found = c.keywords()
            return None if any(w in banned for w in found) else ", ".join(sorted(banned))

        return none_check
    if key == "max_words":
        most = value
        assert isinstance(most, int)

        def words_check(f: RouteFacts, c: _Clock) -> str | None:
            words = c.words()
            return str(words) if words <= most else None

        return words_check
    if key == "hours":
        window = value
        assert isinstance(window, tuple)

        def hours_check(f: RouteFacts, c: _Clock) -> str | None:
            local = c.local()
            minute = local.hour * 60 + local.minute
            return f"{local:%H:%M}" if in_window(minute, window) else None

        return hours_check
    if key == "weekdays":
        days = value
        assert isinstance(days, frozenset)

        def weekday_check(f: RouteFacts, c: _Clock) -> str | None:
            day = WEEKDAYS[c.local().weekday()]
            return day if day in days else None

        return weekday_check
    raise ValueError(f"unknown routing condition {key!r}")  # pragma: no cover


def _decision(policy: Policy, action: RuleAction, rule: str) -> RouteDecision:
    sla = action.sla_minutes
    if sla is None:
        try:
            sla = policy.department(action.lead).sla_minutes
        except KeyError:
            sla = None
    return RouteDecision(
        department=action.lead,
        supporting=tuple(action.supporting),
        priority=action.priority,
        sla_first_response_minutes=sla.first_response if sla else None,
        sla_resolution_minutes=sla.resolution if sla else None,
        tags=tuple(action.tags),
        escalate=action.escalate,
        rule=rule,
        activity=action.activity,
        close=action.close,
    )


def compile_routing(policy: Policy) -> CompiledRouting:
    """Precompute a policy's rules (sets, keyword regexes, time zone) for fast ``route`` calls."""
    rules: list[_Compiled] = []
    intents: list[frozenset[str] | None] = []
    fallback = None
    keywords: set[str] = set()
    if policy.routing is not None:
        for rule in policy.routing.rules:
            conditions = normalized_conditions(rule.when)
            intents.append(conditions.get("intent"))
            keywords |= conditions.get("keywords_any", frozenset())
            keywords |= conditions.get("keywords_none", frozenset())
            for group in conditions.get("keywords_all", ()):
                keywords |= group
            checks = tuple((k, _compile_check(k, v)) for k, v in conditions.items())
            rules.append(
                _Compiled(rule.id, rule.description, checks, _decision(policy, rule.then, rule.id))
            )
        fallback = _decision(policy, policy.routing.fallback, "fallback")
    by_intent: dict[str, tuple[_Compiled, ...]] = {
        intent: tuple(
            r for r, allowed in zip(rules, intents, strict=True) if intent in (allowed or {intent})
        )
        for intent in INTENTS
    }
    return CompiledRouting(
        policy,
        zoneinfo.ZoneInfo(policy.timezone),
        tuple(rules),
        fallback,
        _keyword_pattern(keywords),
        by_intent,
    )


_CACHE: dict[int, CompiledRouting] = {}
_CACHE_SIZE = 8


def _compiled(policy: Policy) -> CompiledRouting:
    compiled = _CACHE.get(id(policy))
    if compiled is None or compiled.policy is not policy:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        compiled = _CACHE[id(policy)] = compile_routing(policy)
    return compiled


_PHRASES: dict[str, str] = {
    "intent": "intent is {}",
    "sentiment": "sentiment is {}",
    "actionable": "actionable is {}",
    "toxicity_at_least": "toxicity is {}",
    "topics_any": "it mentions {}",
    "language": "language is {}",
    "country": "country is {}",
    "reach": "author reach is {}",
    "verified": "author verified is {}",
    "channel": "channel is {}",
    "group": "group is {}",
    "keywords_any": "the text says '{}'",
    "keywords_all": "the text says '{}'",
    "keywords_none": "the text says none of '{}'",
    "max_words": "the text has {} words",
    "hours": "local time is {}",
    "weekdays": "weekday is {}",
}


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _outcome(decision: RouteDecision) -> str:
    text = f"{decision.department} leads"
    if decision.supporting:
        text += f" with {_join(list(decision.supporting))} supporting"
    if decision.close:
        text += ", and the item is closed at once: no reply needed"
    return text + "."


def explain(rule: str, description: str, matched: dict[str, str], decision: RouteDecision) -> str:
    """One sentence saying which rule decided, on which facts, and who leads."""
    if rule == "fallback":
        return f"No rule matched, so the fallback applies: {_outcome(decision)}"
    if rule == "channel_default":
        channel = matched.get("channel", "?")
        return (
            f"{description or 'The policy has no routing rules'}, so the default owner of "
            f"the {channel} channel applies: {_outcome(decision)}"
        )
    name = f"Rule {rule!r}" + (f" ({description})" if description else "")
    facts = _join([_PHRASES[k].format(v) for k, v in matched.items()]) if matched else None
    reason = f"{facts}, so" if facts else "it matches every item, so"
    return f"{name}: {reason} {_outcome(decision)}"


_WHY_SIZE = 4096
"""Sentences kept per rule: one per distinct set of facts that matched it."""


def route(policy: Policy, facts: RouteFacts) -> RouteDecision:
    """Decide who handles an item: the first matching rule, else the fallback (pure)."""
    compiled = _compiled(policy)
    clock = _Clock(facts, compiled.tz, compiled.keywords)
    for rule in compiled.candidates(facts.intent):
        matched: dict[str, str] = {}
        for key, check in rule.checks:
            fact = check(facts, clock)
            if fact is None:
                break
            matched[key] = fact
        else:
            base = rule.decision
            seen = tuple(matched.values())
            why = rule.whys.get(seen)
            if why is None:
                if len(rule.whys) >= _WHY_SIZE:
                    rule.whys.clear()
                why = rule.whys[seen] = explain(rule.rule, rule.description, matched, base)
            return replace(base, matched=matched, why=why)
    if compiled.fallback is not None:
        return replace(
            compiled.fallback, matched={}, why=explain("fallback", "", {}, compiled.fallback)
        )
    return route_by_channel(policy, facts.channel)


def route_by_channel(policy: Policy, channel: str, reason: str = "") -> RouteDecision:
    """The channel's default owner leads, with its department's SLA (no rules, or a post that
    was not understood: ``reason`` says which, e.g. "The post was not understood")."""
    base = _decision(policy, RuleAction(lead=policy.default_owner(channel)), "channel_default")
    matched = {"channel": channel}
    return replace(base, matched=matched, why=explain("channel_default", reason, matched, base))


__all__ = [
    "CompiledRouting",
    "RouteDecision",
    "RouteFacts",
    "compile_routing",
    "explain",
    "route",
    "route_by_channel",
    "router_for",
]


def router_for(policy: Policy) -> Callable[[Post, Enrichment], RouteDecision]:
    """The pipeline's router: route an understood post by ``policy``'s rules."""

    def decide(post: Post, enrichment: Enrichment) -> RouteDecision:
        return route(policy, RouteFacts.from_post(post, enrichment))

    return decide
