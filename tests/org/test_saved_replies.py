"""Saved replies in the policy: validated, in the conversation's language, filled in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from townhall.org.loader import load_policy
from townhall.org.policy import policy_problems
from townhall.org.saved_replies import SavedReply, fill, first_name, for_department

ACME = Path(__file__).parents[2] / "examples" / "acme" / "policy.yaml"


def _reply(**text: str) -> SavedReply:
    return SavedReply(id="sorry", name="Sorry", department="customer_service", text=text)


def test_the_conversations_language_is_used_when_written_else_the_first() -> None:
    reply = _reply(de="Hallo {first_name}", en="Hello {first_name}")
    assert reply.language_for("en-GB") == "en"
    assert reply.language_for("EN") == "en"
    assert reply.language_for("pt") == "de"  # the first written is the default
    assert reply.language_for(None) == "de"


def test_placeholders_are_filled_and_braces_in_values_stay_as_they_are() -> None:
    reply = _reply(en="Hi {first_name}, {agent} here ({department}); {{not a field}}")
    text = fill(reply, "en", {"first_name": "{agent}", "agent": "Sofia", "department": "Sales"})
    assert text == "Hi {agent}, Sofia here (Sales); {not a field}"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ({"en": "Hi {handle}"}, "unknown placeholder {handle}"),
        ({"en": "Hi {first_name!r}"}, "takes no format"),
        ({"en": "50% off {"}, "literal brace"),
        ({"en": "  "}, "the en text is empty"),
        ({"english": "Hi"}, "is not a language code"),
        ({}, "at least 1"),
    ],
)
def test_a_saved_reply_that_cannot_be_filled_is_refused(text: dict[str, str], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        _reply(**text)


def test_first_name_falls_back_to_the_handle() -> None:
    assert first_name("Jane Okafor", "@jane@example.social") == "Jane"
    assert first_name("  ", "@jane@example.social") == "jane"


def test_policy_check_names_an_unknown_department_and_a_repeated_id() -> None:
    data: dict[str, Any] = yaml.safe_load(ACME.read_text(encoding="utf-8"))
    first = data["saved_replies"][0]
    data["saved_replies"].append({**first, "department": "legal"})
    assert policy_problems(data) == [
        (
            ("saved_replies", len(data["saved_replies"]) - 1, "id"),
            f"duplicate id {first['id']!r} (first at saved_replies[0])",
        ),
        (
            ("saved_replies", len(data["saved_replies"]) - 1, "department"),
            "unknown department 'legal' (valid: back_office, customer_service, email, hr, it, "
            "marketing, pr, sales, search)",
        ),
    ]


def test_acme_has_saved_replies_for_the_teams_that_answer_people() -> None:
    acme = load_policy(ACME)
    names = {
        d: [r.name for r in for_department(acme.saved_replies, d)]
        for d in ("customer_service", "sales", "hr")
    }
    assert all(names.values()), names
    assert names["customer_service"] == sorted(names["customer_service"])
