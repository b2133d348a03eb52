"""The code of conduct checker on ACME's policy: each rule fires on its own examples and on
nothing in a set of realistic clean replies; spans, lengths, validation, the compiled cache.

The drafts in ``tests/data/conduct/drafts.jsonl`` each list the rules they must fire, exactly:
a clean draft lists none, and a bad one lists every rule it breaks, so a rule firing where it
should not is caught on bad drafts too, not only on clean ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from townhall.errors import PolicyError
from townhall.models.user import Role
from townhall.org.approvals import DraftKind
from townhall.org.conduct import Check, ConductRule, Level
from townhall.org.loader import load_policy
from townhall.org.policy import ChannelKind, Policy
from townhall.publishing.conduct import (
    BLUESKY_LIMIT,
    MASTODON_LIMIT,
    Context,
    Finding,
    blocks,
    check,
    compiled_conduct,
    length_of,
    needs_approval,
    toxicity_model,
)
from townhall.understand.toxicity import toxicity

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "examples" / "acme" / "policy.yaml"
DRAFTS = [
    json.loads(line)
    for line in (ROOT / "tests" / "data" / "conduct" / "drafts.jsonl")
    .read_text("utf-8")
    .splitlines()
    if line.strip()
]


def context_of(row: dict[str, Any]) -> Context:
    author = row.get("author", {})
    return Context(
        channel=row["channel"],
        kind=DraftKind(row["kind"]),
        author_department=author.get("department", ""),
        author_role=Role(author.get("role", "member")),
        paid=row.get("paid", False),
    )


def rules_of(findings: list[Finding]) -> list[str]:
    return sorted({f.rule for f in findings})


def with_rules(policy: Policy, *rules: ConductRule) -> Policy:
    """The policy with only these conduct rules (a new object, so compiled anew)."""
    return policy.model_copy(update={"conduct": list(rules)})


def rule(**fields: Any) -> ConductRule:
    return ConductRule.model_validate({"id": "r", "level": "warn", "message": "m", **fields})


# --- the corpus --------------------------------------------------------------------------------


def test_the_corpus_is_big_and_varied(acme_policy: Policy) -> None:
    clean = [r for r in DRAFTS if not r["expect"]]
    assert len(DRAFTS) >= 200 and len(clean) >= 100
    fired = {rule_id for r in DRAFTS for rule_id in r["expect"]}
    # Every rule of ACME's code of conduct has examples, and so has the built-in length rule.
    assert fired == {r.id for r in acme_policy.conduct} | {"length"}
    assert {r["channel"] for r in DRAFTS} == {"mastodon", "bluesky", "forum"}
    assert {r["kind"] for r in DRAFTS} == {k.value for k in DraftKind}


@pytest.mark.parametrize(
    "row", DRAFTS, ids=[f"{i}:{'+'.join(r['expect']) or 'clean'}" for i, r in enumerate(DRAFTS)]
)
def test_each_draft_fires_exactly_its_rules(acme_policy: Policy, row: dict[str, Any]) -> None:
    found = check(acme_policy, row["text"], context_of(row))
    assert rules_of(found) == row["expect"], [(f.rule, f.why) for f in found]
    for f in found:
        assert 0 <= f.start < f.end <= len(row["text"])


def test_no_false_positives_on_the_clean_drafts(acme_policy: Policy) -> None:
    noisy = [
        (r["text"], rules_of(check(acme_policy, r["text"], context_of(r))))
        for r in DRAFTS
        if not r["expect"]
    ]
    assert [n for n in noisy if n[1]] == []


# --- each check, with its span and its why -----------------------------------------------------

REPLY = Context(channel="mastodon")


def one(policy: Policy, text: str, context: Context = REPLY) -> Finding:
    found = check(policy, text, context)
    assert len(found) == 1, found
    return found[0]


def test_a_phone_number_is_found_with_its_span_and_blocks(acme_policy: Policy) -> None:
    text = "Hi Sam, call us back on +44 20 7946 0958 today."
    f = one(acme_policy, text)
    assert (f.rule, f.level, text[f.start : f.end]) == (
        "phone_number",
        Level.BLOCK,
        "+44 20 7946 0958",
    )
    assert f.why == "a phone number: +44 20 7946 0958"
    assert blocks([f]) and not needs_approval([f])


def test_national_numbers_are_read_in_the_rule_regions(acme_policy: Policy) -> None:
    only_us = with_rules(acme_policy, rule(check="phone_numbers", regions=["US"]))
    assert check(only_us, "Call 07911 123456.", REPLY) == []  # a UK mobile, not a US number
    assert rules_of(check(only_us, "Call (212) 555-0123.", REPLY)) == ["r"]
    assert rules_of(check(only_us, "Call +44 7911 123456.", REPLY)) == ["r"]  # international


def test_our_own_numbers_and_addresses_are_allowed(acme_policy: Policy) -> None:
    assert check(acme_policy, "Call 0800 496 0000 or write to help@acme.example.", REPLY) == []
    assert rules_of(check(acme_policy, "Call 0800 496 0001.", REPLY)) == ["phone_number"]


def test_personal_data_is_public_text_only_but_cards_are_never_written(acme_policy: Policy) -> None:
    private = Context(channel="mastodon", kind=DraftKind.PRIVATE)
    text = "I'll call 07911 123456 or mail sam@example.com about ACME-482913."
    assert check(acme_policy, text, private) == []
    assert rules_of(check(acme_policy, text, REPLY)) == [
        "email_address",
        "order_number",
        "phone_number",
    ]
    card = "Was it 4242 4242 4242 4242?"
    assert rules_of(check(acme_policy, card, private)) == ["card_number"]


def test_card_numbers_pass_luhn_and_are_masked(acme_policy: Policy) -> None:
    text = "Card 4111-1111-1111-1111 and 4111-1111-1111-1112."
    f = one(acme_policy, text)
    assert text[f.start : f.end] == "4111-1111-1111-1111"
    assert f.why == "a payment card number (ending 1111)"
    assert "4111-1111-1111" not in f.why and "411111111111" not in f.why
    # A card followed by another group of digits is still found, without the extra group.
    g = one(
        acme_policy,
        "It was 4242 4242 4242 4242 123, the CVV.",
        Context("mastodon", DraftKind.PRIVATE),
    )
    assert (g.start, g.end) == (7, 26)


def test_fediverse_handles_are_not_email_addresses(acme_policy: Policy) -> None:
    assert check(acme_policy, "Thanks @bob@example.social and @ana@mastodon.example!", REPLY) == []


def test_claims_depend_on_who_makes_them(acme_policy: Policy) -> None:
    text = "We'll refund you in full."
    member = Context("mastodon", author_department="customer_service", author_role=Role.MEMBER)
    approver = Context("mastodon", author_department="customer_service", author_role=Role.APPROVER)
    marketing_approver = Context(
        "mastodon", author_department="marketing", author_role=Role.APPROVER
    )
    pr_member = Context("mastodon", author_department="pr", author_role=Role.MEMBER)
    f = one(acme_policy, text, member)
    assert (f.rule, f.level, text[f.start : f.end]) == (
        "refund_promise",
        Level.NEEDS_APPROVAL,
        "We'll refund you",
    )
    assert needs_approval([f]) and not blocks([f])
    assert check(acme_policy, text, approver) == []
    assert check(acme_policy, text, pr_member) == []
    assert rules_of(check(acme_policy, text, marketing_approver)) == ["refund_promise"]


def test_allowed_roles_and_departments_are_shorthands(acme_policy: Policy) -> None:
    policy = with_rules(
        acme_policy,
        rule(
            check="claims",
            phrases=["money back"],
            allowed_roles=["admin"],
            allowed_departments=["pr"],
        ),
    )
    text = "You'll get your money back."
    assert check(policy, text, Context("mastodon", author_role=Role.ADMIN)) == []
    assert check(policy, text, Context("mastodon", author_department="pr")) == []
    assert rules_of(check(policy, text, Context("mastodon", author_department="sales"))) == ["r"]


def test_phrases_are_whole_words_any_case_and_any_apostrophe(acme_policy: Policy) -> None:
    policy = with_rules(acme_policy, rule(check="banned_words", words=["crap", "piss off"]))
    assert rules_of(check(policy, "CRAP.", REPLY)) == ["r"]
    assert rules_of(check(policy, "Piss\n off", REPLY)) == ["r"]
    assert check(policy, "Scrapbook craptastic", REPLY) == []
    liability = with_rules(acme_policy, rule(check="claims", phrases=["we're liable"]))
    assert rules_of(check(liability, "Yes, we’re liable.", REPLY)) == ["r"]
    german = with_rules(acme_policy, rule(check="confidential_terms", terms=["Größe 2"]))
    assert rules_of(check(german, "Die GRÖSSE 2 kommt? Nein: die größe 2!", REPLY)) == ["r"]


def test_toxicity_spans_the_offending_words(acme_policy: Policy) -> None:
    text = "Stop whining and read the manual, you moron."
    f = one(acme_policy, text)
    assert (f.rule, text[f.start : f.end]) == ("toxicity", "moron")
    assert f.why.startswith("offensive language (toxicity 0.9")


def test_the_fast_toxicity_model_scores_as_the_project_model_does() -> None:
    model = toxicity_model()
    assert model.ready
    texts = [r["text"] for r in DRAFTS] + ["", "   ", "idiot", "x" * 6000 + " idiot", "🙃"]
    for text, expected in zip(texts, toxicity(texts), strict=True):
        assert model.score(text) == pytest.approx(expected, abs=1e-9)
    for word in ["idiot", "moron", "kettle", "damn"]:
        assert model.word_score(word) == pytest.approx(toxicity([word])[0], abs=1e-9)


def test_competitors_are_named_with_negative_sentiment(acme_policy: Policy) -> None:
    text = "Our kettles are quiet. Globex is terrible. Globex Corp kettles are rubbish."
    found = check(acme_policy, text, REPLY)
    assert [text[f.start : f.end] for f in found] == ["Globex", "Globex Corp"]
    assert found[0].why.startswith("Globex named in a negative sentence (sentiment -")
    assert found[1].why == "Globex named next to “rubbish”"
    assert check(acme_policy, "Globex makes kettles too. Ours is terrible at nothing.", REPLY) == []


def test_brand_voice_limits(acme_policy: Policy) -> None:
    text = "Wow! Yes! Finally! Here!"
    f = one(acme_policy, text)
    assert (f.rule, f.start, f.end, f.why) == (
        "exclamations",
        17,
        24,
        "4 exclamation marks (at most 2)",
    )
    text = "New 🍲☕🍪 and 🕯️ too"
    f = one(acme_policy, text)
    assert (f.rule, text[f.start : f.end], f.why) == ("emoji", "🕯️", "4 emoji (at most 3)")
    assert check(acme_policy, "OK, ACME ON TV", REPLY) == []  # too few letters to shout
    f = one(acme_policy, "  THIS IS OUR BIGGEST SALE EVER  ")
    assert (f.rule, f.start, f.end) == ("shouting", 2, 31)


def test_preferred_words_name_the_better_word(acme_policy: Policy) -> None:
    f = one(acme_policy, "We'll reply asap.")
    assert f.message == 'Say "as soon as we can" rather than "asap".'
    plain = with_rules(acme_policy, rule(check="preferred_words", prefer={"cheap": "good value"}))
    g = one(plain, "It's cheap.")
    assert g.message == "m Write “good value” instead of “cheap”."


def test_sign_off_at_the_end_of_a_takeover_post(acme_policy: Policy) -> None:
    takeover = Context("mastodon", kind=DraftKind.TAKEOVER)
    assert check(acme_policy, "Ask me anything!\n^Peter \n", takeover) == []
    text = "Ask me anything!\nPeter\n"
    f = one(acme_policy, text, takeover)
    assert (f.rule, text[f.start : f.end]) == ("takeover_sign_off", "Peter")
    assert check(acme_policy, "Ask me anything!", REPLY) == []  # replies need no sign-off


def test_paid_posts_need_a_disclosure(acme_policy: Policy) -> None:
    paid = Context("mastodon", kind=DraftKind.POST, paid=True)
    text = "Winter sale!\nAll kettles 20% off"
    f = one(acme_policy, text, paid)
    assert (f.rule, text[f.start : f.end], f.level) == (
        "disclosure",
        "All kettles 20% off",
        Level.BLOCK,
    )
    assert "#ad, #sponsored" in f.why
    assert check(acme_policy, text + " #ad", paid) == []
    assert check(acme_policy, text, Context("mastodon", kind=DraftKind.POST)) == []


def test_rules_apply_where_they_say(acme_policy: Policy) -> None:
    policy = with_rules(
        acme_policy,
        rule(check="banned_words", words=["lol"], applies={"channels": ["bluesky"]}),
        rule(id="s", check="banned_words", words=["lol"], applies={"departments": ["pr"]}),
    )
    assert check(policy, "lol", Context("mastodon")) == []  # mastodon's owner: customer_service
    assert rules_of(check(policy, "lol", Context("bluesky"))) == ["r"]
    assert rules_of(check(policy, "lol", Context("mastodon", department="pr"))) == ["s"]
    assert rules_of(check(policy, "lol", Context("rss"))) == ["s"]  # rss belongs to pr


def test_findings_are_in_text_order_and_overlaps_of_one_rule_join(acme_policy: Policy) -> None:
    text = "We'll refund you, unfortunately it's our fault, call 07911 123456"
    found = check(acme_policy, text, REPLY)
    assert [f.start for f in found] == sorted(f.start for f in found)
    assert [text[f.start : f.end] for f in found if f.rule == "refund_promise"] == [
        "We'll refund you"
    ]


# --- length ----------------------------------------------------------------------------------


def test_mastodon_counts_every_url_as_23_and_mentions_by_username() -> None:
    assert length_of(ChannelKind.MASTODON, "see https://a.example/x") == 4 + 23
    long_url = "https://acme.example/" + "a" * 200
    assert length_of(ChannelKind.MASTODON, f"see {long_url}.") == 4 + 23 + 1
    assert length_of(ChannelKind.MASTODON, "hi @maria@cooking.example!") == 3 + 6 + 1
    assert length_of(ChannelKind.MASTODON, "hi @maria!") == 3 + 6 + 1
    assert length_of(ChannelKind.MASTODON, "mail sam@example.com") == 20  # not a mention
    assert length_of(ChannelKind.MASTODON, "👨‍👩‍👧 é") == 3  # graphemes


def test_bluesky_counts_graphemes() -> None:
    family = "👨‍👩‍👧"  # five code points, one grapheme
    accented = "e\u0301"  # e + combining acute
    flag = "🇬🇧"
    assert length_of(ChannelKind.BLUESKY, family + accented + flag) == 3
    assert length_of(ChannelKind.BLUESKY, "https://acme.example/" + "a" * 50) == 71  # in full


def test_length_finding_starts_at_the_first_character_past_the_limit(acme_policy: Policy) -> None:
    no_rules = with_rules(acme_policy)  # the length rule is on without any policy rule
    text = "a" * MASTODON_LIMIT
    assert check(no_rules, text, REPLY) == []
    f = one(no_rules, text + "bc")
    assert (f.rule, f.level, f.start, f.end) == ("length", Level.BLOCK, MASTODON_LIMIT, 502)
    url = "https://a.example/1"  # 19 characters, counted 23
    text = "a" * 480 + url
    f = one(no_rules, text)
    assert (f.start, f.end) == (480, len(text))  # the URL starts past 500
    assert "503 characters" in f.why

    bluesky = Context("bluesky")
    graphemes = ["👨‍👩‍👧", "e\u0301", "🇬🇧"] * 100
    assert check(no_rules, "".join(graphemes), bluesky) == []
    f = one(no_rules, "".join(graphemes) + "e\u0301x", bluesky)
    assert f.start == len("".join(graphemes)) and f.end == f.start + 3
    assert f.why == f"{BLUESKY_LIMIT + 2} graphemes (Bluesky publishes at most {BLUESKY_LIMIT})"


def test_bluesky_also_limits_bytes(acme_policy: Policy) -> None:
    no_rules = with_rules(acme_policy)
    text = "👨‍👩‍👧‍👦" * 150  # 150 graphemes, 25 bytes each: 3,750 bytes
    f = one(no_rules, text, Context("bluesky"))
    assert f.start == 3000 // 25 * 7 and "3750 bytes" in f.why


def test_a_policy_length_rule_replaces_the_built_in_one(acme_policy: Policy) -> None:
    policy = with_rules(acme_policy, rule(id="too_long", check="length", max_length=10))
    f = one(policy, "a" * 12)
    assert (f.rule, f.level, f.start) == ("too_long", Level.WARN, 10)
    f = one(policy, "b" * 12, Context("forum"))  # other channels: the rule's own limit
    assert (f.rule, f.start) == ("too_long", 10)
    assert check(with_rules(acme_policy), "b" * 1000, Context("forum")) == []  # no limit
    assert check(with_rules(acme_policy), "b" * 1000, Context("nowhere")) == []


# --- validation --------------------------------------------------------------------------------


def policy_problems_of(tmp_path: Path, conduct_yaml: str) -> tuple[int, list[str]]:
    """The problems of ACME's policy with its ``conduct:`` section replaced, and the line of
    the section's first rule."""
    text = ACME.read_text("utf-8")
    start = text.index("\nconduct:\n") + 1
    end = text.index("\n# Staff takeovers")
    path = tmp_path / "policy.yaml"
    path.write_text(text[:start] + conduct_yaml + text[end:], encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    first_rule = text[:start].count("\n") + 2
    return first_rule, [p.removeprefix(f"{path}:") for p in caught.value.problems]


def test_bad_rules_are_policy_errors_with_file_line_and_field(tmp_path: Path) -> None:
    first, problems = policy_problems_of(
        tmp_path,
        "conduct:\n"
        "  - {id: a, level: block, message: m, check: personal_patterns, patterns: ['ACME-(\\d']}\n"
        "  - {id: b, level: warn, message: m, check: bogus}\n"
        "  - {id: c, level: warn, message: m, check: claims, words: [x]}\n"
        "  - {id: d, level: warn, message: m, check: toxicity}\n"
        "  - {id: e, level: warn, message: m, check: phone_numbers, regions: [XX]}\n"
        "  - {id: f, level: warn, message: m, check: sign_off, sign_off: 'x*'}\n",
    )
    assert problems[0].startswith(
        f"{first}: conduct[0].patterns[0]: invalid regular expression 'ACME-(\\\\d': missing )"
    )
    assert problems[1].startswith(
        f"{first + 1}: conduct[1].check: invalid value 'bogus' (valid: 'email_addresses', "
    )
    assert problems[2:] == [
        f"{first + 2}: conduct[2]: words: not a parameter of check 'claims' "
        "(its parameters: allowed, allowed_departments, allowed_roles, patterns, phrases, what)",
        f"{first + 3}: conduct[3]: check 'toxicity' needs threshold (not empty)",
        f"{first + 4}: conduct[4].regions[0]: unknown region 'XX' "
        "(expected a country code such as GB or US)",
        f"{first + 5}: conduct[5].sign_off: pattern 'x*' matches empty text "
        "(it would match everywhere)",
    ]


def test_a_rule_of_one_check_refuses_the_parameters_of_another() -> None:
    with pytest.raises(ValueError, match="max_emoji: not a parameter of check 'capitals'"):
        rule(check="capitals", max_capitals_share=0.5, max_emoji=3)
    with pytest.raises(ValueError, match="needs phrases or patterns"):
        rule(check="claims", allowed_roles=["admin"])
    assert rule(check="claims", patterns=["(?i)refund"]).check is Check.CLAIMS


def test_acme_code_of_conduct_loads() -> None:
    policy = load_policy(ACME)
    assert len(policy.conduct) >= 15
    assert {r.level for r in policy.conduct} == set(Level)


# --- compiled once per policy ------------------------------------------------------------------


def test_rules_are_compiled_once_per_policy_object(acme_policy: Policy) -> None:
    first = compiled_conduct(acme_policy)
    assert compiled_conduct(acme_policy) is first
    reloaded = load_policy(ACME)
    assert compiled_conduct(reloaded) is not first
    changed = with_rules(acme_policy, rule(check="banned_words", words=["kettle"]))
    assert rules_of(check(changed, "kettle", REPLY)) == ["r"]
    assert check(acme_policy, "kettle", REPLY) == []


def test_empty_and_blank_texts_have_no_findings(acme_policy: Policy) -> None:
    paid = Context("mastodon", kind=DraftKind.TAKEOVER, paid=True)
    assert check(acme_policy, "", paid) == []
    found = check(acme_policy, "   ", paid)
    assert all(0 <= f.start < f.end <= 3 for f in found)
