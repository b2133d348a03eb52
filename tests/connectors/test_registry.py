"""Every registered connector has a doc page, tests and declared capabilities."""

from __future__ import annotations

from pathlib import Path

import pytest

from townhall.connectors.registry import CONNECTORS, describe

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_connector_has_doc_tests_and_capabilities(name: str):
    cls = CONNECTORS[name]
    assert cls.info.name == name
    assert cls.info.capabilities, f"{name} declares no capabilities"
    doc = ROOT / "src" / "townhall" / "connectors" / name / "doc.md"
    assert doc.is_file() and len(doc.read_text()) > 200, f"{name} has no doc.md"
    tests = list((ROOT / "tests" / "connectors" / name).glob("test_*.py"))
    assert tests, f"{name} has no tests under tests/connectors/{name}/"


def test_describe_lists_every_connector():
    assert {info.name for info in describe()} == set(CONNECTORS)
