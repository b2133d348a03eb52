"""The optional ``alerts:`` section of the policy: who hears about radar alerts, and how.

```yaml
alerts:
  email:
    from: townhall@acme.example
    min_severity: warning            # watch | warning | critical (default watch)
    to:
      crisis: [grace.lindqvist@acme.example, sofia.rossi@acme.example]
      burst: sofia.rossi@acme.example
  webhooks:
    - {id: it_pager, url: "https://hooks.acme.example/townhall", kinds: [traffic_spike]}
    - {id: social_chat, url: "https://hooks.slack.com/services/T0/B0/x", format: slack,
       kinds: [crisis, viral_post], min_severity: warning}
  traffic:
    clicks_per_reshare: 0.3          # site visits per reshare
    site_visits_per_hour: 4000       # the site's normal load, visits per hour
    notify_it_when_extra_visits_at_least: 1000
```

Pure: no I/O. ``townhall.radar.notify`` delivers the alerts; docs/alerts.md explains each field.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    field_validator,
)

from townhall.org.fields import Email, Id, PolicyModel, one_or_many

AlertKindName = Literal["crisis", "burst", "viral_post", "traffic_spike", "channel"]
"""Every kind of alert a channel can subscribe to (``traffic_spike`` comes from notify.py,
``channel`` from a network channel whose health turned bad: townhall.channels)."""
ALERT_KINDS: tuple[AlertKindName, ...] = get_args(AlertKindName)

SeverityName = Literal["watch", "warning", "critical"]
WebhookFormat = Literal["generic", "slack"]

DEFAULT_CLICKS_PER_RESHARE = 0.3
"""Site visits per reshare: ~150 followers per resharer × ~20% who see it × ~1% who click."""
DEFAULT_EXTRA_VISITS_THRESHOLD = 1000
"""Expected extra site visits (over the rest of the post's spread) that make IT hear of it."""


def _check_webhook_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"webhook url must start with http:// or https:// (got {parts.scheme or 'none'!r})"
        )
    if not parts.hostname:
        raise ValueError("webhook url has no host")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError("webhook url must not contain spaces or control characters")
    return value


WebhookUrl = Annotated[str, AfterValidator(_check_webhook_url)]
EmailList = Annotated[tuple[Email, ...], BeforeValidator(one_or_many)]
KindList = Annotated[tuple[AlertKindName, ...], BeforeValidator(one_or_many), Field(min_length=1)]


class EmailRecipients(PolicyModel):
    """Who receives each kind of alert by e-mail (one address or a list per kind)."""

    crisis: EmailList = ()
    burst: EmailList = ()
    viral_post: EmailList = ()
    traffic_spike: EmailList = ()
    channel: EmailList = ()

    def for_kind(self, kind: str) -> tuple[str, ...]:
        """The addresses for an alert kind (none for an unknown kind)."""
        recipients: tuple[str, ...] = getattr(self, kind, ()) if kind in ALERT_KINDS else ()
        return recipients


class EmailAlerts(PolicyModel):
    """The e-mail channel: sender, recipients per kind, and the least severity sent."""

    # YAML says `from`; a dumped policy (model_dump) says `from`, too, so it loads back.
    model_config = ConfigDict(serialize_by_alias=True)

    from_: Email = Field(alias="from")
    to: EmailRecipients
    min_severity: SeverityName = "watch"


class Webhook(PolicyModel):
    """A webhook that receives alerts as JSON: ``generic`` (the alert's fields) or ``slack``."""

    id: Id
    url: WebhookUrl
    kinds: KindList
    format: WebhookFormat = "generic"
    min_severity: SeverityName = "watch"


class TrafficPolicy(PolicyModel):
    """How a spread forecast turns into expected site visits, and when IT hears of it.

    ``clicks_per_reshare`` is site visits per reshare; ``site_visits_per_hour`` the site's
    normal load (visits/hour, optional: it makes a spike ``critical`` when even the cautious
    estimate adds a normal hour of visits); ``notify_it_when_extra_visits_at_least`` is in visits.
    """

    clicks_per_reshare: float = Field(default=DEFAULT_CLICKS_PER_RESHARE, gt=0, allow_inf_nan=False)
    site_visits_per_hour: PositiveInt | None = None
    notify_it_when_extra_visits_at_least: PositiveInt = DEFAULT_EXTRA_VISITS_THRESHOLD


class AlertPolicy(PolicyModel):
    """The ``alerts:`` section: the e-mail channel, webhooks, and the traffic-spike estimate."""

    email: EmailAlerts | None = None
    webhooks: tuple[Webhook, ...] = ()
    traffic: TrafficPolicy = TrafficPolicy()

    @field_validator("webhooks")
    @classmethod
    def _unique_webhook_ids(cls, webhooks: tuple[Webhook, ...]) -> tuple[Webhook, ...]:
        seen: dict[str, int] = {}
        for i, hook in enumerate(webhooks):
            if hook.id in seen:
                raise ValueError(
                    f"duplicate webhook id {hook.id!r} (first at webhooks[{seen[hook.id]}])"
                )
            seen[hook.id] = i
        return webhooks
