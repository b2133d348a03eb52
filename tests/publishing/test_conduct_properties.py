"""Properties of the conduct checker over random Unicode: it never crashes, every span lies
inside the text (``0 <= start < end <= len``), findings come in text order, and a length
finding starts exactly where the text stops fitting."""

from __future__ import annotations

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from townhall.models.user import Role
from townhall.org.approvals import DraftKind
from townhall.org.policy import ChannelKind, Policy
from townhall.publishing.conduct import (
    BLUESKY_LIMIT,
    MASTODON_LIMIT,
    Context,
    check,
    length_of,
)

# Pieces that reach every check: personal data, claims, emoji and joiners, combining marks,
# URLs and mentions, capitals, controls and lone surrogates.
PIECES = [
    "+44 20 7946 0958",
    "07911 123456",
    "4242 4242 4242 4242",
    "sam@example.com",
    "@maria@cooking.example",
    "ACME-123456",
    "SW1A 1AA",
    "12 Baker Street",
    "we'll refund you",
    "our fault",
    "completely safe",
    "Project Falcon",
    "Globex is terrible",
    "idiot",
    "fuck",
    "!!!",
    "THIS IS LOUD",
    "👨‍👩‍👧",
    "🇬🇧",
    "e\u0301",
    "\u200d",
    "\ufe0f",
    "https://acme.example/x",
    "unfortunately",
    "^Bob",
    "#ad",
    "\n",
    "\x00\x1b[31m",
    "\ud800",
    "٠١٢٣٤٥٦٧٨٩",
    "İ",
]

texts = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(PIECES)), max_size=25).map("".join)
contexts = st.builds(
    Context,
    channel=st.sampled_from(["mastodon", "bluesky", "forum", "rss", "unknown"]),
    kind=st.sampled_from(list(DraftKind)),
    department=st.sampled_from(["", "pr", "customer_service", "marketing"]),
    author_department=st.sampled_from(["", "pr", "customer_service"]),
    author_role=st.sampled_from(list(Role)),
    paid=st.booleans(),
)

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(text=texts, context=contexts)
def test_any_text_gives_valid_sorted_spans(
    acme_policy: Policy, text: str, context: Context
) -> None:
    found = check(acme_policy, text, context)
    rule_ids = {r.id for r in acme_policy.conduct} | {"length"}
    for f in found:
        assert 0 <= f.start < f.end <= len(text), f
        assert f.rule in rule_ids and f.message and f.why
    assert [(f.start, f.end) for f in found] == sorted((f.start, f.end) for f in found)
    assert check(acme_policy, text, context) == found  # pure: same answer twice


@SETTINGS
@given(text=st.text(max_size=30), repeat=st.integers(1, 40))
def test_a_length_finding_starts_where_the_text_stops_fitting(
    acme_policy: Policy, text: str, repeat: int
) -> None:
    no_rules = acme_policy.model_copy(update={"conduct": []})
    long = text * repeat
    for channel, kind, limit in (
        ("mastodon", ChannelKind.MASTODON, MASTODON_LIMIT),
        ("bluesky", ChannelKind.BLUESKY, BLUESKY_LIMIT),
    ):
        found = [f for f in check(no_rules, long, Context(channel)) if "bytes" not in f.why]
        size = length_of(kind, long)
        assert bool(found) == (size > limit)
        if found:
            (f,) = found
            assert f.end == len(long)
            assert length_of(kind, long[: f.start]) <= limit < size


@SETTINGS
@given(text=st.text(max_size=200))
def test_bluesky_length_is_the_number_of_graphemes(text: str) -> None:
    assert length_of(ChannelKind.BLUESKY, text) == len(regex.findall(r"\X", text))
    assert length_of(ChannelKind.MASTODON, text) <= len(text) + 23 * text.count("://")
