"""Every registered connector has a doc page, tests and declared capabilities."""

from __future__ import annotations

from pathlib import Path

import pytest

from townhall.connectors.registry import CONNECTORS, NETWORKS, describe, network_class

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


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_network_connector_has_doc_tests_admin_page_and_capabilities(kind: str):
    cls = network_class(kind)
    assert cls.info.name == kind
    assert cls.info.capabilities, f"{kind} declares no capabilities"
    doc = ROOT / "src" / "townhall" / "connectors" / kind / "doc.md"
    assert doc.is_file() and len(doc.read_text()) > 200, f"{kind} has no doc.md"
    admin = ROOT / "docs" / "connectors" / f"{kind}.md"
    assert admin.is_file() and len(admin.read_text()) > 500, f"no docs/connectors/{kind}.md"
    assert list((ROOT / "tests" / "connectors" / kind).glob("test_*.py"))
    assert list((ROOT / "tests" / "connectors" / kind / "fixtures").iterdir())


def test_describe_lists_every_connector():
    assert {info.name for info in describe()} == set(CONNECTORS) | set(NETWORKS)
