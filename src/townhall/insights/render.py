"""Digests and agendas as people read them: the digest as plain text, HTML and an e-mail with
both; the agenda as Markdown.

Every text from a post, a card or a person is attacker controlled: the HTML goes through
Jinja's autoescape, the plain text is flattened to one printable line per value, and the
Markdown escapes its punctuation (no link, image or HTML can be smuggled in). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from jinja2 import Environment, select_autoescape

from townhall.insights.agenda import Agenda
from townhall.insights.digest import Digest
from townhall.insights.figures import ItemFigures, aware
from townhall.org.policy import Policy
from townhall.publishing import localtime
from townhall.publishing.calendar import Entry
from townhall.radar.render import one_line

SENTIMENT_WORDS = {
    "positive": "Positive",
    "neutral": "Neutral",
    "negative": "Negative",
    "unknown": "Not understood",
}
CLOCK_WORDS = {"first_response": "first response", "resolution": "resolution"}


# -- words for numbers ----------------------------------------------------------------------------
def duration(seconds: float | None) -> str:
    """``seconds`` in words a person reads at a glance: "45 s", "42 min", "3 h 5 min", "2 d 4 h"
    ("–" for none)."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def percent(share: float | None) -> str:
    """A share 0..1 as a whole percentage ("–" for none)."""
    return "–" if share is None else f"{round(share * 100)}%"


def sla_text(figures: ItemFigures) -> str:
    """First-response compliance with its counts: "83% (5 of 6)"."""
    if not figures.sla_due:
        return "–"
    return f"{percent(figures.sla_compliance)} ({figures.sla_met} of {figures.sla_due})"


def name_of(policy: Policy, department: str) -> str:
    """A department's name (its id when the policy does not know it)."""
    try:
        return policy.department(department).name
    except KeyError:
        return department


def when(moment: datetime, zone_name: str, fmt: str = "%a %d %b %H:%M") -> str:
    """``moment`` on the zone's wall clock."""
    return f"{localtime.local(aware(moment), localtime.zone(zone_name)):{fmt}}"


def week_span(digest: Digest) -> str:
    """ "Mon 16 Nov – Sun 22 Nov 2026" for the digest's week."""
    first = digest.week.monday
    sunday = first + timedelta(days=6)
    return f"{first:%a %d %b} – {sunday:%a %d %b %Y}"


def item_rows(digest: Digest) -> list[tuple[str, str, str]]:
    """(label, this week, last week) for the digest's item figures."""
    now, then = digest.items, digest.items_before
    return [
        (f"Routed to {digest.department_name}", str(now.new), str(then.new)),
        ("Done", str(now.done), str(then.done)),
        ("Open at the end of the week", str(now.open_at_end), str(then.open_at_end)),
        (
            "First reply (median)",
            duration(now.first_reply_median),
            duration(then.first_reply_median),
        ),
        ("First replies within the SLA", sla_text(now), sla_text(then)),
        ("SLA breaches", str(now.breaches), str(then.breaches)),
    ]


def sentiment_rows(now: Mapping[str, int], then: Mapping[str, int]) -> list[tuple[str, str, str]]:
    """(label, this week, last week) for the sentiment mix, in a fixed order."""
    labels = [k for k in SENTIMENT_WORDS if k in now or k in then]
    labels += sorted(k for k in {*now, *then} if k not in SENTIMENT_WORDS)
    return [(SENTIMENT_WORDS.get(k, k), str(now.get(k, 0)), str(then.get(k, 0))) for k in labels]


def crisis_rows(digest: Digest) -> list[tuple[str, str, str]]:
    """(label, this week, last week) for the crises that touched the department."""
    now, then = digest.crises, digest.crises_before
    return [
        ("Opened", str(now.opened), str(then.opened)),
        ("Resolved", str(now.resolved), str(then.resolved)),
        ("Open at the end of the week", str(now.open_at_end), str(then.open_at_end)),
    ]


