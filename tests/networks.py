"""Test helpers for live channels: the ACME policy with channels pointed at local stand-ins,
and the outbox's users."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACME_POLICY = ROOT / "examples" / "acme" / "policy.yaml"

TOKEN_ENV = "TOWNHALL_TEST_MASTODON_TOKEN"


def mastodon_channel(url: str, **fields: Any) -> dict[str, Any]:
    """The ACME policy's ``mastodon`` channel, live on the stand-in at ``url``."""
    return {
        "id": "mastodon",
        "kind": "mastodon",
        "account": "@acme@mastodon.example",
        "default_owner": "customer_service",
        "api_base_url": url,
        "token_env": TOKEN_ENV,
        "listen": {"mentions": True},
        **fields,
    }


def policy_with(tmp_path: Path, *channels: dict[str, Any], **sections: Any) -> Path:
    """A copy of the ACME policy in ``tmp_path`` whose channels of the same id are replaced
    (others added) by ``channels``; ``sections`` replace top-level sections."""
    data = yaml.safe_load(ACME_POLICY.read_text(encoding="utf-8"))
    by_id = {c["id"]: c for c in channels}
    data["channels"] = [by_id.pop(c["id"], c) for c in data["channels"]] + list(by_id.values())
    data.update(sections)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path
