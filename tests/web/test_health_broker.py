"""/readyz checks the broker when one is configured: "ok" when it answers PING, 503 when it
does not, and "none (one process)" without a broker URL."""

from __future__ import annotations

import os
import secrets
import socket
from typing import Any

import httpx
import pytest


def _operator(site: Any, **settings: Any) -> dict[str, str]:
    token = secrets.token_urlsafe(32)
    web = site.app.state.web
    web.settings = web.settings.model_copy(update={"operator_token": token, **settings})
    return {"Authorization": f"Bearer {token}"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_a_broker_readiness_says_one_process(site: Any, client: httpx.Client) -> None:
    operator = _operator(site, broker_url=None)
    response = client.get("/readyz", headers=operator)
    assert response.status_code == 200
    assert response.json()["broker"] == "none (one process)"


def test_a_broker_that_does_not_answer_makes_readiness_fail(
    site: Any, client: httpx.Client
) -> None:
    operator = _operator(site, broker_url=f"redis://127.0.0.1:{_closed_port()}/0")
    response = client.get("/readyz", headers=operator)
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == "does not answer (see the server log)"
    assert body["database"] == "ok"


@pytest.mark.skipif(
    not os.environ.get("TOWNHALL_TEST_REDIS_URL"), reason="TOWNHALL_TEST_REDIS_URL not set"
)
def test_a_broker_that_answers_is_ok(site: Any, client: httpx.Client) -> None:
    operator = _operator(site, broker_url=os.environ["TOWNHALL_TEST_REDIS_URL"])
    response = client.get("/readyz", headers=operator)
    assert (response.status_code, response.json()["broker"]) == (200, "ok")