def entry_line(policy: Policy, entry: Entry, zone_name: str) -> str:
    """One calendar entry: time, title and what it is (not escaped)."""
    what = entry.detail or entry.kind.replace("_", " ")
    where = f" on {entry.channel}" if entry.channel else ""
    return (
        f"{when(entry.starts_at, zone_name)}  {one_line(entry.title, 120)}"
        f" ({one_line(what, 80)}{where}, {name_of(policy, entry.department)})"
    )


def _context(policy: Policy, digest: Digest) -> dict[str, Any]:
    return {
        "row": _ROW,
        "d": digest,
        "span": week_span(digest),
        "items": item_rows(digest),
        "sentiment": sentiment_rows(digest.items.sentiment, digest.items_before.sentiment),
        "crises": crisis_rows(digest),
        "breaches": [
            {
                "item": b.item_id,
                "clock": CLOCK_WORDS.get(b.clock, b.clock),
                "late": duration(b.overrun),
                "met": b.met,
                "title": one_line(b.title, 120),
                "author": one_line(b.author, 120),
            }
            for b in digest.breaches
        ],
        "rooms": [
            {
                "id": r.id,
                "title": one_line(r.title, 200),
                "status": r.status,
                "lead": name_of(policy, r.lead_department),
                "risk": f"{r.risk:.2f}",
                "opened": when(r.opened_at, digest.zone),
            }
            for r in digest.crisis_rooms
        ],
        "coming_up": [entry_line(policy, e, digest.zone) for e in digest.coming_up],
        "cards": [
            {
                "title": one_line(c.title, 300),
                "body": one_line(c.body, 600),
                "from": name_of(policy, c.from_department),
                "figures": [(one_line(k, 100), one_line(v, 100)) for k, v in c.figures],
                "link": c.link,
            }
            for c in digest.cards
        ],
        "objectives": [
            {
                "kpi": one_line(f"{o.objective}: {o.kpi}", 300),
                "status": o.status,
                "why": one_line(o.why, 300),
            }
            for o in digest.objectives
        ],
    }


# -- the digest -----------------------------------------------------------------------------------
_ROW = "  %-34s %-14s %s"
_TEXT = """\
{{ d.subject }}
{{ span }} ({{ d.zone }})

{{ row|format("ITEMS", "this week", "last week") }}
{% for label, now, then in items %}
{{ row|format(label, now, then) }}
{% endfor %}
{{ "  %-34s %s"|format("Open now", d.open_now) }}

SENTIMENT OF ITS ITEMS' POSTS
{% for label, now, then in sentiment %}
{{ row|format(label, now, then) }}
{% else %}
  No items this week or last.
{% endfor %}

SLA BREACHES ({{ d.items.breaches }}){% if breaches %}, the worst:{% endif %}

{% for b in breaches %}
  #{{ b.item }} {{ b.clock }}, {{ b.late }} late{% if not b.met %} and counting{% endif %}: \
{{ b.title }} ({{ b.author }})
{% else %}
  None.
{% endfor %}

CRISES
{% for label, now, then in crises %}
{{ row|format(label, now, then) }}
{% endfor %}
{% for r in rooms %}
  - #{{ r.id }} {{ r.title }}: {{ r.status }}, led by {{ r.lead }}, risk {{ r.risk }}, \
opened {{ r.opened }}
{% endfor %}

COMING UP NEXT WEEK
{% for line in coming_up %}
  {{ line }}
{% else %}
  Nothing on the calendar.
{% endfor %}

CARDS SHARED WITH {{ d.department_name|upper }} \
({{ d.cards|length }}, last week {{ d.cards_before }})
{% for c in cards %}
  - {{ c.title }} (from {{ c.from }})
  {% if c.body %}
    {{ c.body }}
  {% endif %}
  {% for k, v in c.figures %}
    {{ k }}: {{ v }}
  {% endfor %}
  {% if c.link %}
    {{ c.link }}
  {% endif %}
{% else %}
  None this week.
{% endfor %}
{% if objectives %}

OBJECTIVES
{% for o in objectives %}
  - {{ o.kpi }}: {{ o.why }}
{% endfor %}
{% endif %}

-- Townhall
"""

