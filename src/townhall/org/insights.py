"""The ``insights:`` section of the policy: when each department's weekly digest goes out.

```yaml
insights:
  digests:
    - {department: pr, weekday: mon, time: "08:00"}          # to PR's people
    - {department: email, weekday: mon, time: "09:00", to: [chloe.martin@acme.example]}
```

Times are local to the department's zone (else the company's). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from townhall.org.fields import Email, Loc, PolicyModel, Weekday, items_of, strings_of
from townhall.org.planning import Clock


class DigestSchedule(PolicyModel):
    """A department's weekly digest: the day and local time it is sent, and to whom
    (default: the department's people)."""

    department: str
    weekday: Weekday = "mon"
    time: Clock = "08:00"
    to: list[Email] = []


class InsightsPolicy(PolicyModel):
    """Digest schedules (more insight settings join here)."""

    digests: list[DigestSchedule] = []


def insights_problems(
    data: Mapping[str, Any], departments: set[str], emails: set[str]
) -> list[tuple[Loc, str]]:
    """Unknown departments and people, a department scheduled twice."""
    section = data.get("insights")
    if not isinstance(section, Mapping):
        return []
    problems: list[tuple[Loc, str]] = []
    seen: set[str] = set()
    for i, digest in items_of(section, "digests"):
        loc: Loc = ("insights", "digests", i)
        department = digest.get("department")
        if isinstance(department, str):
            if department not in departments:
                valid = ", ".join(sorted(departments))
                problems.append(
                    ((*loc, "department"), f"unknown department {department!r} (valid: {valid})")
                )
            elif department in seen:
                problems.append(((*loc, "department"), f"{department!r} has a digest already"))
            seen.add(department)
        for j, email in strings_of(digest.get("to")):
            if email.lower() not in emails:
                problems.append(
                    ((*loc, "to", j), f"{email!r} is not among the people of the policy")
                )
    return problems
