"""Loading policy.yaml: every problem is reported as ``FILE:LINE: path: message``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from townhall.errors import PolicyError
from townhall.org.loader import load_policy, parse_policy
from townhall.org.policy import REQUIRED_ACTIVITIES

FIXTURES = Path(__file__).parent / "fixtures"

# Line numbers below refer to this text: line 1 is ``version: 1``.
MINIMAL = """\
version: 1
brand:
  name: Tiny
channels:
  - id: mastodon
    kind: mastodon
    account: "@tiny@mastodon.example"
    default_owner: ops
departments:
  - id: ops
    name: Operations
people:
  - name: Ada
    email: ada@tiny.example
    department: ops
    role: admin
ownership:
""" + "".join(f"  - {{id: {a}, lead: [ops]}}\n" for a in REQUIRED_ACTIVITIES)


def problems(tmp_path: Path, text: str, name: str = "policy.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    prefix = f"{path}:"
    assert all(p.startswith(prefix) for p in caught.value.problems)
    return [p.removeprefix(prefix) for p in caught.value.problems]


def test_minimal_policy_loads(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    policy = load_policy(path)
    assert policy.department_ids == ["ops"]
    assert policy.default_owner("mastodon") == "ops"


def test_unknown_field_names_the_valid_fields(tmp_path: Path) -> None:
    text = MINIMAL.replace("    email: ada", "    emial: ada")
    assert problems(tmp_path, text) == [
        "13: people[0].email: missing required field",
        "14: people[0].emial: unknown field (valid fields: name, email, department, role, "
        "capacity, working_hours, working_days, timezone, rights)",
    ]


def test_unknown_department_lists_the_valid_ones(tmp_path: Path) -> None:
    text = MINIMAL.replace("    default_owner: ops", "    default_owner: legall")
    assert problems(tmp_path, text) == [
        "8: channels[0].default_owner: unknown department 'legall' (valid: ops)"
    ]


def test_duplicate_department_id(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    name: Operations\n", "    name: Operations\n  - {id: ops, name: Ops}\n"
    )
    assert problems(tmp_path, text) == [
        "12: departments[1].id: duplicate id 'ops' (first at departments[0])"
    ]


def test_duplicate_key_in_one_mapping_is_reported(tmp_path: Path) -> None:
    text = MINIMAL.replace("  name: Tiny\n", "  name: Tiny\n  name: Tinier\n")
    assert problems(tmp_path, text) == ["4: brand.name: duplicate key (also on line 3; keep one)"]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("    role: admin", "    role: [admin")
    (problem,) = problems(tmp_path, text)
    assert problem.startswith("17: YAML syntax error: ")


def test_unknown_role(tmp_path: Path) -> None:
    text = MINIMAL.replace("    role: admin", "    role: boss")
    assert problems(tmp_path, text) == [
        "12: people: nobody has role 'admin' (at least one admin is required)",
        "16: people[0].role: unknown role 'boss'; roles are admin, approver, member, viewer",
    ]


def test_a_declared_role_may_be_held(tmp_path: Path) -> None:
    text = MINIMAL.replace("    role: admin", "    role: boss") + (
        "roles:\n  - id: boss\n    grants:\n      - actions: [view]\n"
    )
    assert problems(tmp_path, text) == [
        "12: people: nobody has role 'admin' (at least one admin is required)",
        "35: roles: nobody's role grants `policy`: nobody could change the policy again",
    ]


def test_missing_field_points_at_the_parent(tmp_path: Path) -> None:
    text = MINIMAL.replace("    kind: mastodon\n", "")
    assert problems(tmp_path, text) == ["5: channels[0].kind: missing required field"]


def test_missing_section_points_at_the_top(tmp_path: Path) -> None:
    text = MINIMAL.replace("brand:\n  name: Tiny\n", "")
    assert problems(tmp_path, text) == ["1: brand: missing required field"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    email: ada@tiny.example",
            "    email: ada-at-tiny",
            "14: people[0].email: not an e-mail address: 'ada-at-tiny' "
            "(expected name@domain.example)",
        ),
        (
            "    name: Operations",
            "    name: Operations\n    timezone: Europe/Lodnon",
            "12: departments[0].timezone: unknown timezone 'Europe/Lodnon' "
            "(expected an IANA name such as Europe/London)",
        ),
        (
            "    name: Operations",
            "    name: Operations\n    working_hours: '9-5'",
            "12: departments[0].working_hours: invalid working hours '9-5' "
            "(expected HH:MM-HH:MM, e.g. 08:00-18:00)",
        ),
        (
            "  - id: ops\n",
            "  - id: Ops Team\n",
            "10: departments[0].id: invalid id 'Ops Team' (use lowercase letters, digits and _)",
        ),
        (
            "{id: crisis_management, lead: [ops]}",
            "{id: crisis_management, lead: [ops], support: [ops]}",
            "26: ownership[8].support[0]: 'ops' is already a lead of this activity",
        ),
        (
            "  - {id: email_programmes, lead: [ops]}\n",
            "",
            "17: ownership: missing required activity 'email_programmes' (add it with a lead)",
        ),
    ],
)
def test_field_and_cross_field_messages(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in MINIMAL
    assert expected in problems(tmp_path, MINIMAL.replace(old, new, 1))


def test_sla_must_be_positive_minutes(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    name: Operations",
        "    name: Operations\n    sla_minutes: {first_response: 0, resolution: 60}",
    )
    assert problems(tmp_path, text) == [
        "12: departments[0].sla_minutes.first_response: Input should be greater than 0, got 0"
    ]


def test_three_errors_are_all_reported(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("    default_owner: ops", "    default_owner: pr")
        .replace("    role: admin", "    role: admin\n    phone: '0123'")
        .replace("  - {id: brand_voice, lead: [ops]}\n", "")
    )
    assert problems(tmp_path, text) == [
        "8: channels[0].default_owner: unknown department 'pr' (valid: ops)",
        "17: people[0].phone: unknown field (valid fields: name, email, department, role, "
        "capacity, working_hours, working_days, timezone, rights)",
        "18: ownership: missing required activity 'brand_voice' (add it with a lead)",
    ]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.problems == [f"{path}: file not found"]


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    assert problems(tmp_path, text) == ["1: the file is empty (expected a mapping with version: 1)"]


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert problems(tmp_path, "# policy\n- version\n- 1\n") == [
        "2: top level must be a mapping of sections (version, brand, channels, ...), found list"
    ]


@pytest.mark.parametrize("version", ["2", "'1'", "1.0"])
def test_only_version_1_is_read(tmp_path: Path, version: str) -> None:
    text = "# policy\n" + MINIMAL.replace("version: 1", f"version: {version}")
    (problem,) = problems(tmp_path, text)
    assert re.fullmatch(r"2: version: unsupported policy version .+ \(valid: 1\)", problem)


def test_missing_version(tmp_path: Path) -> None:
    assert problems(tmp_path, MINIMAL.replace("version: 1\n", "")) == [
        "1: version: missing required field"
    ]


def test_python_tags_are_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("  name: Tiny", "  name: !!python/object/apply:os.system ['true']")
    (problem,) = problems(tmp_path, text)
    assert problem.startswith("3: YAML error: could not determine a constructor for the tag")


def test_file_name_is_reported_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("policy.yaml").write_text(MINIMAL.replace("version: 1", "version: 3"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(Path("policy.yaml"))
    assert caught.value.problems == [
        "policy.yaml:1: version: unsupported policy version 3 (valid: 1)"
    ]


def test_parse_policy_uses_the_given_name() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy("version: 1\n", "<stdin>")
    assert caught.value.problems[0] == "<stdin>:1: brand: missing required field"


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_policy_fixtures_report_exactly_what_they_expect(fixture: Path) -> None:
    expected = [
        f"{fixture}:{line.removeprefix('# expect: ')}"
        for line in fixture.read_text(encoding="utf-8").splitlines()
        if line.startswith("# expect: ")
    ]
    assert expected
    with pytest.raises(PolicyError) as caught:
        load_policy(fixture)
    assert caught.value.problems == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [("[" * 5000, "nests too deeply"), ("version: " + "9" * 5000, "cannot be read")],
)
def test_text_beyond_the_yaml_reader_is_a_policy_error(text: str, why: str) -> None:
    with pytest.raises(PolicyError, match=why):
        parse_policy(text, "deep.yaml")
