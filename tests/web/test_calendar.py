"""The Calendar page over httpx: week, month and list show exactly the same entries for the
same period and filters (across a daylight-saving week and for a viewer in another zone),
filters, colours with readable text, escaping, and how a move is refused."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import yaml

from townhall.db import session_factory, transaction
from townhall.models import (
    Campaign,
    OutboxKind,
    OutboxPost,
    OutboxStatus,
    PlannedEntry,
    PlannedKind,
    Takeover,
    User,
)
from townhall.org.accounts import upsert_user
from townhall.web.calendar import PALETTE, colours_css, contrast, ink_for
from web.conftest import PASSWORD, Site
from web.test_wording import machine_words, visible_text

MAYA = "maya.patel@acme.example"
HOSTILE = '<script>alert("cal")</script><img src=x onerror=alert(1)> launch'
_KEY = re.compile(r'data-key="([^"]+)"')
_DAY_OF = re.compile(r'data-day="(\d{4}-\d{2}-\d{2})"')


def keys(html: str) -> list[str]:
    """Every entry key a page draws, in page order."""
    return _KEY.findall(html)


def keys_by_day(html: str) -> dict[str, set[str]]:
    """The entry keys under each day of a page (``data-day`` sections)."""
    found: dict[str, set[str]] = {}
    parts = _DAY_OF.split(html)
    for day, chunk in zip(parts[1::2], parts[2::2], strict=True):
        found.setdefault(day, set()).update(keys(chunk))
    return found


def _user(session, email: str) -> User:
    from sqlalchemy import select

    user = session.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def add_post(
    site: Site,
    text: str,
    at: datetime,
    *,
    department: str = "customer_service",
    channel: str = "mastodon",
    status: OutboxStatus = OutboxStatus.SCHEDULED,
    author: str = "sofia.rossi@acme.example",
    **fields: object,
) -> int:
    """A post of our own stored as the outbox holds it; returns its id."""
    now = site.clock()
    with transaction(session_factory(site.engine)) as session:
        post = OutboxPost(
            channel=channel,
            kind=OutboxKind.POST,
            text=text,
            department=department,
            status=status,
            key=uuid.uuid4().hex,
            scheduled_at=at,
            published_at=at if status == OutboxStatus.PUBLISHED else None,
            author_id=_user(session, author).id,
            attempts=0,
            error="",
            decision_note="",
            paid=False,
            statement=False,
            findings=[],
            revision=1,
            step=0,
            created_at=now,
            updated_at=now,
            **fields,
        )
        session.add(post)
        session.flush()
        return post.id


@pytest.fixture
def maya(site: Site) -> Site:
    """Maya Patel (marketing, leads the social calendar) can log in too."""
    with transaction(session_factory(site.engine)) as session:
        upsert_user(session, email=MAYA, name="Maya Patel", department="marketing",
                    role="social_lead", password=PASSWORD, now=site.clock())  # fmt: skip
    return site


@pytest.fixture
def week(maya: Site) -> dict[str, object]:
    """A week of plans, Mon 7 – Sun 13 Dec 2026 (London is on UTC then): posts of customer
    service and marketing on three channels, one early and one late, a campaign, a newsletter,
    a takeover shift, and posts just outside the week."""
    site = maya
    with transaction(session_factory(site.engine)) as session:
        maya_id = _user(session, MAYA).id
        campaign = Campaign(
            slug="airfry-5", name="AirFry 5 launch", department="marketing", channels=[],
            starts_at=datetime(2026, 12, 1, tzinfo=UTC), ends_at=datetime(2026, 12, 31, tzinfo=UTC),
            created_by_id=maya_id, created_at=site.clock(), category="promotional",
        )  # fmt: skip
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
        session.add(
            PlannedEntry(kind=PlannedKind.EMAIL, title="December newsletter", department="email",
                         category="newsletter", starts_at=datetime(2026, 12, 9, 8, 0, tzinfo=UTC),
                         created_by_id=maya_id, created_at=site.clock())
        )  # fmt: skip
        session.add(
            Takeover(user_id=maya_id, channel="bluesky", origin="ui", created_at=site.clock(),
                     starts_at=datetime(2026, 12, 11, 12, 0, tzinfo=UTC),
                     ends_at=datetime(2026, 12, 11, 14, 0, tzinfo=UTC))
        )  # fmt: skip
    ids = {
        "kettle": add_post(site, "Kettle tips", datetime(2026, 12, 7, 10, 0, tzinfo=UTC)),
        "early": add_post(site, "Early bird", datetime(2026, 12, 8, 5, 30, tzinfo=UTC)),
        "late": add_post(
            site, "Night owl", datetime(2026, 12, 10, 22, 45, tzinfo=UTC), channel="bluesky"
        ),
        "launch": add_post(
            site,
            "AirFry 5 is here",
            datetime(2026, 12, 9, 10, 0, tzinfo=UTC),
            department="marketing",
            channel="forum",
            author=MAYA,
            campaign_id=campaign_id,
            category="promotional",
            status=OutboxStatus.DRAFT,
            chain="department",
        ),
        "published": add_post(
            site,
            "Sunday recipe",
            datetime(2026, 12, 13, 23, 30, tzinfo=UTC),
            department="marketing",
            channel="forum",
            author=MAYA,
            status=OutboxStatus.PUBLISHED,
        ),
        "before": add_post(site, "Last week", datetime(2026, 12, 6, 23, 59, tzinfo=UTC)),
        "after": add_post(site, "Next week", datetime(2026, 12, 14, 0, 0, tzinfo=UTC)),
    }
    return {"ids": ids, "campaign": campaign_id, "engine": site.engine}


def _page(client: httpx.Client, query: str) -> str:
    answer = client.get(f"/calendar?{query}")
    assert answer.status_code == 200, answer.text
    return answer.text


def test_week_month_and_list_show_the_same_entries(week, logged_in) -> None:
    ids = week["ids"]
    week_page = _page(logged_in, "view=week&date=2026-12-09")
    expected = {f"post-{ids[n]}" for n in ("kettle", "early", "late", "launch", "published")}
    expected |= {"planned-1", "takeover-1"}
    assert sorted(keys(week_page)) == sorted(expected)  # each once, nothing from outside
    listed = _page(logged_in, "view=list&date=2026-12-09")
    assert sorted(keys(listed)) == sorted(expected)
    month = _page(logged_in, "view=month&date=2026-12-09")
    month_days = keys_by_day(month)
    in_week = set().union(*(month_days.get(f"2026-12-{d:02d}", set()) for d in range(7, 14)))
    assert in_week == expected
    for day, found in keys_by_day(week_page).items():
        assert found == month_days.get(day, set()), day
    month_list = _page(logged_in, "view=list&span=month&date=2026-12-09")
    assert sorted(keys(month_list)) == sorted(keys(month))
    assert {f"post-{ids['before']}", f"post-{ids['after']}"} <= set(keys(month))


def test_the_week_shows_times_bands_badges_and_slots(week, logged_in) -> None:
    ids = week["ids"]
    page = _page(logged_in, "view=week&date=2026-12-09")
    assert "Europe/London" in page
    day = keys_by_day(page)
    assert f"post-{ids['early']}" in day["2026-12-08"]
    earlier = page.split('data-day="2026-12-08"')[1].split('class="band later"')[0]
    band = earlier.split('class="band earlier"')[1].split('<div class="slot')[0]
    assert f"post-{ids['early']}" in band and "05:30" in band
    later = page.split('data-day="2026-12-10"')[1].split('class="band later"')[1]
    assert f"post-{ids['late']}" in later.split("</section>")[0]
    newsletter = page.split('id="entry-planned-1"')[1].split("</article>")[0]
    assert "E-mail send" in newsletter and 'draggable="true"' not in newsletter
    assert "Move…" not in newsletter
    shift = page.split('id="entry-takeover-1"')[1].split("</article>")[0]
    assert "Takeover" in shift and "Move…" not in shift
    # Sofia may move her department's scheduled post, not marketing's draft.
    kettle = re.search(rf'<article[^>]*id="entry-post-{ids["kettle"]}"[^>]*>', page)
    assert kettle is not None and 'draggable="true"' in kettle.group(0)
    launch = page.split(f'id="entry-post-{ids["launch"]}"')[1].split("</article>")[0]
    assert "Move…" not in launch and "waiting for approval" in launch
    assert "/compose?at=2026-12-09T10:00" in page
    assert machine_words(page) == []
    assert "customer_service" not in visible_text(page) and "Customer service" in page
    assert 'href="/planned/new?at=2026-12-09T09:00"' in page
    assert "Today" not in page.split('id="week"')[1]  # today (20 Nov) is not in this week
    current = _page(logged_in, "view=week")
    assert 'class="day today"' in current and 'data-day="2026-11-20"' in current


def test_the_list_says_who_approves_and_which_campaign(week, logged_in) -> None:
    ids = week["ids"]
    page = _page(logged_in, "view=list&date=2026-12-09")
    row = page.split(f'id="entry-post-{ids["launch"]}"')[1].split("</tr>")[0]
    assert "waiting for Marketing approvers" in row
    assert f'href="/campaigns/{week["campaign"]}">AirFry 5 launch' in row
    assert "Forum" in row and "Marketing" in row


def test_filters_and_colours(week, logged_in) -> None:
    ids = week["ids"]
    on_bluesky = keys(_page(logged_in, "view=week&date=2026-12-09&channel=bluesky"))
    assert sorted(on_bluesky) == sorted([f"post-{ids['late']}", "takeover-1"])
    both = keys(_page(logged_in, "view=list&date=2026-12-09&channel=bluesky&channel=forum"))
    assert set(both) == {f"post-{ids[n]}" for n in ("late", "launch", "published")} | {"takeover-1"}
    marketing = keys(_page(logged_in, "view=month&date=2026-12-09&department=marketing"))
    assert set(marketing) == {f"post-{ids['launch']}", f"post-{ids['published']}", "takeover-1"}
    campaign = _page(logged_in, f"view=week&date=2026-12-09&campaign={week['campaign']}")
    assert keys(campaign) == [f"post-{ids['launch']}"]
    drafts = keys(_page(logged_in, "view=week&date=2026-12-09&status=draft&status=planned"))
    assert set(drafts) == {f"post-{ids['launch']}", "planned-1"}
    slot = _page(logged_in, "view=week&date=2026-12-09&channel=forum")
    assert "/compose?at=2026-12-09T10:00&amp;channel=forum" in slot
    by_campaign = _page(logged_in, "view=week&date=2026-12-09&colour=campaign")
    legend = by_campaign.split('class="legend"')[1].split("</ul>")[0]
    assert "AirFry 5 launch" in legend and "No campaign" in legend
    by_category = _page(logged_in, "view=week&date=2026-12-09&colour=category")
    assert "cal-cat-promotional" in by_category and "cal-cat-newsletter" in by_category
    assert logged_in.get("/calendar?view=year").status_code == 422
    assert logged_in.get("/calendar?date=2026-13-01").status_code == 422
    assert logged_in.get("/calendar?campaign=x").status_code == 422


def test_colours_read_well(site: Site, logged_in) -> None:
    sheet = logged_in.get("/calendar/colours.css")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    assert sheet.text == colours_css(site.policy)
    found = re.findall(r"--cal-bg: (#[0-9a-f]{6}); --cal-ink: (#[0-9a-f]{6})", sheet.text)
    assert len(found) == len(PALETTE) + 1 + len(site.policy.planning.categories)
    for background, ink in found:
        assert contrast(background, ink) >= 4.5, background
    assert ink_for("#ffffff") != ink_for("#000000")
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)


def test_hostile_text_is_escaped(maya: Site, logged_in) -> None:
    post = add_post(maya, HOSTILE, datetime(2026, 12, 8, 12, 0, tzinfo=UTC))
    for view in ("week", "month", "list"):
        page = _page(logged_in, f"view={view}&date=2026-12-08")
        assert f"post-{post}" in keys(page)
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#34;cal&#34;)&lt;/script&gt;" in page


def _london_week(site: Site) -> dict[str, int]:
    """Posts around the week of 22–28 Mar 2027, when London's clocks go forward (Sun 28 Mar
    01:00 UTC)."""
    at = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
    return {
        "before": add_post(site, "Sunday before", at(2027, 3, 21, 23, 59)),
        "first": add_post(site, "Monday midnight", at(2027, 3, 22, 0, 0)),
        "friday": add_post(site, "Friday nine", at(2027, 3, 26, 9, 0)),
        "gmt": add_post(site, "Before the change", at(2027, 3, 28, 0, 30)),
        "bst": add_post(site, "Sunday 23:59 BST", at(2027, 3, 28, 22, 59)),
        "next": add_post(site, "Monday 00:30 BST", at(2027, 3, 28, 23, 30)),
        "monday": add_post(site, "Monday nine", at(2027, 3, 29, 8, 0)),
    }


def test_a_daylight_saving_week(site: Site, logged_in) -> None:
    ids = _london_week(site)
    inside = {f"post-{ids[n]}" for n in ("first", "friday", "gmt", "bst")}
    week_page = _page(logged_in, "view=week&date=2027-03-24")
    assert sorted(keys(week_page)) == sorted(inside)
    assert sorted(keys(_page(logged_in, "view=list&date=2027-03-24"))) == sorted(inside)
    month = keys_by_day(_page(logged_in, "view=month&date=2027-03-24"))
    assert set().union(*(month.get(f"2027-03-{d}", set()) for d in range(22, 29))) == inside
    assert month["2027-03-29"] == {f"post-{ids['next']}", f"post-{ids['monday']}"}
    assert month["2027-03-21"] == {f"post-{ids['before']}"}
    # 09:00 on both sides of the change, though one is 09:00 UTC and the other 08:00 UTC.
    friday = week_page.split(f'id="entry-post-{ids["friday"]}"')[1].split("</a>")[0]
    assert ">09:00<" in friday
    next_week = _page(logged_in, "view=week&date=2027-03-29")
    monday = next_week.split(f'id="entry-post-{ids["monday"]}"')[1].split("</a>")[0]
    assert ">09:00<" in monday
    sunday = week_page.split(f'id="entry-post-{ids["bst"]}"')[1].split("</a>")[0]
    assert ">23:59<" in sunday


def test_a_viewer_in_another_zone(site: Site, logged_in) -> None:
    data = yaml.safe_load(site.source.text)
    for person in data["people"]:
        if person["email"] == "sofia.rossi@acme.example":
            person["timezone"] = "America/New_York"
    site.source.replace(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    ids = _london_week(site)
    # New York is on EDT (UTC-4) from 14 Mar 2027: the week starts Mon 22 Mar 04:00 UTC.
    hers = {f"post-{ids[n]}" for n in ("friday", "gmt", "bst", "next")}
    page = _page(logged_in, "view=week&date=2027-03-24")
    assert "America/New_York" in page.split('id="zone-name"')[1][:40]
    assert sorted(keys(page)) == sorted(hers)
    assert sorted(keys(_page(logged_in, "view=list&date=2027-03-24"))) == sorted(hers)
    month = keys_by_day(_page(logged_in, "view=month&date=2027-03-24"))
    assert set().union(*(month.get(f"2027-03-{d}", set()) for d in range(22, 29))) == hers
    friday = page.split(f'id="entry-post-{ids["friday"]}"')[1].split("</a>")[0]
    assert ">05:00<" in friday
    # The company's zone on request.
    company = _page(logged_in, "view=week&date=2027-03-24&zone=company")
    assert "Europe/London" in company.split('id="zone-name"')[1][:40]
    assert set(keys(company)) == {f"post-{ids[n]}" for n in ("first", "friday", "gmt", "bst")}
    assert "zone=company" in company.split('rel="next"')[0].rsplit("href=", 1)[1]


def _token(client: httpx.Client) -> str:
    return Site.csrf_of(client.get("/calendar").text)


def test_moving_is_refused_clearly(week, logged_in, client) -> None:
    token = _token(logged_in)
    form = {"csrf_token": token, "date": "2026-12-10", "back": "view=week&date=2026-12-09"}
    missing = logged_in.post("/calendar/move", data={**form, "outbox_id": "999"})
    assert missing.status_code == 404
    assert "There is no post #999 on the calendar." in missing.text
    assert 'id="week"' in missing.text  # the calendar comes back, with the reason
    bad_id = logged_in.post("/calendar/move", data={**form, "outbox_id": "x"})
    assert bad_id.status_code == 422 and "outbox_id" in bad_id.text
    bad_date = logged_in.post(
        "/calendar/move", data={**form, "outbox_id": str(week["ids"]["kettle"]), "date": "10/12"}
    )
    assert bad_date.status_code == 422 and "date" in bad_date.text
    bad_time = logged_in.post(
        "/calendar/move",
        data={**form, "outbox_id": str(week["ids"]["kettle"]), "time": "25:00"},
    )
    assert bad_time.status_code == 422 and "Not a time" in bad_time.text
    no_token = logged_in.post(
        "/calendar/move", data={"outbox_id": str(week["ids"]["kettle"]), "date": "2026-12-10"}
    )
    assert no_token.status_code == 403


def test_moving_someone_elses_post_is_403(week, logged_in) -> None:
    launch = week["ids"]["launch"]
    token = _token(logged_in)
    answer = logged_in.post(
        "/calendar/move",
        data={"csrf_token": token, "outbox_id": str(launch), "date": "2026-12-10",
              "back": "view=week&date=2026-12-09"},
    )  # fmt: skip
    assert answer.status_code == 403
    assert 'id="problem"' in answer.text
    with session_factory(week["engine"])() as session:
        post = session.get(OutboxPost, launch)
        assert post is not None and post.scheduled_at == datetime(2026, 12, 9, 10, 0, tzinfo=UTC)


def test_the_calendar_needs_a_login(client) -> None:
    answer = client.get("/calendar")
    assert answer.status_code in (302, 303, 401)
    assert client.get("/calendar/colours.css").status_code in (302, 303, 401)


def test_dates_of_the_period(site: Site) -> None:
    from townhall.web.calendar import ask_of, period

    ask = ask_of([("view", "month"), ("date", "2027-03-24")], date(2027, 1, 1))
    assert period(ask) == (date(2027, 3, 1), date(2027, 4, 4))
    ask = ask_of([("view", "list"), ("span", "day"), ("date", "2027-03-28")], date(2027, 1, 1))
    assert period(ask) == (date(2027, 3, 28), date(2027, 3, 28))
    ask = ask_of([], date(2026, 12, 2))
    assert period(ask) == (date(2026, 11, 30), date(2026, 12, 6))
    assert timedelta(days=6) == period(ask)[1] - period(ask)[0]


def test_a_blocking_cap_refuses_the_move_and_offers_the_next_free_slot(maya: Site, client) -> None:
    from sqlalchemy import select

    from townhall.publishing import drafts

    with transaction(session_factory(maya.engine)) as session:
        author = session.scalar(select(User).where(User.email == "dan.murphy@acme.example"))
        first = drafts.create_draft(
            session, maya.policy, channel="mastodon", text="AirFry 5: 20% off today",
            author=author, now=maya.clock(), at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
            category="promotional",
        )  # fmt: skip
        second = drafts.create_draft(
            session, maya.policy, channel="mastodon", text="KettleOne bundle deal",
            author=author, now=maya.clock(), at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
            category="promotional",
        )  # fmt: skip
        assert first.id and second.id
        moving = second.id
    assert maya.login(client, "dan.murphy@acme.example").status_code == 303
    token = _token(client)
    answer = client.post(
        "/calendar/move",
        data={"csrf_token": token, "outbox_id": str(moving), "date": "2026-11-25",
              "time": "11:00", "back": "view=week&date=2026-11-24"},
    )  # fmt: skip
    assert answer.status_code == 409
    problem = answer.text.split('id="problem"')[1].split("</div>")[0]
    assert "3 hours" in problem
    offer = re.search(r'name="date" value="([^"]+)">\s*<input type="hidden" name="time" '
                      r'value="([^"]+)">', problem)  # fmt: skip
    assert offer is not None
    with session_factory(maya.engine)() as session:
        post = session.get(OutboxPost, moving)
        assert post is not None
        assert post.scheduled_at == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    taken = client.post(
        "/calendar/move",
        data={"csrf_token": token, "outbox_id": str(moving), "date": offer[1], "time": offer[2],
              "back": "view=week&date=2026-11-24"},
    )  # fmt: skip
    assert taken.status_code == 200, taken.text
    assert "Moved to " in taken.text.split('id="notice"')[1].split("</div>")[0]
