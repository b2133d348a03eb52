"""The incoming webhook connector: another tool POSTs JSON to ``/hooks/{channel}``, and the
channel's ``mapping`` (Post field → dotted path in that JSON) turns each object into a Post.

Pure: the web route (``townhall.web.webhooks``) reads the body, checks the signature and runs
the posts through the pipeline. A mapped object goes through the same validation as a line of
Post JSONL (``townhall.posts``); what cannot be read is reported by index and field.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError

from townhall.org.fields import Loc, items_of
from townhall.posts import Post, check_time, terminal_safe

if TYPE_CHECKING:
    from townhall.org.policy import Channel, Policy

MAX_BODY_BYTES = 1_000_000
"""Largest body accepted on ``/hooks/{channel}``."""

MAX_OBJECTS = 500
"""Most objects in one request."""

POST_FIELDS: tuple[str, ...] = (
    "id",
    "text",
    "created_at",
    "lang",
    "url",
    "author.handle",
    "author.name",
    "author.followers",
    "author.location",
    "author.verified",
    "reply_to",
    "reshare_of",
    "group",
    "media",
)
"""The Post fields a mapping may fill (``extra.<name>`` keeps any other value)."""

REQUIRED = ("id", "text")

WEBHOOK = "webhook"
"""``ChannelKind.WEBHOOK`` (as text: ``townhall.org.policy`` may import this module)."""

MAX_PATH_PARTS = 32


@dataclass(frozen=True)
class Rejected:
    """An object of the request that did not become a post."""

    index: int
    field: str
    error: str
    path: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form in the answer."""
        data: dict[str, Any] = {"index": self.index, "field": self.field, "error": self.error}
        if self.path is not None:
            data["path"] = self.path
        return data


class BodyError(ValueError):
    """The body as a whole cannot be read (not JSON, not objects, too many)."""


def _known(field: str) -> bool:
    return field in POST_FIELDS or (field.startswith("extra.") and len(field) > len("extra."))


def mapping_problems(policy: Policy | Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Every problem with the webhook channels of a policy (a ``Policy`` or its raw data): no
    ``token_env``, no mapping for ``id`` or ``text``, an unknown Post field, an empty path, or
    a ``mapping`` on a channel that is not a webhook."""
    data: Mapping[str, Any] = (
        policy if isinstance(policy, Mapping) else policy.model_dump(mode="python")
    )
    problems: list[tuple[Loc, str]] = []
    for i, channel in items_of(data, "channels"):
        kind = str(channel.get("kind", ""))
        mapping = channel.get("mapping") or {}
        if not isinstance(mapping, Mapping):
            continue  # field validation reports the shape
        if kind != WEBHOOK:
            if mapping:
                problems.append(
                    (("channels", i, "mapping"), "only a webhook channel uses a mapping")
                )
            continue
        if not channel.get("token_env"):
            problems.append(
                (
                    ("channels", i, "token_env"),
                    "a webhook channel needs token_env: the environment variable holding the "
                    "secret callers sign with",
                )
            )
        for field in REQUIRED:
            if field not in mapping:
                problems.append(
                    (("channels", i, "mapping"), f"map {field!r} to where it is in the JSON")
                )
        for field, path in mapping.items():
            loc: Loc = ("channels", i, "mapping", str(field))
            if not isinstance(field, str) or not _known(field):
                close = difflib.get_close_matches(str(field), POST_FIELDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append((loc, f"unknown Post field {field!r}{hint}"))
            if not isinstance(path, str) or not all(path.split(".")):
                problems.append((loc, f"{path!r} is not a dotted path such as data.user.login"))
            elif len(path.split(".")) > MAX_PATH_PARTS:
                problems.append((loc, f"a path has at most {MAX_PATH_PARTS} parts"))
    return problems


_MISSING = object()


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted ``path`` (``data.user.login``, ``items.0.id``), or ``_MISSING``."""
    value = document
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def map_object(channel: Channel, document: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The Post JSON of one pushed object: the mapped values, the channel, and defaults (now
    for ``created_at``, the channel's account for ``author.handle``)."""
    post: dict[str, Any] = {"channel": channel.id}
    author: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for field, path in channel.mapping.items():
        value = lookup(document, path)
        if value is _MISSING or value is None:
            continue
        if field == "id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # tools number their objects; a Post id is text
        if field.startswith("author."):
            author[field.removeprefix("author.")] = value
        elif field.startswith("extra."):
            extra[field.removeprefix("extra.")] = value
        else:
            post[field] = value
    post.setdefault("created_at", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    author.setdefault("handle", channel.account)
    post["author"] = author
    if extra:
        post["extra"] = extra
    return post


def read_body(body: bytes) -> list[Any]:
    """The objects of a request body: one JSON object, or an array of them (``BodyError``)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(f"the body is not valid JSON ({exc})") from None
    objects = document if isinstance(document, list) else [document]
    if len(objects) > MAX_OBJECTS:
        raise BodyError(f"{len(objects):,} objects in one request; at most {MAX_OBJECTS}")
    return objects


def _field_of(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "post"


def to_posts(
    channel: Channel, objects: list[Any], now: datetime, max_future: float
) -> tuple[list[Post], list[Rejected]]:
    """The posts the objects map to, and each object that does not (index, field, why)."""
    posts: list[Post] = []
    rejected: list[Rejected] = []
    paths = dict(channel.mapping)
    for index, document in enumerate(objects):
        if not isinstance(document, Mapping):
            rejected.append(
                Rejected(index, "object", f"expected a JSON object, got {type(document).__name__}")
            )
            continue
        data = map_object(channel, document, now)
        try:
            post = Post.model_validate(data)
        except ValidationError as exc:
            for problem in exc.errors()[:10]:
                field = _field_of(problem["loc"])
                message = str(problem["msg"]).removeprefix("Value error, ")
                if field == "post" and message.startswith("id: "):
                    field, message = "id", message.removeprefix("id: ")
                rejected.append(
                    Rejected(index, field, terminal_safe(message)[:300], paths.get(field))
                )
            continue
        except (RecursionError, OverflowError, ValueError, TypeError) as exc:
            message = terminal_safe(f"cannot be read ({type(exc).__name__}: {exc})")[:300]
            rejected.append(Rejected(index, "post", message))
            continue
        late = check_time(post, now, max_future)
        if late is not None:
            field, _, message = late.partition(": ")
            rejected.append(Rejected(index, field, message, paths.get(field)))
            continue
        posts.append(post)
    return posts, rejected


def webhook_channel(policy: Policy, channel_id: str) -> Channel | None:
    """The policy's webhook channel ``channel_id`` (None for another kind or an unknown id)."""
    try:
        channel = policy.channel(channel_id)
    except KeyError:
        return None
    return channel if channel.kind == WEBHOOK else None
