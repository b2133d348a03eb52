"""The stand-in speaks Mastodon's wire format: auth, rate-limit headers, Link, errors, SSE."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from townhall.connectors.mastodon.standin import MastodonStandin
from townhall.connectors.standin import LocalServer

from .conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_rate_limit_headers_on_every_api_response(standin: MastodonStandin, server: LocalServer):
    response = httpx.get(f"{server.url}/api/v1/accounts/verify_credentials", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == "300"
    assert response.headers["X-RateLimit-Remaining"] == "299"
    reset = datetime.fromisoformat(response.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
    assert reset > datetime.now(UTC)
    me = response.json()
    assert (me["acct"], me["username"], me["source"]["privacy"]) == ("acme", "acme", "public")


def test_bad_token_and_forced_429_bodies(standin: MastodonStandin, server: LocalServer):
    refused = httpx.get(f"{server.url}/api/v1/notifications", headers={"Authorization": "Bearer x"})
    assert (refused.status_code, refused.json()) == (401, {"error": "The access token is invalid"})
    standin.force_rate_limit(2)
    for _ in range(2):
        limited = httpx.get(f"{server.url}/api/v1/notifications", headers=AUTH)
        assert (limited.status_code, limited.json()) == (429, {"error": "Too many requests"})
        assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert httpx.get(f"{server.url}/api/v1/notifications", headers=AUTH).status_code == 200


def test_notifications_page_with_link_header(standin: MastodonStandin, server: LocalServer):
    for n in range(5):
        standin.add_mention("@bob@example.social", f"m{n}")
    page = httpx.get(
        f"{server.url}/api/v1/notifications",
        params={"types[]": "mention", "limit": 2, "min_id": "1"},
        headers=AUTH,
    )
    assert [n["id"] for n in page.json()] == ["3", "2"]
    links = dict(
        (rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', page.headers["Link"])
    )
    assert "max_id=2" in links["next"] and "min_id=3" in links["prev"]
    assert "types%5B%5D=mention" in links["prev"]
    newest = httpx.get(f"{server.url}/api/v1/notifications", params={"limit": 2}, headers=AUTH)
    assert [n["id"] for n in newest.json()] == ["5", "4"]
    note = newest.json()[0]
    assert note["type"] == "mention" and note["account"]["acct"] == "bob@example.social"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", note["created_at"])
    status = note["status"]
    assert status["content"].startswith('<p><span class="h-card" translate="no"><a href=')
    assert status["uri"].startswith("https://example.social/users/bob/statuses/")


def test_create_status_validation_and_idempotency(standin: MastodonStandin, server: LocalServer):
    url = f"{server.url}/api/v1/statuses"
    blank = httpx.post(url, data={"status": " "}, headers=AUTH)
    assert (blank.status_code, blank.json()) == (
        422,
        {"error": "Validation failed: Text can't be blank"},
    )
    key = {**AUTH, "Idempotency-Key": "abc"}
    first = httpx.post(
        url, json={"status": "hello #AirFry5", "visibility": "unlisted"}, headers=key
    )
    again = httpx.post(url, data={"status": "hello #AirFry5"}, headers=key)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["visibility"] == "unlisted"
    assert first.json()["tags"] == [
        {"name": "airfry5", "url": "https://mastodon.example/tags/airfry5"}
    ]
    missing = httpx.post(url, data={"status": "x", "in_reply_to_id": "999"}, headers=AUTH)
    assert missing.status_code == 404
    got = httpx.get(f"{url}/{first.json()['id']}", headers=AUTH)
    assert got.json()["content"] == first.json()["content"]


def test_instance_names_the_streaming_url(server: LocalServer):
    v1 = httpx.get(f"{server.url}/api/v1/instance").json()
    v2 = httpx.get(f"{server.url}/api/v2/instance").json()
    netloc = server.url.removeprefix("http://")
    assert v1["urls"]["streaming_api"] == v2["configuration"]["urls"]["streaming"]
    assert v2["configuration"]["urls"]["streaming"] == f"ws://{netloc}"
    assert httpx.get(f"{server.url}/api/v1/streaming/health").text == "OK"


def test_user_stream_sends_events_as_sse(standin: MastodonStandin, server: LocalServer):
    from .conftest import Background

    lines: list[str] = []

    def read() -> None:
        with httpx.stream("GET", f"{server.url}/api/v1/streaming/user", headers=AUTH) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                lines.append(line)

    reader = Background(read)
    assert standin.wait_for_streams(1)
    standin.add_mention("@bob@example.social", "streamed")
    standin.drop_streams()
    reader.join()
    assert lines[0] == ":)"
    assert "event: notification" in lines
    data = next(line for line in lines if line.startswith("data: "))
    assert '"type": "mention"' in data
    refused = httpx.get(f"{server.url}/api/v1/streaming/user")
    assert refused.status_code == 401


def test_the_page_says_it_is_a_stand_in_and_escapes(standin: MastodonStandin, server: LocalServer):
    standin.add_mention("@bob@example.social", "<script>alert(1)</script> hi")
    page = httpx.get(f"{server.url}/").text
    assert "local stand-in for a Mastodon server" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_reply_and_hashtag_controls(standin: MastodonStandin, server: LocalServer):
    mine = standin.add_status("@acme@mastodon.example", "Launch day")
    reply = standin.add_reply("@bob@example.social", "congrats", to=mine["id"])
    tagged = standin.add_hashtag_post("carol", "Dinner tonight", "AirFry5")
    assert reply["in_reply_to_id"] == mine["id"]
    assert reply["in_reply_to_account_id"] == standin.me["id"]
    timeline = httpx.get(f"{server.url}/api/v1/timelines/tag/airfry5", headers=AUTH).json()
    assert [s["id"] for s in timeline] == [tagged["id"]]


def test_with_a_web_url_published_statuses_link_to_a_page_of_the_stand_in():
    from townhall.connectors.standin import free_port

    port = free_port()
    standin = MastodonStandin(token=TOKEN, web_url=f"http://127.0.0.1:{port}")
    with LocalServer(standin.app, port=port) as server:
        created = httpx.post(
            f"{server.url}/api/v1/statuses",
            headers={"Authorization": f"Bearer {TOKEN}"},
            data={"status": "Hello <script>x</script>"},
        ).json()
        assert created["url"] == f"{server.url}/@acme/{created['id']}"
        page = httpx.get(created["url"])
        missing = httpx.get(f"{server.url}/@acme/999")
    assert page.status_code == 200 and "Local stand-in for a Mastodon server" in page.text
    assert "Hello &lt;script&gt;x&lt;/script&gt;" in page.text and "<script>x" not in page.text
    assert missing.status_code == 404
