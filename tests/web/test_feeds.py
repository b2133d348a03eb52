"""The feeds page and the feed address: the address is shown once; the feed takes no login,
parses, carries cache headers and an ETag (304 on a match); unknown and revoked tokens are
404; only its maker (or an admin) revokes it, with CSRF."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
from icalendar import Calendar
from sqlalchemy import select

from townhall.db import session_factory, transaction
from townhall.models import CalendarFeed, Campaign, PlannedEntry, PlannedKind, User
from web.conftest import PEOPLE, LiveServer, Site

FEED_URL = re.compile(r'<code class="mono" id="feed-url">([^<]+)</code>')
TITLE = 'Holiday hours; "late" <script>x</script>\nsecond line'


def _plan(site: Site) -> int:
    """A planned send of customer service, tomorrow, with a hostile title."""
    now = site.clock()
    with transaction(session_factory(site.engine)) as session:
        sofia = session.scalar(select(User).where(User.email == PEOPLE[0][0]))
        assert sofia is not None
        entry = PlannedEntry(
            kind=PlannedKind.EMAIL, title=TITLE, department="customer_service",
            starts_at=now + timedelta(days=1), created_by_id=sofia.id, created_at=now,
        )  # fmt: skip
        session.add(entry)
        session.flush()
        return entry.id


def _make(site: Site, client: httpx.Client, **form: str) -> httpx.Response:
    token = site.csrf_of(client.get("/calendar/feeds").text)
    return client.post("/calendar/feeds", data={**form, "csrf_token": token})


def _address(page: httpx.Response) -> str:
    match = FEED_URL.search(page.text)
    assert match, "no feed address on the page"
    return html.unescape(match.group(1))


def _feed_row(site: Site) -> CalendarFeed:
    with session_factory(site.engine)() as session:
        return session.scalars(select(CalendarFeed).order_by(CalendarFeed.id.desc())).first()


def test_a_feed_is_made_shown_once_and_read_without_login(
    site: Site, logged_in: httpx.Client, live_server: LiveServer
) -> None:
    planned = _plan(site)
    made = _make(site, logged_in, scope="department", department="customer_service")
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    address = _address(made)
    assert address.startswith(f"{live_server.url}/feeds/thc_") and address.endswith(".ics")
    token = address.rsplit("/", 1)[1].removesuffix(".ics")
    assert token not in logged_in.get("/calendar/feeds").text  # shown this once
    assert "Customer service plan" in logged_in.get("/calendar/feeds").text

    with httpx.Client(timeout=10) as stranger:  # no cookie: the token is the credential
        answer = stranger.get(address)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
        etag = answer.headers["etag"]
        cal = Calendar.from_ical(answer.content)
        assert str(cal["X-WR-CALNAME"]) == "ACME — Customer service plan"
        [event] = cal.walk("VEVENT")
        assert str(event["UID"]) == f"planned-{planned}@127.0.0.1"
        assert str(event["SUMMARY"]) == TITLE
        assert str(event["URL"]) == f"{live_server.url}/planned/{planned}"
        assert event.decoded("DTSTART") == site.clock() + timedelta(days=1)

        again = stranger.get(address, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        assert stranger.get(address, headers={"If-None-Match": '"other"'}).status_code == 200
    assert _feed_row(site).last_used_at == site.clock()


def test_calendar_apps_may_cache_a_feed_privately(site: Site, logged_in: httpx.Client) -> None:
    address = _address(_make(site, logged_in, scope="department", department="customer_service"))
    answer = httpx.get(address, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "private, max-age=300"


def test_unknown_tokens_are_404(site: Site, client: httpx.Client) -> None:
    for path in ("/feeds/thc_nothing-here.ics", "/feeds/nope.ics", "/feeds/" + "t" * 300 + ".ics"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "calendar" not in answer.headers.get("content-type", "")


def test_a_revoked_feed_is_404_and_only_its_maker_revokes_it(
    site: Site, logged_in: httpx.Client, live_server: LiveServer
) -> None:
    address = _address(_make(site, logged_in, scope="department", department="pr"))
    feed_id = _feed_row(site).id
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=10) as dan:
        assert site.login(dan, PEOPLE[1][0]).status_code == 303
        token = site.csrf_of(dan.get("/calendar/feeds").text)
        refused = dan.post(f"/calendar/feeds/{feed_id}/revoke", data={"csrf_token": token})
        assert refused.status_code == 403
        assert f"feed-{feed_id}" not in dan.get("/calendar/feeds").text  # not his feed
    assert httpx.get(address, timeout=10).status_code == 200

    assert logged_in.post(f"/calendar/feeds/{feed_id}/revoke", data={}).status_code == 403  # CSRF
    token = site.csrf_of(logged_in.get("/calendar/feeds").text)
    done = logged_in.post(f"/calendar/feeds/{feed_id}/revoke", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/calendar/feeds"
    page = logged_in.get("/calendar/feeds").text
    assert "The feed of the Public relations plan is revoked." in page
    assert f'action="/calendar/feeds/{feed_id}/revoke"' not in page
    gone = httpx.get(address, timeout=10)
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("text/plain")


def test_a_campaign_feed_and_bad_choices(site: Site, logged_in: httpx.Client) -> None:
    now = site.clock()
    with transaction(session_factory(site.engine)) as session:
        sofia = session.scalar(select(User).where(User.email == PEOPLE[0][0]))
        assert sofia is not None
        campaign = Campaign(
            slug="airfry-5", name="AirFry 5 <launch>", department="marketing",
            starts_at=now, ends_at=now + timedelta(days=30), created_by_id=sofia.id,
            created_at=now,
        )  # fmt: skip
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    page = logged_in.get("/calendar/feeds").text
    assert "AirFry 5 &lt;launch&gt;" in page and "<launch>" not in page
    made = _make(site, logged_in, scope="campaign", campaign=str(campaign_id))
    assert made.status_code == 200
    cal = Calendar.from_ical(httpx.get(_address(made), timeout=10).content)
    assert str(cal["X-WR-CALNAME"]) == "ACME — AirFry 5 <launch> campaign"

    unknown = _make(site, logged_in, scope="department", department="nowhere")
    assert unknown.status_code == 422 and "unknown department" in unknown.text
    assert _make(site, logged_in, scope="campaign", campaign="987").status_code == 422
    assert _make(site, logged_in, scope="everything").status_code == 422
