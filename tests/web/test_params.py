"""Bad parameter values are a 422 naming the field (or a 404 for a well-formed unknown id),
never a 500: the cases of issue 11, item 5."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from townhall.db import session_factory, transaction
from townhall.models import Role
from townhall.org.accounts import upsert_user
from townhall.web.params import MAX_ID, as_id

TOO_BIG = str(2**63)  # no BIGINT holds it (the case)
BIGGEST = str(MAX_ID)  # well-formed, and no row has it
PASSWORD = "correct horse battery"  # the fixtures' (tests/web/conftest.py)


def _post(client: httpx.Client, site: Any, path: str, **data: str) -> httpx.Response:
    token = site.csrf_of(client.get("/inbox").text)
    return client.post(path, data={**data, "csrf_token": token})


def _refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text[:500]
    assert "Please check your input" in response.text
    assert f"{field}:" in response.text, response.text[:2000]
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "value",
    ["7", "0007", "1"],
)
def test_an_id_is_ascii_digits_within_a_bigint(value: str) -> None:
    assert as_id(value) == int(value)


@pytest.mark.parametrize(
    "value",
    ["²", "١٢", "𝟙", "1_0", "+1", " 1", "1.0", "-1", "0", "", TOO_BIG, "9" * 5000, "0x10"],
)
def test_anything_else_is_not_an_id(value: str) -> None:
    assert as_id(value) is None
    assert as_id(str(MAX_ID + 1)) is None


def test_inbox_owner_must_be_an_id_me_none_or_empty(site: Any, logged_in: httpx.Client) -> None:
    for value in ("²", TOO_BIG, "-3", "x", "0"):
        response = logged_in.get("/inbox", params={"owner": value})
        _refused(response, "owner")
        assert "must be a person&#39;s id" in response.text
    for value in ("", "me", "none", "2"):
        assert logged_in.get("/inbox", params={"owner": value}).status_code == 200


def test_a_well_formed_unknown_owner_is_an_empty_queue(site: Any, logged_in: httpx.Client) -> None:
    response = logged_in.get("/inbox", params={"owner": BIGGEST})
    assert response.status_code == 200 and f"user #{BIGGEST}" in response.text


def test_inbox_enums_name_the_field(site: Any, logged_in: httpx.Client) -> None:
    for field in ("status", "intent", "sentiment", "sla", "department", "channel"):
        _refused(logged_in.get("/inbox", params={field: "Nope!"}), field)
    api = logged_in.get("/inbox", params={"status": "gone"}, headers={"Accept": "application/json"})
    assert api.status_code == 422 and api.json()["detail"].startswith("status: must be one of")
    htmx = logged_in.get("/inbox", params={"sla": "late"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and "sla: must be one of" in htmx.text
    assert "<html" not in htmx.text  # the alert alone, for htmx to swap in


def test_load_more_before_is_an_id(site: Any, logged_in: httpx.Client) -> None:
    for value in (TOO_BIG, "²", "0", "-1", "1.0"):
        _refused(logged_in.get("/inbox/rows", params={"before": value}), "before")
    assert logged_in.get("/inbox/rows", params={"before": BIGGEST}).status_code == 200


def test_assignee_must_be_an_id_me_or_empty(site: Any, logged_in: httpx.Client) -> None:
    site.feed(site.post("Kettle leaks"))
    for value in ("²", TOO_BIG, "someone"):
        _refused(_post(logged_in, site, "/items/1/assign", assignee=value), "assignee")
    assert _post(logged_in, site, "/items/1/assign", assignee=BIGGEST).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "field", "data"),
    [
        ("GET", "/items/{id}", "item_id", {}),
        ("POST", "/items/{id}/assign", "item_id", {"assignee": "me"}),
        ("POST", "/items/{id}/status", "item_id", {"status": "done"}),
        ("POST", "/items/{id}/notes", "item_id", {"text": "Called back"}),
        ("POST", "/items/{id}/replies", "item_id", {"text": "Sorry!"}),
        ("POST", "/items/{id}/crisis", "item_id", {}),
        ("GET", "/crises/{id}", "room_id", {}),
        ("POST", "/crises/{id}/status", "room_id", {"status": "active"}),
        ("POST", "/crises/{id}/statement", "room_id", {"text": "We are looking into it."}),
        ("POST", "/replies/{id}/decide", "reply_id", {"decision": "reject"}),
    ],
)
def test_path_ids_beyond_a_bigint_are_refused_and_unknown_ones_not_found(
    site: Any, logged_in: httpx.Client, method: str, path: str, field: str, data: dict[str, str]
) -> None:
    for value in (TOO_BIG, "²"):
        url = path.format(id=value)
        if method == "GET":
            _refused(logged_in.get(url), field)
        else:
            _refused(_post(logged_in, site, url, **data), field)
    url = path.format(id=BIGGEST)
    response = logged_in.get(url) if method == "GET" else _post(logged_in, site, url, **data)
    assert response.status_code == 404, response.text[:500]


def test_a_crisis_answer_entry_beyond_a_bigint_is_refused(
    site: Any, logged_in: httpx.Client
) -> None:
    response = _post(logged_in, site, f"/crises/1/answers/{TOO_BIG}", answer="yes")
    _refused(response, "entry_id")
    response = _post(logged_in, site, "/crises/1/status", status="resolved", outcome="happy")
    _refused(response, "outcome")


def test_out_of_office_until_is_a_sane_date(site: Any, logged_in: httpx.Client) -> None:
    for until in (
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59",  # local (London): fine alone, but not after a zone conversion
        "0001-01-01T00:00",
        "2026-02-30T09:00",
        "²⁰²⁶-11-23T09:00",
    ):
        _refused(_post(logged_in, site, "/teams/away", until=until), "until")


def test_out_of_office_at_most_two_years_ahead(site: Any, logged_in: httpx.Client) -> None:
    _refused(_post(logged_in, site, "/teams/away", until="2030-01-01T09:00"), "until")
    assert _post(logged_in, site, "/teams/away", until="2027-01-04T09:00Z").status_code == 303


def _first_events(client: httpx.Client, last_event_id: str) -> list[str]:
    """The stream's event names up to its first count (it sends one on its first poll)."""
    headers = {"Last-Event-ID": last_event_id.encode()}
    events: list[str] = []
    with client.stream("GET", "/inbox/stream", params={"after": 1}, headers=headers) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event:"):
                events.append(line.removeprefix("event:").strip())
                if events[-1] == "count":
                    break
    return events