_HTML = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ d.subject }}</title></head>
<body style="font-family: sans-serif; color: #1d2430">
<h1 style="font-size: 1.3em">{{ d.subject }}</h1>
<p>{{ span }} ({{ d.zone }})</p>
<h2 style="font-size: 1.1em">Items</h2>
<table cellpadding="4" style="border-collapse: collapse">
<tr><th align="left">Figure</th><th align="right">This week</th>\
<th align="right">Last week</th></tr>
{% for label, now, then in items %}<tr><td>{{ label }}</td><td align="right">{{ now }}</td>\
<td align="right">{{ then }}</td></tr>
{% endfor %}<tr><td>Open now</td><td align="right">{{ d.open_now }}</td><td></td></tr>
</table>
<h2 style="font-size: 1.1em">Sentiment of its items' posts</h2>
{% if sentiment %}<table cellpadding="4" style="border-collapse: collapse">
<tr><th align="left">Sentiment</th><th align="right">This week</th>\
<th align="right">Last week</th></tr>
{% for label, now, then in sentiment %}<tr><td>{{ label }}</td><td align="right">{{ now }}</td>\
<td align="right">{{ then }}</td></tr>
{% endfor %}</table>{% else %}<p>No items this week or last.</p>{% endif %}
<h2 style="font-size: 1.1em">SLA breaches ({{ d.items.breaches }})</h2>
{% if breaches %}<ul>
{% for b in breaches %}<li>#{{ b.item }} {{ b.clock }}, {{ b.late }} late\
{% if not b.met %} and counting{% endif %}: {{ b.title }} ({{ b.author }})</li>
{% endfor %}</ul>{% else %}<p>None.</p>{% endif %}
<h2 style="font-size: 1.1em">Crises</h2>
<table cellpadding="4" style="border-collapse: collapse">
<tr><th align="left">Rooms</th><th align="right">This week</th><th align="right">Last week</th></tr>
{% for label, now, then in crises %}<tr><td>{{ label }}</td><td align="right">{{ now }}</td>\
<td align="right">{{ then }}</td></tr>
{% endfor %}</table>
{% if rooms %}<ul>
{% for r in rooms %}<li>#{{ r.id }} {{ r.title }}: {{ r.status }}, led by {{ r.lead }}, \
risk {{ r.risk }}, opened {{ r.opened }}</li>
{% endfor %}</ul>{% endif %}
<h2 style="font-size: 1.1em">Coming up next week</h2>
{% if coming_up %}<ul>
{% for line in coming_up %}<li>{{ line }}</li>
{% endfor %}</ul>{% else %}<p>Nothing on the calendar.</p>{% endif %}
<h2 style="font-size: 1.1em">Cards shared with {{ d.department_name }} \
({{ d.cards|length }}, last week {{ d.cards_before }})</h2>
{% for c in cards %}<div style="border: 1px solid #ccd; padding: 8px; margin: 8px 0">
<b>{{ c.title }}</b> (from {{ c.from }})
{% if c.body %}<p>{{ c.body }}</p>{% endif %}
{% if c.figures %}<ul>{% for k, v in c.figures %}<li>{{ k }}: {{ v }}</li>{% endfor %}</ul>\
{% endif %}
{% if c.link %}<p>Data: {{ c.link }}</p>{% endif %}
</div>
{% else %}<p>None this week.</p>{% endfor %}
{% if objectives %}<h2 style="font-size: 1.1em">Objectives</h2>
<ul>{% for o in objectives %}<li><b>{{ o.kpi }}</b>: {{ o.why }}</li>
{% endfor %}</ul>{% endif %}
<p style="color: #667">Townhall</p>
</body></html>
"""

# Plain text, not HTML: nothing to escape (values are flattened to printable lines instead).
_text_env = Environment(
    autoescape=False,  # noqa: S701
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_html_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_TEXT_TEMPLATE = _text_env.from_string(_TEXT)
_HTML_TEMPLATE = _html_env.from_string(_HTML)


def digest_text(policy: Policy, digest: Digest) -> str:
    """The digest as plain text (each value flattened to one printable line)."""
    return _TEXT_TEMPLATE.render(_context(policy, digest))


def digest_html(policy: Policy, digest: Digest) -> str:
    """The digest as an HTML page (every value escaped; links are shown, not clickable)."""
    return _HTML_TEMPLATE.render(_context(policy, digest))


def digest_email(
    policy: Policy, digest: Digest, *, sender: str, recipients: list[str]
) -> EmailMessage:
    """The digest e-mail: plain text with an HTML alternative, dated ``generated_at``."""
    message = EmailMessage()
    message["From"] = one_line(sender, 320)
    message["To"] = ", ".join(one_line(r, 320) for r in recipients)
    message["Subject"] = one_line(digest.subject, 300)
    message["Date"] = format_datetime(aware(digest.generated_at))
    message["Message-ID"] = make_msgid("townhall-digest", domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Townhall-Kind"] = "digest"
    message["X-Townhall-Week"] = str(digest.week)
    message.set_content(digest_text(policy, digest))
    message.add_alternative(digest_html(policy, digest), subtype="html")
    return message


# -- the agenda -----------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~!&])")


def md(text: str, limit: int = 300) -> str:
    """``text`` on one line with Markdown's punctuation escaped (no links, images or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", one_line(text, limit))


