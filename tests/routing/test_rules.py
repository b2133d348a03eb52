"""Routing decisions: ACME's rules on real items, the explanations, first-match properties."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support import NOON, REACH, facts
from townhall.org.fields import WEEKDAYS, fold_keyword
from townhall.org.policy import Policy
from townhall.org.routing import Routing, RoutingRule
from townhall.posts import Post
from townhall.routing.rules import RouteFacts, route
from townhall.understand.enrich import Enrichment
from townhall.understand.labels import INTENTS, SENTIMENTS


def with_routing(policy: Policy, routing: dict[str, Any], timezone: str = "UTC") -> Policy:
    data = policy.model_dump(mode="python")
    data["routing"] = routing
    data["timezone"] = timezone
    return Policy.model_validate(data)


# --- ACME's rules on concrete items ---------------------------------------------------------


def test_press_inquiry_from_a_journalist_goes_to_pr(acme_policy: Policy) -> None:
    item = facts(intent="press_inquiry", channel="rss", text="Journalist here, any comment?")
    decision = route(acme_policy, item)
    assert (decision.department, decision.supporting) == ("pr", ("marketing",))
    assert decision.rule == "press"
    assert decision.priority == "high"
    # The words decide, not the intent model (which takes bulk orders for press questions).
    assert decision.matched == {"keywords_any": "journalist*"}
    assert decision.why == (
        "Rule 'press' (Journalists and media ask for comment.): the text says 'journalist*', "
        "so pr leads with marketing supporting."
    )
    # No SLA in the rule: the lead department's.
    assert (decision.sla_first_response_minutes, decision.sla_resolution_minutes) == (30, 480)


def test_outage_goes_to_it_with_customer_service(acme_policy: Policy) -> None:
    decision = route(acme_policy, facts(intent="outage", text="Checkout is down again"))
    assert (decision.department, decision.supporting) == ("it", ("customer_service",))
    assert decision.rule == "outage"
    assert decision.priority == "urgent"
    assert decision.sla_first_response_minutes == 15


def test_login_complaint_goes_to_it(acme_policy: Policy) -> None:
    decision = route(acme_policy, facts(intent="complaint", text="I can't LOG  IN since Monday"))
    assert decision.department == "it"
    assert decision.matched == {"keywords_any": "log in"}


def test_negative_complaint_from_a_high_reach_author_goes_to_pr(acme_policy: Policy) -> None:
    # 250k followers is the macro tier: a reputation matter even though complaints go to CS.
    item = facts(intent="complaint", sentiment="negative", reach="macro", text="ACME broke")
    decision = route(acme_policy, item)
    assert (decision.department, decision.supporting) == ("pr", ("customer_service",))
    assert (decision.priority, decision.escalate, decision.rule) == (
        "urgent",
        True,
        "high_reach_negative",
    )
    assert decision.matched == {"sentiment": "negative", "reach": "macro"}
    assert route(acme_policy, replace(item, reach="mid")).department == "customer_service"


def test_negative_story_from_a_verified_author_goes_to_pr(acme_policy: Policy) -> None:
    item = facts(intent="complaint", sentiment="negative", reach="micro", verified=True)
    decision = route(acme_policy, item)
    assert (decision.department, decision.rule) == ("pr", "verified_negative")
    assert decision.matched == {"sentiment": "negative", "verified": "true"}


@pytest.mark.parametrize(
    ("item", "department", "rule"),
    [
        (facts(intent="job", text="Are you hiring in Leeds?"), "hr", "jobs"),
        # The model's intent is wrong here; the words say who owns it.
        (
            facts(intent="job", text="Who do I contact about an unpaid bill?"),
            "back_office",
            "company_procedures",
        ),
        (
            facts(intent="outage", text="Basket coating blistered, not melted"),
            "customer_service",
            "customer_issues",
        ),
        (
            facts(intent="complaint", text="Cart has the AirFry 5 in it. Talk me out of it."),
            "sales",
            "buying",
        ),
        (
            facts(intent="outage", text="Googling the manual finds spammy sites"),
            "search",
            "findability",
        ),
        (
            facts(intent="question", text="ACME vs Globex?", topics=("competitor:globex",)),
            "marketing",
            "competitors",
        ),
        (facts(intent="other", text="That kettle ad is odd"), "marketing", "ads_in_english"),
        (
            facts(intent="question", text="How is a warranty repair decided?"),
            "back_office",
            "warranty_process",
        ),
        (
            facts(intent="spam", text="The link in your newsletter is broken"),
            "email",
            "email_programmes",
        ),
        (facts(intent="complaint", text="ACME ignored my injury"), "pr", "safety_incident"),
        (facts(intent="other", text="burned my toast lol"), "customer_service", "chatter"),
        (
            facts(intent="question", text="Where do I send my Invoice?"),
            "back_office",
            "company_procedures",
        ),
        (
            facts(intent="question", text="I can’t find the AirFry on Google"),
            "search",
            "findability",
        ),
        (facts(intent="complaint", text="Please stop the newsletter"), "email", "email_programmes"),
        (facts(intent="purchase_intent", text="Where can I buy 20 kettles?"), "sales", "buying"),
        (facts(intent="purchase_intent", text="Next payday it's mine"), "sales", "purchase"),
        (facts(intent="partnership", text="Let's collaborate"), "marketing", "partnership"),
        (facts(intent="praise", text="Love my kettle"), "marketing", "praise"),
        (
            facts(intent="other", channel="forum", actionable=True, text="Ideas, anyone?"),
            "marketing",
            "forum_chatter",
        ),
        (
            facts(intent="question", text="Does it come in red?"),
            "customer_service",
            "customer_issues",
        ),
        (facts(intent="spam", text="Buy followers"), "customer_service", "obvious_spam"),
    ],
)
def test_acme_ownership_matrix(
    acme_policy: Policy, item: RouteFacts, department: str, rule: str
) -> None:
    decision = route(acme_policy, item)
    assert (decision.department, decision.rule) == (department, rule)


def test_spam_is_low_priority_and_tagged(acme_policy: Policy) -> None:
    # Spam's usual words and the model agree: closed at once, with the reason.
    decision = route(acme_policy, facts(intent="spam", text="Click here for free followers"))
    assert (decision.priority, decision.tags, decision.close) == ("low", ("spam",), True)
    assert decision.why.endswith("and the item is closed at once: no reply needed.")
    # The model alone is not enough to close a post unread.
    decision = route(acme_policy, facts(intent="spam", text="Birthday money, blender bought"))
    assert (decision.priority, decision.tags, decision.close) == ("low", ("possible_spam",), False)


@pytest.mark.parametrize("text", ["lol", "fyi", "following", "@ann following, I want to know too"])
def test_chatter_that_asks_nothing_is_closed_without_an_sla_queue(
    acme_policy: Policy, text: str
) -> None:
    decision = route(acme_policy, facts(intent="purchase_intent", actionable=True, text=text))
    assert (decision.rule, decision.close, decision.tags) == ("chatter", True, ("no_reply_needed",))


def test_chatter_words_in_a_longer_post_do_not_close_it(acme_policy: Policy) -> None:
    text = "lol my KettleOne stopped working after a week, what do I do?"
    decision = route(acme_policy, facts(intent="complaint", actionable=True, text=text))
    assert (decision.department, decision.close) == ("customer_service", False)


def test_nothing_matches_so_the_fallback_applies(acme_policy: Policy) -> None:
    item = facts(intent="other", actionable=True, channel="mastodon", text="Nice weather, eh?")
    decision = route(acme_policy, item)
    assert (decision.department, decision.priority, decision.rule) == (
        "customer_service",
        "normal",
        "fallback",
    )
    assert decision.matched == {}
    assert decision.why == "No rule matched, so the fallback applies: customer_service leads."


def test_without_routing_the_channel_default_owner_leads(acme_policy: Policy) -> None:
    data = acme_policy.model_dump(mode="python")
    del data["routing"]
    policy = Policy.model_validate(data)
    decision = route(policy, facts(intent="press_inquiry", channel="forum"))
    assert (decision.department, decision.rule) == ("marketing", "channel_default")
    assert decision.matched == {"channel": "forum"}
    assert decision.why == (
        "The policy has no routing rules, so the default owner of the forum channel applies: "
        "marketing leads."
    )


def test_from_post_reads_the_post_and_its_enrichment() -> None:
    post = Post.model_validate(
        {
            "id": "forum:1",
            "channel": "forum",
            "created_at": "2026-11-20T09:30:00+01:00",
            "text": "Anyone?",
            "group": "ACME owners club",
            "author": {"handle": "@a", "followers": 250_000, "verified": True},
        }
    )
    enrichment = Enrichment(
        sentiment_label="negative",
        sentiment_score=-0.7,
        intent="complaint",
        intent_confidence=0.9,
        actionable=True,
        toxicity=0.12,
        language="en",
        country="GB",
        reach="macro",
        topics=["product:kettleone"],
    )
    got = RouteFacts.from_post(post, enrichment)
    assert got == RouteFacts(
        intent="complaint",
        sentiment="negative",
        actionable=True,
        toxicity=0.12,
        topics=("product:kettleone",),
        language="en",
        country="GB",
        reach="macro",
        verified=True,
        channel="forum",
        group="ACME owners club",
        text="Anyone?",
        created_at=datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
    )


# --- conditions: time, explanations, rule SLA -----------------------------------------------


def test_hours_and_weekdays_are_read_in_the_policy_timezone(acme_policy: Policy) -> None:
    policy = with_routing(
        acme_policy,
        {
            "rules": [
                {
                    "id": "office",
                    "description": "Office hours in New York.",
                    "when": {"hours": "09:00-17:00", "weekdays": ["mon", "fri"]},
                    "then": {
                        "lead": "sales",
                        "sla_minutes": {"first_response": 5, "resolution": 9},
                    },
                },
                {"id": "night", "when": {"hours": "22:00-06:00"}, "then": {"lead": "it"}},
            ],
            "fallback": {"lead": "customer_service"},
        },
        timezone="America/New_York",
    )
    ny = ZoneInfo("America/New_York")
    friday_morning = facts(created_at=datetime(2026, 11, 20, 9, 0, tzinfo=ny))
    decision = route(policy, friday_morning)
    assert decision.rule == "office"
    assert decision.matched == {"hours": "09:00", "weekdays": "fri"}
    assert decision.why == (
        "Rule 'office' (Office hours in New York.): local time is 09:00 and weekday is fri, "
        "so sales leads."
    )
    assert (decision.sla_first_response_minutes, decision.sla_resolution_minutes) == (5, 9)
    # 16:59 is inside, 17:00 is not; 12:00 UTC is 07:00 in New York.
    assert (
        route(policy, facts(created_at=datetime(2026, 11, 20, 16, 59, tzinfo=ny))).rule == "office"
    )
    assert (
        route(policy, facts(created_at=datetime(2026, 11, 20, 17, 0, tzinfo=ny))).rule == "fallback"
    )
    assert route(policy, facts(created_at=NOON)).rule == "fallback"
    # Thursday: wrong weekday. Overnight window wraps past midnight.
    assert (
        route(policy, facts(created_at=datetime(2026, 11, 19, 10, 0, tzinfo=ny))).rule == "fallback"
    )
    assert (
        route(policy, facts(created_at=datetime(2026, 11, 19, 23, 30, tzinfo=ny))).rule == "night"
    )
    assert route(policy, facts(created_at=datetime(2026, 11, 20, 5, 59, tzinfo=ny))).rule == "night"


def test_every_condition_is_explained(acme_policy: Policy) -> None:
    policy = with_routing(
        acme_policy,
        {
            "rules": [
                {
                    "id": "all",
                    "when": {
                        "intent": ["complaint"],
                        "sentiment": "negative",
                        "actionable": True,
                        "toxicity_at_least": 0.5,
                        "topics_any": ["product:airfry_5", "brand:acme"],
                        "language": ["EN"],
                        "country": ["gb"],
                        "reach": ["mid"],
                        "verified": False,
                        "channel": ["forum"],
                        "group": ["acme owners club"],
                        "keywords_any": ["recall", "lawsuit"],
                    },
                    "then": {"lead": "pr", "supporting": ["back_office", "it"], "tags": ["x"]},
                }
            ],
            "fallback": {"lead": "customer_service"},
        },
    )
    item = facts(
        intent="complaint",
        sentiment="negative",
        actionable=True,
        toxicity=0.75,
        topics=("brand:acme", "product:kettleone"),
        reach="mid",
        channel="forum",
        group="ACME owners club",
        text="A LAWSUIT? I want a recall.",
    )
    decision = route(policy, item)
    assert decision.matched == {
        "intent": "complaint",
        "sentiment": "negative",
        "actionable": "true",
        "toxicity_at_least": "0.75",
        "topics_any": "brand:acme",
        "language": "en",
        "country": "GB",
        "reach": "mid",
        "verified": "false",
        "channel": "forum",
        "group": "ACME owners club",
        "keywords_any": "lawsuit",
    }
    assert decision.why == (
        "Rule 'all': intent is complaint, sentiment is negative, actionable is true, toxicity "
        "is 0.75, it mentions brand:acme, language is en, country is GB, author reach is mid, "
        "author verified is false, channel is forum, group is ACME owners club and the text "
        "says 'lawsuit', so pr leads with back_office and it supporting."
    )
    # Keywords are whole words: "recalled" is not "recall", "lawsuits" is not "lawsuit".
    assert route(policy, replace(item, text="recalled lawsuits")).rule == "fallback"
    assert route(policy, replace(item, toxicity=0.49)).rule == "fallback"
    assert route(policy, replace(item, language=None)).rule == "fallback"


# --- properties -----------------------------------------------------------------------------


def naive_has(text: str, keyword: str) -> bool:
    """An independent reading of one routing keyword: whole words (or, ending in ``*``, a word
    start), case, accents, spacing and links ignored."""

    def plain(value: str) -> str:
        value = " ".join(value.replace("\u2019", "'").casefold().split())
        decomposed = unicodedata.normalize("NFKD", value)
        return "".join(c for c in decomposed if not unicodedata.combining(c))

    words = plain(re.sub(r"https?://\S+", " ", text))
    stem = plain(keyword.removesuffix("*"))
    end = "" if keyword.endswith("*") else r"(?![\w])"
    return re.search(r"(?<![\w])" + re.escape(stem) + end, words) is not None


def naive_holds(rule: RoutingRule, f: RouteFacts, timezone: str) -> bool:
    """An independent, slow reading of the rule format, for checking ``route``."""
    w = rule.when
    local = f.created_at.astimezone(ZoneInfo(timezone))
    tests = [
        w.intent is None or f.intent in w.intent,
        w.sentiment is None or f.sentiment in w.sentiment,
        w.actionable is None or f.actionable == w.actionable,
        w.toxicity_at_least is None or f.toxicity >= w.toxicity_at_least,
        w.topics_any is None or bool(set(f.topics) & set(w.topics_any)),
        w.language is None or (f.language or "").lower() in {x.lower() for x in w.language},
        w.country is None or (f.country or "").upper() in {x.upper() for x in w.country},
        w.reach is None or f.reach in w.reach,
        w.verified is None or f.verified == w.verified,
        w.channel is None or f.channel in w.channel,
        w.group is None or (f.group or "\0").casefold() in {fold_keyword(g) for g in w.group},
        w.keywords_any is None or any(naive_has(f.text, k) for k in w.keywords_any),
        w.keywords_all is None
        or all(any(naive_has(f.text, k) for k in words) for words in w.keywords_all),
        w.keywords_none is None or not any(naive_has(f.text, k) for k in w.keywords_none),
        w.max_words is None
        or len([t for t in f.text.split() if not t.startswith(("@", "http"))]) <= w.max_words,
        w.weekdays is None or WEEKDAYS[local.weekday()] in w.weekdays,
    ]
    if w.hours is not None:
        start, end = w.hours.split("-")
        now = f"{local:%H:%M}"
        tests.append(start <= now < end if start < end else (now >= start or now < end))
    return all(tests)


ACME_WORDS = [
    "invoice",
    "can't find",
    "newsletter",
    "login",
    "google",
    "kettle",
    "the app",
    "hello",
    "lol",
    "warranty",
    "process",
    "Désabonnée",
    "recipes",
    "job",
    "great job",
    "https://acme.example/login",
    "@someone",
]

random_facts = st.builds(
    RouteFacts,
    intent=st.sampled_from(INTENTS),
    sentiment=st.sampled_from(SENTIMENTS),
    actionable=st.booleans(),
    toxicity=st.floats(0, 1),
    topics=st.lists(
        st.sampled_from(["brand:acme", "product:airfry_5", "competitor:globex"]), unique=True
    ).map(tuple),
    language=st.sampled_from([None, "en", "de"]),
    country=st.sampled_from([None, "GB", "US"]),
    reach=st.sampled_from(REACH),
    verified=st.booleans(),
    channel=st.sampled_from(["mastodon", "bluesky", "forum", "rss", "elsewhere"]),
    group=st.sampled_from([None, "ACME owners club", "Kettle lovers"]),
    text=st.lists(st.sampled_from(ACME_WORDS), max_size=3).map(" ".join),
    created_at=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ),
)


@settings(max_examples=300, deadline=None)
@given(item=random_facts)
def test_the_first_matching_acme_rule_decides(acme_policy: Policy, item: RouteFacts) -> None:
    assert acme_policy.routing is not None
    decision = route(acme_policy, item)
    assert decision.department in acme_policy.department_ids
    assert decision.department not in decision.supporting
    first = next(
        (r for r in acme_policy.routing.rules if naive_holds(r, item, acme_policy.timezone)), None
    )
    if first is None:
        assert decision.rule == "fallback"
        assert decision.department == acme_policy.routing.fallback.lead
    else:
        assert decision.rule == first.id
        assert decision.department == first.then.lead
        assert set(decision.matched) == set(first.when.set_conditions())


conditions = st.fixed_dictionaries(
    {},
    optional={
        "intent": st.lists(st.sampled_from(INTENTS), min_size=1, max_size=3, unique=True),
        "sentiment": st.lists(st.sampled_from(SENTIMENTS), min_size=1, unique=True),
        "actionable": st.booleans(),
        "toxicity_at_least": st.sampled_from([0.2, 0.5, 0.9]),
        "reach": st.lists(st.sampled_from(REACH), min_size=1, max_size=3, unique=True),
        "verified": st.booleans(),
        "channel": st.lists(st.sampled_from(["mastodon", "forum", "rss"]), min_size=1, unique=True),
        "keywords_any": st.lists(st.sampled_from(ACME_WORDS), min_size=1, max_size=2, unique=True),
        "hours": st.sampled_from(["09:00-17:00", "22:00-06:00"]),
        "weekdays": st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=4, unique=True),
    },
)
departments = st.sampled_from(["pr", "it", "sales", "hr", "marketing"])


@settings(max_examples=100, deadline=None)
@given(
    whens=st.lists(conditions, min_size=0, max_size=6),
    leads=st.lists(departments, min_size=6, max_size=6),
    items=st.lists(random_facts, min_size=1, max_size=10),
)
def test_random_policies_route_to_the_first_matching_rule(
    acme_policy: Policy,
    whens: list[dict[str, Any]],
    leads: list[str],
    items: list[RouteFacts],
) -> None:
    # Random rules are built straight as models: unreachable ones are allowed here on purpose.
    rules = [
        {"id": f"r{i}", "when": when, "then": {"lead": lead}}
        for i, (when, lead) in enumerate(zip(whens, leads, strict=False))
    ]
    routing = Routing.model_validate({"rules": rules, "fallback": {"lead": "customer_service"}})
    policy = acme_policy.model_copy(update={"routing": routing, "timezone": "UTC"})
    assert policy.routing is not None
    for item in items:
        decision = route(policy, item)
        first = next((r for r in policy.routing.rules if naive_holds(r, item, "UTC")), None)
        assert decision.rule == (first.id if first else "fallback")
        assert decision.department == (first.then.lead if first else "customer_service")
        assert decision.department in policy.department_ids
