"""compose.yaml (repo root) is valid YAML with the services docs/scaling.md names, and every
Townhall service is configured by the database and broker URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TOWNHALL_SERVICES = ("web", "worker", "listener")


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_has_the_services_the_doc_names() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", *TOWNHALL_SERVICES} <= set(services)
    doc = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    for name in ("postgres", "redis", *TOWNHALL_SERVICES):
        assert f"`{name}`" in doc, f"docs/scaling.md does not name the service {name}"


def test_each_townhall_service_sets_the_database_and_broker_urls() -> None:
    services = _compose()["services"]
    for name in TOWNHALL_SERVICES:
        env = services[name]["environment"]
        assert env["TOWNHALL_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        assert env["TOWNHALL_BROKER_URL"].startswith("redis://"), name
        assert services[name]["command"][0] == "townhall", name


def test_the_image_compose_builds_has_a_dockerfile_whose_sources_exist() -> None:
    """What can be checked without Docker (CI has none): the Dockerfile compose.yaml builds
    copies only paths the repository has, and trains the model it needs."""
    build = {s.get("build") for s in _compose()["services"].values() if "build" in s}
    assert build == {"."}
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert copied and all((ROOT / path).exists() for path in copied), copied
    assert "townhall model train" in dockerfile
