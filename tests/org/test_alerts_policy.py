"""The ``alerts:`` policy section: shape, defaults, and exact error messages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from townhall.org.alerts import AlertPolicy

ROOT = Path(__file__).resolve().parents[2]


def problems(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(pydantic.ValidationError) as caught:
        AlertPolicy.model_validate(data)
    return [(tuple(e["loc"]), e["msg"]) for e in caught.value.errors()]


def hook(**overrides: Any) -> dict[str, Any]:
    return {"id": "it", "url": "https://ops.acme.example/hooks", "kinds": ["crisis"]} | overrides


def test_a_valid_section():
    policy = AlertPolicy.model_validate(
        {
            "email": {
                "from": "townhall@acme.example",
                "to": {
                    "crisis": ["pr@acme.example", "cs@acme.example"],
                    "burst": "cs@acme.example",
                },
                "min_severity": "warning",
            },
            "webhooks": [
                hook(kinds="traffic_spike"),
                hook(
                    id="chat",
                    url="http://chat.acme.example/x",
                    format="slack",
                    min_severity="critical",
                ),
            ],
            "traffic": {
                "clicks_per_reshare": 0.05,
                "site_visits_per_hour": 4000,
                "notify_it_when_extra_visits_at_least": 800,
            },
        }
    )
    assert policy.email is not None
    assert policy.email.from_ == "townhall@acme.example"
    assert policy.email.min_severity == "warning"
    assert policy.email.to.for_kind("crisis") == ("pr@acme.example", "cs@acme.example")
    assert policy.email.to.for_kind("burst") == ("cs@acme.example",)
    assert policy.email.to.for_kind("viral_post") == ()
    assert policy.email.to.for_kind("no_such_kind") == ()
    it, chat = policy.webhooks
    assert (it.id, it.kinds, it.format, it.min_severity) == (
        "it",
        ("traffic_spike",),
        "generic",
        "watch",
    )
    assert (chat.url, chat.format, chat.min_severity) == (
        "http://chat.acme.example/x",
        "slack",
        "critical",
    )
    assert policy.traffic.clicks_per_reshare == 0.05
    assert policy.traffic.site_visits_per_hour == 4000
    assert policy.traffic.notify_it_when_extra_visits_at_least == 800


def test_everything_is_optional_with_documented_defaults():
    policy = AlertPolicy.model_validate({})
    assert policy.email is None and policy.webhooks == ()
    assert policy.traffic.clicks_per_reshare == 0.3
    assert policy.traffic.site_visits_per_hour is None
    assert policy.traffic.notify_it_when_extra_visits_at_least == 1000


def test_unknown_fields_are_errors():
    assert problems({"emails": {}}) == [(("emails",), "Extra inputs are not permitted")]
    assert problems({"email": {"from": "a@acme.example", "to": {"viral": ["b@acme.example"]}}}) == [
        (("email", "to", "viral"), "Extra inputs are not permitted")
    ]
    assert problems({"webhooks": [hook(secret="x")]}) == [
        (("webhooks", 0, "secret"), "Extra inputs are not permitted")
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://ops.acme.example/x", "webhook url must start with http:// or https:// (got 'ftp')"),
        (
            "javascript:alert(1)",
            "webhook url must start with http:// or https:// (got 'javascript')",
        ),
        ("ops.acme.example/x", "webhook url must start with http:// or https:// (got 'none')"),
        ("https://", "webhook url has no host"),
        (
            "https://ops.acme.example/a b",
            "webhook url must not contain spaces or control characters",
        ),
        (
            "https://ops.acme.example/a\r\nX: 1",
            "webhook url must not contain spaces or control characters",
        ),
    ],
)
def test_webhook_urls_must_be_http(url: str, message: str):
    assert problems({"webhooks": [hook(url=url)]}) == [
        (("webhooks", 0, "url"), f"Value error, {message}")
    ]


def test_clicks_per_reshare_must_be_positive_and_finite():
    assert problems({"traffic": {"clicks_per_reshare": -0.5}}) == [
        (("traffic", "clicks_per_reshare"), "Input should be greater than 0")
    ]
    assert problems({"traffic": {"clicks_per_reshare": 0}}) == [
        (("traffic", "clicks_per_reshare"), "Input should be greater than 0")
    ]
    assert problems({"traffic": {"clicks_per_reshare": float("inf")}}) == [
        (("traffic", "clicks_per_reshare"), "Input should be a finite number")
    ]
    assert problems(
        {"traffic": {"site_visits_per_hour": 0, "notify_it_when_extra_visits_at_least": -1}}
    ) == [
        (("traffic", "site_visits_per_hour"), "Input should be greater than 0"),
        (("traffic", "notify_it_when_extra_visits_at_least"), "Input should be greater than 0"),
    ]


def test_other_mistakes_are_named():
    assert problems({"webhooks": [hook(), hook(kinds=["crisis", "outage"], format="teams")]}) == [
        (
            ("webhooks", 1, "kinds", 1),
            "Input should be 'crisis', 'burst', 'viral_post', 'traffic_spike' or 'channel'",
        ),
        (("webhooks", 1, "format"), "Input should be 'generic' or 'slack'"),
    ]
    assert problems({"webhooks": [hook(), hook()]}) == [
        (("webhooks",), "Value error, duplicate webhook id 'it' (first at webhooks[0])")
    ]
    assert problems({"webhooks": [hook(kinds=[])]}) == [
        (("webhooks", 0, "kinds"), "Value should have at least 1 item after validation, not 0")
    ]
    assert problems(
        {
            "email": {
                "from": "nobody",
                "to": {"crisis": ["ok@acme.example", "nope"]},
                "min_severity": "high",
            }
        }
    ) == [
        (
            ("email", "from"),
            "Value error, not an e-mail address: 'nobody' (expected name@domain.example)",
        ),
        (
            ("email", "to", "crisis", 1),
            "Value error, not an e-mail address: 'nope' (expected name@domain.example)",
        ),
        (("email", "min_severity"), "Input should be 'watch', 'warning' or 'critical'"),
    ]
    assert problems({"email": {"from": "a@acme.example"}}) == [(("email", "to"), "Field required")]


def test_the_section_is_frozen():
    policy = AlertPolicy.model_validate({"webhooks": [hook()]})
    with pytest.raises(pydantic.ValidationError, match="Instance is frozen"):
        policy.webhooks[0].url = "https://elsewhere.example"  # type: ignore[misc]


def test_the_acme_example_in_the_docs_is_valid():
    text = (ROOT / "docs" / "alerts.md").read_text()
    [block] = re.findall(r"```yaml\n(alerts:\n.*?)```", text, flags=re.S)
    policy = AlertPolicy.model_validate(yaml.safe_load(block)["alerts"])
    assert policy.email is not None
    assert policy.email.to.for_kind("traffic_spike") == ("jonas.weber@acme.example",)
    assert [(h.id, h.kinds) for h in policy.webhooks] == [
        ("it_oncall", ("traffic_spike",)),
        ("social_chat", ("crisis", "burst", "viral_post")),
    ]
    assert policy.traffic.clicks_per_reshare == 0.3