def agenda_markdown(policy: Policy, agenda: Agenda) -> str:
    """The agenda as Markdown (every text from people or posts escaped)."""
    zone = agenda.zone
    lines = [
        f"# {md(agenda.company)} social meeting",
        "",
        f"From {when(agenda.start, zone, '%a %d %b %Y %H:%M')} to "
        f"{when(agenda.end, zone, '%a %d %b %Y %H:%M')} ({md(zone)})",
        "",
        "## Numbers",
        "",
        f"- Posts heard: {agenda.posts}",
    ]
    for label, posts, _ in sentiment_rows(agenda.post_sentiment, {}):
        lines.append(f"  - {label}: {posts}")
    items = agenda.items
    lines += [
        f"- Items opened: {items.new}, done: {items.done}, open at the end: {items.open_at_end}",
        f"- First reply (median): {duration(items.first_reply_median)}",
        f"- First replies within the SLA: {sla_text(items)}",
        f"- SLA breaches: {items.breaches}",
        "",
        "## Open crises",
        "",
    ]
    for room in agenda.crises:
        lines.append(
            f"- #{room.id} {md(room.title)}: {room.status}, led by "
            f"{md(name_of(policy, room.lead_department))}, risk {room.risk:.2f}"
        )
    if not agenda.crises:
        lines.append("None.")
    lines += ["", "## Breached SLAs by department", ""]
    for department, count in agenda.breaches:
        lines.append(f"- {md(name_of(policy, department))}: {count}")
    if not agenda.breaches:
        lines.append("None.")
    lines += ["", "## Shared cards and what was done with them", ""]
    for shared in agenda.cards:
        card = shared.card
        targets = ", ".join(md(name_of(policy, d)) for d in card.for_departments) or "everyone"
        lines.append(
            f"- **{md(card.title)}** (from {md(name_of(policy, card.from_department))} "
            f"for {targets}; seen by {shared.seen})"
        )
        for receipt in shared.acted:
            lines.append(
                f"  - {md(receipt.who)} ({md(name_of(policy, receipt.department))}), "
                f"{when(receipt.acted_at, zone)}: {md(receipt.action, 500)}"
            )
        if not shared.acted:
            lines.append("  - Nobody has acted on it yet.")
    if not agenda.cards:
        lines.append("None.")
    lines += ["", "## Coming up in the next 7 days", ""]
    for day, found in agenda.coming_up:
        lines.append(f"### {day:%A %d %B}")
        lines.append("")
        for entry in found:
            lines.append(f"- {md(entry_line(policy, entry, zone), 500)}")
        lines.append("")
    if not agenda.coming_up:
        lines += ["Nothing on the calendar.", ""]
    lines += ["## Plans: next steps", ""]
    for step in agenda.next_steps:
        lines.append(
            f"- {md(step.plan_name)}: {md(step.title)} "
            f"({md(name_of(policy, step.owner_department))}, due {when(step.due_at, zone)})"
        )
    if not agenda.next_steps:
        lines.append("None.")
    return "\n".join(lines) + "\n"