def test_a_bad_last_event_id_is_ignored_and_the_stream_lives(
    site: Any, logged_in: httpx.Client
) -> None:
    site.feed(site.post("Kettle leaks"), site.post("Kettle still leaks"))
    for last_event_id in ("9" * 5000, TOO_BIG, "²", "-5", "abc", "1 2"):
        # Treated as absent: the stream goes on from ``after`` (item 2 is new to it).
        assert _first_events(logged_in, last_event_id) == ["item", "count"]
    assert _first_events(logged_in, "2") == ["count"]  # a good one still counts


def test_stream_after_beyond_a_bigint_is_refused(site: Any, logged_in: httpx.Client) -> None:
    _refused(logged_in.get("/inbox/stream", params={"after": TOO_BIG}), "after")


def test_nul_characters_are_refused_by_name(site: Any, logged_in: httpx.Client) -> None:
    _refused(logged_in.get("/inbox", params={"q": "kettle\x00"}), "q")
    site.feed(site.post("Kettle leaks"))
    _refused(_post(logged_in, site, "/items/1/notes", text="a\x00b"), "text")


def test_an_unknown_page_is_the_error_page(site: Any, logged_in: httpx.Client) -> None:
    response = logged_in.get("/nowhere")
    assert response.status_code == 404 and "Not found" in response.text
    wrong = logged_in.delete("/inbox")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"


def test_policy_text_beyond_the_yaml_reader_is_refused_and_secrets_need_a_key(
    site: Any, client: httpx.Client
) -> None:
    with transaction(session_factory(site.engine)) as session:
        upsert_user(
            session,
            email="ada.admin@acme.example",
            name="Ada Admin",
            department="pr",
            role=Role.ADMIN,
            password=PASSWORD,
            now=datetime.now(UTC),
        )
    assert site.login(client, "ada.admin@acme.example").status_code == 303
    for text, why in (("[" * 3000, "nests too deeply"), ("9" * 5000, "cannot be read")):
        response = _post(client, site, "/admin/policy", text=text)
        assert response.status_code == 422 and why in response.text
    _refused(_post(client, site, "/channels/mastodon/connect", secret="   "), "secret")
    response = _post(client, site, "/channels/mastodon/connect", secret="token-123")
    assert response.status_code == 503 and "TOWNHALL_SECRETS_KEY is not set" in response.text


def test_an_unexpected_error_is_a_plain_500_page(
    site: Any, logged_in: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("townhall.cases.repository.logins", broken)
    response = logged_in.get("/teams")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


def test_max_id_fits_every_id_column() -> None:
    """``MAX_ID`` is what the narrowest integer id column holds on PostgreSQL."""
    from sqlalchemy import BigInteger, Integer

    from townhall.models import Base

    widths = {
        2**63 - 1 if isinstance(column.type, BigInteger) else 2**31 - 1
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, Integer) and (column.primary_key or column.foreign_keys)
    }
    assert widths and min(widths) == MAX_ID
