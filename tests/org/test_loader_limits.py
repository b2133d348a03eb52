"""The policy loader is bounded: deep nesting, alias bombs and huge texts are a clear
``PolicyError`` naming the line, found fast, never a RecursionError or a hang; fuzzed texts and
structures give a ``PolicyError`` or a policy, nothing else."""

from __future__ import annotations

import functools
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from townhall.cli.policy import app as policy_app
from townhall.errors import PolicyError
from townhall.org.loader import MAX_DEPTH, MAX_NODES, MAX_POLICY_CHARS, load_policy, parse_policy
from townhall.org.source import PolicySource

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"

CPU_SECONDS = 0.5
"""Most CPU time one hostile policy may cost the loader (CPU time: a busy machine does not
make the test flaky, and a hang or a 10^7-node expansion costs far more)."""


def _problems(text: str) -> tuple[list[str], float]:
    start = time.process_time()
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.yaml")
    return caught.value.problems, time.process_time() - start


def _billion_laughs(levels: int = 7, width: int = 10) -> str:
    """Anchors and aliases standing for ``width ** levels`` scalars in a few hundred bytes."""
    lines = ["version: 1", "l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


DEEP = {
    "flow lists": "version: 1\nbrand: " + "[" * 5000 + "]" * 5000 + "\n",
    "flow mappings": "version: 1\nbrand: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    "block lists": "version: 1\nbrand:\n  - " + "- " * 5000 + "x\n",
}


@pytest.mark.parametrize("shape", list(DEEP))
def test_five_thousand_deep_is_a_policy_error_naming_the_line(shape: str) -> None:
    problems, cpu = _problems(DEEP[shape])
    assert len(problems) == 1
    # The nesting starts on line 2 or 3; the problem is where the limit was crossed.
    assert problems[0].startswith(("policy.yaml:2: ", "policy.yaml:3: ")), problems
    assert f"nests too deeply: more than {MAX_DEPTH} levels" in problems[0]
    assert cpu < CPU_SECONDS, f"{cpu:.2f} s of CPU"


def test_nesting_up_to_the_limit_is_read() -> None:
    # MAX_DEPTH levels in all, the top-level mapping included: a plain validation problem.
    text = "version: 1\nbrand: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    problems, _ = _problems(text)
    assert not any("nests" in p for p in problems), problems
    problems, _ = _problems("version: 1\nbrand: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n")
    assert any("nests" in p for p in problems), problems


def test_alias_bomb_is_refused_while_composing() -> None:
    text = _billion_laughs()  # 10^7 scalars once expanded
    assert len(text) < 1000
    problems, cpu = _problems(text)
    assert len(problems) == 1
    assert f"more than {MAX_NODES:,} values once its aliases" in problems[0]
    # l4 (line 6) alone stands for 111,111 nodes (its list, 10 of l3's 11,111): over 100,000.
    assert problems[0].startswith("policy.yaml:6: "), problems
    assert cpu < CPU_SECONDS, f"{cpu:.2f} s of CPU"


def test_merge_key_bomb_is_refused() -> None:
    lines = ["version: 1", "m0: &m0 {a: 1, b: 2}"]
    for i in range(1, 40):
        lines.append(f"m{i}: &m{i} {{<<: *m{i - 1}, x: [*m{i - 1}, *m{i - 1}]}}")
    problems, cpu = _problems("\n".join(lines) + "\n")
    assert "once its aliases" in problems[0] and cpu < CPU_SECONDS


def test_a_few_aliases_are_fine() -> None:
    # Aliases are legitimate YAML: a small expansion is read (and validated) as usual.
    problems, _ = _problems(_billion_laughs(levels=3, width=3))
    assert not any("aliases" in p for p in problems), problems
    assert any("l0: unknown field" in p for p in problems), problems


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    problems, _ = _problems("version: 1\nbrand: &me {name: ACME, again: *me}\n")
    assert problems == [
        "policy.yaml:2: the alias *me is inside its own anchor &me: a policy cannot contain itself"
    ]


def test_text_longer_than_the_limit_is_refused_unread() -> None:
    problems, cpu = _problems("#" * (MAX_POLICY_CHARS + 1))
    assert problems == [
        "policy.yaml: the policy is too long (more than 1,000,000 characters; "
        "ACME's is about 40,000)"
    ]
    assert cpu < CPU_SECONDS


def test_huge_file_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("# " + "x" * (3 * MAX_POLICY_CHARS) + "\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert "too long" in caught.value.problems[0]


def test_acme_is_well_inside_the_limits() -> None:
    start = time.process_time()
    parse_policy(ACME.read_text(encoding="utf-8"), str(ACME))
    assert time.process_time() - start < 2


runner = CliRunner()


@pytest.mark.parametrize("kind", ["deep", "bomb"])
def test_policy_check_prints_the_problem_and_exits_1(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(DEEP["flow lists"] if kind == "deep" else _billion_laughs())
    result = runner.invoke(policy_app, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:"), result.stderr
    assert ("nests too deeply" if kind == "deep" else "once its aliases") in first
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 3


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600])
def test_saving_the_policy_keeps_the_file_mode(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "policy.yaml"
    text = ACME.read_text(encoding="utf-8")
    path.write_text(text)
    path.chmod(mode)
    source = PolicySource(path)
    source.replace(text.replace("ACME", "ACME Ltd", 1))
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert "ACME Ltd" in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["policy.yaml"]  # no temporary file left


def test_a_refused_policy_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    text = ACME.read_text(encoding="utf-8")
    path.write_text(text)
    source = PolicySource(path)
    with pytest.raises(PolicyError):
        source.replace(_billion_laughs())
    assert path.read_text(encoding="utf-8") == text


# -- fuzz ---------------------------------------------------------------------------------
FUZZ = settings(
    max_examples=150,
    deadline=None,  # wall-clock deadlines are flaky on a loaded machine: CPU time is bounded below
    suppress_health_check=[HealthCheck.too_slow],
)

EXAMPLE_CPU_SECONDS = 2.0
"""Most CPU time one fuzzed policy may cost (ACME's whole policy takes about 0.1 s)."""

YAML_BITS = st.sampled_from(
    [
        "version: 1\n",
        "brand:",
        " name: ACME\n",
        "departments:\n",
        "  - id: pr\n",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ", ",
        ": ",
        "&a ",
        "*a",
        "&b ",
        "*b",
        "<<: *a\n",
        "!!binary ",
        "!!python/object:os.system ",
        "!!timestamp ",
        "2026-13-45",
        "0x",
        "1e9999",
        "9" * 5000,
        "? ",
        "|\n",
        ">-\n",
        "'",
        '"',
        "\\u0000",
        "\t",
        "\n",
        "  ",
        "#",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "~",
        "null",
        ".inf",
        "\ufeff",
        "\x85",
        "\u2028",
        "é",
        "😀",
        "\x00",
    ]
)


@pytest.fixture(scope="module", autouse=True)
def _warm_up() -> None:
    """Parse once before timing anything: the first validation builds pydantic's validators."""
    parse_policy(ACME.read_text(encoding="utf-8"), str(ACME))


def _parse_or_policy_error(text: str) -> None:
    start = time.process_time()
    try:
        parse_policy(text, "fuzz.yaml")
    except PolicyError as exc:
        assert exc.problems and all(p.startswith("fuzz.yaml") for p in exc.problems)
    cpu = time.process_time() - start
    assert cpu < EXAMPLE_CPU_SECONDS, f"{cpu:.2f} s of CPU for one policy"


@FUZZ
@given(st.lists(YAML_BITS, max_size=60).map("".join))
def test_fuzz_yaml_texts_give_only_policy_errors(text: str) -> None:
    _parse_or_policy_error(text)


@FUZZ
@given(st.text(max_size=400))
def test_fuzz_random_texts_give_only_policy_errors(text: str) -> None:
    _parse_or_policy_error(text)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["pr", "customer_service", "complaint", "mastodon", "09:00", "Mon"])
)
KEYS = st.sampled_from(
    [
        "version",
        "brand",
        "name",
        "departments",
        "people",
        "id",
        "department",
        "channels",
        "routing",
        "rules",
        "when",
        "then",
        "ownership",
        "crisis",
        "roles",
        "kind",
        "email",
    ]
) | st.text(max_size=8)
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)


@FUZZ
@given(st.dictionaries(KEYS, STRUCTURES, max_size=8))
def test_fuzz_random_structures_give_only_policy_errors(data: dict[str, Any]) -> None:
    _parse_or_policy_error(yaml.safe_dump(data, allow_unicode=True))


@functools.cache
def _acme_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACME.read_text(encoding="utf-8"))
    return data


@settings(FUZZ, max_examples=30)  # each example validates a whole company: ~0.3 s
@given(st.dictionaries(KEYS, STRUCTURES, max_size=4))
def test_fuzz_acme_with_a_random_section_gives_only_policy_errors(data: dict[str, Any]) -> None:
    text = yaml.dump({**_acme_data(), **data}, Dumper=yaml.CSafeDumper, allow_unicode=True)
    _parse_or_policy_error(text)
