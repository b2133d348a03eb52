"""The policy models: the ACME example, the queries other code calls, and the cross-field rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from townhall.models.user import Role
from townhall.org.fields import format_loc
from townhall.org.loader import load_policy
from townhall.org.policy import REQUIRED_ACTIVITIES, Policy, policy_problems

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"

DEPARTMENTS = [
    "marketing",
    "pr",
    "customer_service",
    "sales",
    "search",
    "it",
    "email",
    "hr",
    "back_office",
]
LEADS = {
    "brand_voice": ["marketing"],
    "platform_pages": ["marketing"],
    "social_calendar": ["marketing"],
    "campaigns": ["marketing"],
    "advertising": ["marketing"],
    "community_management": ["marketing"],
    "media_relations": ["pr"],
    "communication_plans": ["pr"],
    "crisis_management": ["pr"],
    "influencer_relationships": ["marketing", "pr"],
    "customer_issues": ["customer_service"],
    "referrals_and_leads": ["sales"],
    "site_and_app_problems": ["it"],
    "jobs_and_employer_brand": ["hr"],
    "company_procedures": ["back_office"],
    "search_visibility": ["search"],
    "email_programmes": ["email"],
}


@pytest.fixture(scope="module")
def acme() -> Policy:
    return load_policy(ACME)


def acme_data() -> dict[str, Any]:
    data = yaml.safe_load(ACME.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_acme_departments_are_exactly_the_nine(acme: Policy) -> None:
    assert acme.version == 1
    assert acme.department_ids == DEPARTMENTS


def test_acme_ownership_matrix_has_the_agreed_leads(acme: Policy) -> None:
    assert {a.id: a.lead for a in acme.ownership} == LEADS
    assert "customer_service" in acme.supports("site_and_app_problems")


def test_acme_channels_and_default_owners(acme: Policy) -> None:
    owners = {c.id: (c.kind.value, c.default_owner) for c in acme.channels}
    assert owners == {
        "mastodon": ("mastodon", "customer_service"),
        "bluesky": ("bluesky", "customer_service"),
        "forum": ("forum", "marketing"),
        "rss": ("rss", "pr"),
    }
    assert acme.channel("mastodon").account == "@acme@mastodon.example"
    assert "ACME owners club" in acme.channel("forum").groups


def test_acme_brand_products_aliases_and_competitor(acme: Policy) -> None:
    names = {p.name for p in acme.brand.products}
    assert names == {"ACME Blender Pro", "ACME KettleOne", "ACME AirFry 5", "ACME SmartScale"}
    aliases = {alias for p in acme.brand.products for alias in p.aliases}
    assert {"Kettle One", "AirFry5", "#AirFry5", "acme blender"} <= aliases
    assert [c.name for c in acme.brand.competitors] == ["Globex"]
    assert all(p.qa_owner in acme.department_ids for p in acme.brand.products)


def test_acme_people_staff_every_department(acme: Policy) -> None:
    for dept in DEPARTMENTS:
        assert acme.people_in(dept), dept
    assert any(len(acme.people_in(d)) >= 3 for d in DEPARTMENTS)
    assert any(p.role == Role.ADMIN for p in acme.people)
    assert all(p.email.endswith("@acme.example") for p in acme.people)


def test_default_owner_falls_back_to_whoever_leads_customer_issues(acme: Policy) -> None:
    assert acme.default_owner("rss") == "pr"
    assert acme.default_owner("forum") == "marketing"
    assert acme.default_owner("carrier-pigeon") == "customer_service"


def test_lookups_raise_key_error_for_unknown_ids(acme: Policy) -> None:
    assert acme.department("pr").name == "Public relations"
    with pytest.raises(KeyError):
        acme.department("legal")
    with pytest.raises(KeyError):
        acme.leads("juggling")


def test_approvers_are_approvers_and_admins_of_that_department(acme: Policy) -> None:
    assert [p.name for p in acme.approvers("marketing")] == ["Maya Patel"]
    assert [p.role for p in acme.approvers("it")] == [Role.ADMIN]
    assert acme.approvers("sales") == []


def test_department_details_are_typed(acme: Policy) -> None:
    pr = acme.department("pr")
    assert pr.timezone == "Europe/London"
    assert pr.working_hours == "08:00-20:00"
    assert pr.sla_minutes is not None
    assert pr.sla_minutes.first_response == 30


def test_policy_is_frozen(acme: Policy) -> None:
    with pytest.raises(ValidationError):
        acme.department("pr").name = "Press"  # type: ignore[misc]


def test_building_a_policy_directly_still_runs_the_cross_checks() -> None:
    data = acme_data()
    data["people"][0]["department"] = "legal"
    with pytest.raises(
        ValidationError, match=r"people\[0\]\.department: unknown department 'legal'"
    ):
        Policy.model_validate(data)


def test_unknown_top_level_section_is_refused() -> None:
    data = acme_data()
    data["campaigns"] = []  # reserved for a later version of the format
    with pytest.raises(ValidationError, match="campaigns"):
        Policy.model_validate(data)


def test_routing_is_optional() -> None:
    data = acme_data()
    del data["routing"]
    assert Policy.model_validate(data).routing is None


def test_acme_data_has_no_cross_field_problems() -> None:
    assert policy_problems(acme_data()) == []


def test_emails_are_unique_ignoring_case() -> None:
    data = acme_data()
    data["people"][2]["email"] = data["people"][0]["email"].upper()
    assert policy_problems(data) == [
        (
            ("people", 2, "email"),
            "duplicate e-mail (case-insensitive) 'MAYA.PATEL@ACME.EXAMPLE' (first at people[0])",
        ),
    ]


def test_a_department_without_people_is_a_problem() -> None:
    data = acme_data()
    data["people"] = [p for p in data["people"] if p["department"] != "email"]
    assert policy_problems(data) == [
        (("departments", 6, "id"), "department 'email' has no people (add one under people)")
    ]


def test_policy_problems_tolerates_malformed_parts() -> None:
    data = acme_data()
    data["people"][0] = "not a mapping"
    data["ownership"][0]["lead"] = "marketing"
    data["brand"] = None
    assert policy_problems(data) == []


@given(st.sets(st.sampled_from(REQUIRED_ACTIVITIES)))
def test_every_missing_required_activity_is_reported(removed: set[str]) -> None:
    data = acme_data()
    data["ownership"] = [a for a in data["ownership"] if a["id"] not in removed]
    reported = {msg.split("'")[1] for loc, msg in policy_problems(data) if loc == ("ownership",)}
    assert reported == removed


@pytest.mark.parametrize(
    ("loc", "text"),
    [
        ((), ""),
        (("people",), "people"),
        (("people", 0, "email"), "people[0].email"),
        (("ownership", 2, "lead", 1), "ownership[2].lead[1]"),
    ],
)
def test_format_loc(loc: tuple[str | int, ...], text: str) -> None:
    assert format_loc(loc) == text


def test_load_policy_is_also_importable_from_the_policy_module() -> None:
    from townhall.org import policy

    assert policy.load_policy(ACME) == load_policy(ACME)


def test_a_dumped_policy_validates_again_as_it_was(acme_policy) -> None:
    again = Policy.model_validate(acme_policy.model_dump(mode="python"))
    assert again == acme_policy
    assert [r.id for r in again.conduct] == [r.id for r in acme_policy.conduct]
