"""The ``objectives:`` section: ACME's goals load, and every mistake is a ``policy check``
problem that names the file's line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from townhall.errors import PolicyError
from townhall.org.loader import parse_policy
from townhall.org.objectives import Direction, Metric, Window
from townhall.org.policy import Policy

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"


def test_acme_goals_objectives_and_key_results(acme_policy: Policy) -> None:
    section = acme_policy.objectives
    assert [g.label for g in section.goals] == [
        "Drive in-store traffic",
        "Protect our reputation",
        "Hire for the Leeds store",
    ]
    objective, kpi = section.kpi("negative_share") or (None, None)
    assert objective is not None and kpi is not None
    assert (objective.id, kpi.measure, kpi.heading, kpi.span) == (
        "calm_conversation",
        Metric.NEGATIVE_SHARE,
        Direction.DOWN,
        Window.WEEK,
    )
    _, clicks = section.kpi("store_clicks_gb") or (None, None)
    assert clicks is not None and clicks.span is Window.TOTAL and clicks.country == "GB"
    assert section.objective("leeds_hiring") is not None
    assert section.kpi("nothing") is None


def _with(kpi: dict[str, object], **objective: object) -> str:
    data = yaml.safe_load(ACME.read_text())
    data["objectives"] = {
        "goals": [
            {
                "id": "g",
                "objectives": [
                    {
                        "id": "o",
                        "department": "pr",
                        "starts": "2026-11-01",
                        "kpis": [
                            {"id": "k", "metric": "mentions", "target": 10, "by": "2027-01-01"}
                            | kpi
                        ],
                    }
                    | objective
                ],
            }
        ]
    }
    return yaml.safe_dump(data, sort_keys=False)


def _problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    return caught.value.problems


@pytest.mark.parametrize(
    ("kpi", "objective", "field", "words"),
    [
        ({"metric": "clicks"}, {}, "kpis[0].metric", "unknown metric 'clicks'"),
        ({}, {"department": "legal"}, "objectives[0].department", "unknown department 'legal'"),
        ({"department": "legal"}, {}, "kpis[0].department", "unknown department 'legal'"),
        ({"channel": "tiktok"}, {}, "kpis[0].channel", "unknown channel 'tiktok'"),
        ({"topic": "product:toaster"}, {}, "kpis[0].topic", "unknown topic 'product:toaster'"),
        ({"by": "2026-10-01"}, {}, "kpis[0].by", "is not after the start"),
        ({"country": "Britain"}, {}, "kpis[0].country", "invalid country"),
        ({"metric": "negative_share", "target": 15}, {}, "kpis[0]", "write 0.15 for 15%"),
        ({"aggregate": "sum"}, {}, "kpis[0]", "aggregate goes with metric: reading"),
        ({"metric": "reading", "topic": "brand:acme"}, {}, "kpis[0]", "cannot be filtered"),
        ({"direction": "sideways"}, {}, "kpis[0].direction", "'up' or 'down'"),
    ],
)
def test_a_mistake_names_its_field(
    kpi: dict[str, object], objective: dict[str, object], field: str, words: str
) -> None:
    problems = _problems(_with(kpi, **objective))
    assert any(field in p and words in p for p in problems), problems
    assert all(":" in p.split(" ")[0] for p in problems)  # FILE:LINE: first


def test_ids_are_unique_across_objectives() -> None:
    data = yaml.safe_load(_with({}))
    goal = data["objectives"]["goals"][0]
    goal["objectives"].append(dict(goal["objectives"][0]))
    problems = _problems(yaml.safe_dump(data, sort_keys=False))
    assert any("duplicate objective id 'o'" in p for p in problems), problems
    assert any("duplicate key result id 'k'" in p for p in problems), problems


def test_a_valid_section_loads() -> None:
    policy = parse_policy(_with({"channel": "mastodon", "topic": "product:airfry_5"}))
    assert policy.objectives.kpi("k") is not None
