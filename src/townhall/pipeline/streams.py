"""Scale-out on Redis Streams: listeners publish, ``townhall worker`` × N store, one radar.

Three parts share the stream ``townhall:posts`` (one field per message, ``post``: the post's
JSON):

- ``Publisher`` stands where the pipeline stands for listeners and ``townhall ingest``: it
  appends each post to the stream (XADD) and then runs the caller's ``within`` (a listener's
  cursor) in a database transaction of its own. Posts are published before the cursor moves,
  so a broker that does not answer leaves the cursor where it was and the posts are fetched
  again: nothing is lost, and a post published twice is stored once.
- ``StreamWorker`` (consumer group ``pipeline``, any number of them) reads batches, first the
  pending messages of a dead consumer (XAUTOCLAIM after ``claim_idle`` seconds), understands,
  routes and stores them in one transaction, and acknowledges them (XACK) only after that
  commit. A message that is not a post goes to ``townhall:posts:dead`` with its error; a post
  that fails inside the pipeline becomes a dead letter in the database as in one process.
- ``RadarStage`` (consumer group ``radar``, one consumer at a time: the holder of the lease
  ``townhall:radar:leader``) reads the same messages **in stream order**, waits until the
  workers have acknowledged them, loads the stored posts with their understanding from the
  database and feeds the radar, records its alerts, opens crisis rooms and puts new items into
  open rooms, exactly as ``Pipeline.watch`` does in one process. Bursts, stories and incidents
  span channels and topics, so their state cannot be split by a partition key: one ordered
  reader keeps the answers the same as in one process (``tests/pipeline/test_scale_out.py``).
  After its commit it appends the batch's message ids to ``townhall:posts:checked`` (for
  latency: the message id is its arrival time) and deletes the messages from the stream, which
  keeps the stream as long as the work not done yet.

A post is fed to the radar once: the first time its (channel, external id) appears in the
stream order, and only if it was stored after the message arrived (a re-fetched post stored
last week is a duplicate here, as it is in one process).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import orjson
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import select, tuple_
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from townhall.errors import PostFormatError
from townhall.models import PostRecord
from townhall.pipeline.runner import BatchResult, Pipeline, Stored
from townhall.pipeline.warm import enrichment_of, warm
from townhall.posts import Post, parse_post

if TYPE_CHECKING:
    from townhall.radar.alerts import Alert
    from townhall.radar.replay import Radar

log = logging.getLogger(__name__)

STREAM = "townhall:posts"
"""Where listeners and ingest publish posts."""

DEAD_STREAM = "townhall:posts:dead"
"""Messages that are not posts: ``id`` (the original message id), ``error``, ``raw``."""

CHECKED_STREAM = "townhall:posts:checked"
"""One entry per batch the radar checked: ``ids`` (comma-separated), ``at`` (Unix ms)."""

PIPELINE_GROUP = "pipeline"
RADAR_GROUP = "radar"
LEADER_KEY = "townhall:radar:leader"

CHECKED_MAXLEN = 100_000
DEAD_MAXLEN = 100_000

BROKER_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
"""A broker that does not answer (restarting, unreachable): retried with backoff."""


def connect(url: str) -> redis.Redis:
    """A client for the broker at ``url`` with short socket timeouts (a dead broker is noticed
    in seconds, not minutes)."""
    return redis.Redis.from_url(
        url, socket_timeout=10.0, socket_connect_timeout=5.0, health_check_interval=15
    )


def ensure_groups(client: redis.Redis, stream: str = STREAM) -> None:
    """Create the stream and both consumer groups (from the start of the stream) if missing."""
    for group in (PIPELINE_GROUP, RADAR_GROUP):
        try:
            client.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def consumer_name(prefix: str = "worker") -> str:
    """``worker-<host>-<pid>``: unique per process, readable on the System page."""
    return f"{prefix}-{socket.gethostname()}-{os.getpid()}"


def message_ms(message_id: bytes | str) -> int:
    """The arrival time (Unix ms, the broker's clock) a stream message id starts with."""
    text = message_id.decode() if isinstance(message_id, bytes) else message_id
    return int(text.split("-", 1)[0])


def _id_key(message_id: bytes) -> tuple[int, int]:
    ms, _, seq = message_id.decode().partition("-")
    return int(ms), int(seq or 0)


def read_new(
    client: redis.Redis,
    stream: str,
    group: str,
    consumer: str,
    count: int,
    block_ms: int,
    since: bytes = b">",
) -> list[Any]:
    """Up to ``count`` messages never delivered to ``group``, waiting at most ``block_ms``
    (``since=b"0"``: instead, the consumer's own pending messages, without waiting)."""
    block = None if since != b">" else block_ms
    reply = client.xreadgroup(group, consumer, {stream: since}, count=count, block=block)
    # RESP2 reply: [[stream, [(id, fields), ...]]]
    return cast(list[Any], reply)[0][1] if reply else []


class Publisher:
    """Hands posts to the broker instead of storing them (the ``process_batch`` of listeners
    and ``townhall ingest`` when ``TOWNHALL_BROKER_URL`` is set)."""

    def __init__(
        self, client: redis.Redis, sessions: sessionmaker[Session], stream: str = STREAM
    ) -> None:
        self._redis = client
        self._sessions = sessions
        self.stream = stream
        ensure_groups(client, stream)

    def publish(self, posts: Sequence[Post]) -> None:
        """Append the posts in order, in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for post in posts:
            pipe.xadd(self.stream, {"post": orjson.dumps(post.to_json())})
        pipe.execute()

    def process_batch(
        self,
        posts: Sequence[Post],
        now: datetime,
        within: Callable[[Session, BatchResult], None] | None = None,
        source: str = "",
    ) -> BatchResult:
        """Publish ``posts``, then run ``within`` in a transaction; ``queued`` says how many.

        Raises the broker's error when it does not answer (nothing is committed then)."""
        if posts:
            self.publish(posts)
        result = BatchResult(len(posts), 0, 0, 0, queued=len(posts))
        if within is not None:
            with self._sessions() as session, session.begin():
                within(session, result)
        return result


@dataclass
class Counters:
    """What one process did since it started (reported on the System page)."""

    processed: int = 0
    last_error: str | None = None


def _backoff(attempt: int) -> float:
    return float(min(0.2 * 2 ** min(attempt, 5), 5.0))


class StreamWorker:
    """One consumer of group ``pipeline``: understand, route and store batches, ack after
    commit. ``run`` loops until ``stop`` is set, riding out a broker or database restart."""

    def __init__(
        self,
        client: redis.Redis,
        pipeline: Pipeline,
        name: str,
        *,
        batch_size: int = 500,
        block: float = 0.25,
        claim_idle: float = 30.0,
        stream: str = STREAM,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._redis = client
        self._pipeline = pipeline
        self.name = name
        self._batch_size = batch_size
        self._block_ms = max(1, int(block * 1000))
        self._claim_idle_ms = int(claim_idle * 1000)
        self.stream = stream
        self._clock = clock or (lambda: datetime.now(UTC))
        self.counters = Counters()
        self._own_first = True
        """Read this consumer's own pending messages before new ones: at start (a restarted
        worker of the same name) and after a failed batch, which stays pending to it."""

    def run(self, stop: threading.Event) -> None:
        """Process batches until ``stop`` is set."""
        attempt = 0
        while not stop.is_set():
            try:
                self.step()
                attempt = 0
            except (*BROKER_ERRORS, OperationalError) as exc:
                attempt += 1
                self.counters.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("worker %s: %s (retrying)", self.name, self.counters.last_error)
                stop.wait(_backoff(attempt))
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                ensure_groups(self._redis, self.stream)  # the broker restarted empty

    def step(self) -> int:
        """Take one batch (its own pending messages first, then a dead consumer's, then new
        ones), store it, ack it; how many messages."""
        entries = self._own_pending() if self._own_first else []
        if not entries:
            self._own_first = False
            entries = self._claim()
        if not entries:
            entries = read_new(
                self._redis,
                self.stream,
                PIPELINE_GROUP,
                self.name,
                self._batch_size,
                self._block_ms,
            )
        if not entries:
            return 0
        ids = [message_id for message_id, _ in entries]
        try:
            decoded, poison = _decode(entries)
            if poison:
                self._dead(poison)
            if decoded:
                posts = [post for _, post in decoded]
                self._pipeline.process_batch(posts, self._clock(), source=f"broker:{self.stream}")
            self._redis.xack(self.stream, PIPELINE_GROUP, *ids)
        except BaseException:
            self._own_first = True  # the batch stays pending to us: take it again first
            raise
        self.counters.processed += len(ids)
        return len(ids)

    def _own_pending(self) -> list[Any]:
        entries = read_new(
            self._redis, self.stream, PIPELINE_GROUP, self.name, self._batch_size, 0, since=b"0"
        )
        gone = [message_id for message_id, fields in entries if not fields]
        if gone:  # deleted from the stream meanwhile: nothing left to do with them
            self._redis.xack(self.stream, PIPELINE_GROUP, *gone)
        return [entry for entry in entries if entry[1]]

    def _claim(self) -> list[Any]:
        _next, entries, *_deleted = self._redis.xautoclaim(
            self.stream,
            PIPELINE_GROUP,
            self.name,
            self._claim_idle_ms,
            "0-0",
            count=self._batch_size,
        )
        return list(entries)

    def _dead(self, poison: list[tuple[bytes, bytes, str]]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for message_id, raw, error in poison:
            log.error("message %s is not a post: %s", message_id.decode(), error)
            pipe.xadd(
                DEAD_STREAM,
                {"id": message_id, "error": error, "raw": raw},
                maxlen=DEAD_MAXLEN,
                approximate=True,
            )
        pipe.execute()


def _decode(entries: list[Any]) -> tuple[list[tuple[bytes, Post]], list[tuple[bytes, bytes, str]]]:
    """(message id, post) for each message that holds a post, in order, and (message id, raw,
    error) for each one that does not."""
    posts: list[tuple[bytes, Post]] = []
    poison: list[tuple[bytes, bytes, str]] = []
    for message_id, fields in entries:
        if fields is None:  # deleted before it was claimed: the radar has checked it
            continue
        raw = fields.get(b"post")
        if raw is None:
            shown = {
                k.decode("utf-8", "replace"): v.decode("utf-8", "replace")[:200]
                for k, v in fields.items()
            }
            poison.append((message_id, orjson.dumps(shown), "the message has no `post` field"))
            continue
        try:
            posts.append((message_id, parse_post(raw, source=f"message {message_id.decode()}")))
        except PostFormatError as exc:
            poison.append((message_id, raw, str(exc)))
    return posts, poison


class Lease:
    """The radar's leadership: a Redis key held for ``ttl`` seconds and renewed while held."""

    _RENEW = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
    )

    def __init__(self, client: redis.Redis, holder: str, ttl: float = 10.0) -> None:
        self._redis = client
        self.holder = holder
        self._ttl_ms = int(ttl * 1000)

    def acquire(self) -> bool:
        """Take or renew the lease; whether this process holds it now."""
        if self._redis.set(LEADER_KEY, self.holder, nx=True, px=self._ttl_ms):
            return True
        return bool(self._redis.eval(self._RENEW, 1, LEADER_KEY, self.holder, self._ttl_ms))

    def release(self) -> None:
        """Give the lease up (on a clean stop) so another worker takes over at once."""
        script = (
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('del', KEYS[1]) else return 0 end"
        )
        self._redis.eval(script, 1, LEADER_KEY, self.holder)


RADAR_SEEN = 200_000
"""Post keys the radar stage remembers having fed (to feed each post once)."""

ARRIVAL_SLACK = timedelta(seconds=60)
"""Clock difference allowed between the broker and a worker when telling a post stored for
this message from one stored long before (a re-fetched duplicate)."""


class RadarStage:
    """The ordered reader of group ``radar``: feeds the radar what the workers stored."""

    def __init__(
        self,
        client: redis.Redis,
        sessions: sessionmaker[Session],
        pipeline: Pipeline,
        name: str,
        *,
        batch_size: int = 500,
        block: float = 0.25,
        stream: str = STREAM,
        clock: Callable[[], datetime] | None = None,
        new_radar: Callable[[], Radar] | None = None,
    ) -> None:
        self._redis = client
        self._sessions = sessions
        self._pipeline = pipeline
        self._new_radar = new_radar
        self.name = name
        self._batch_size = batch_size
        self._block_ms = max(1, int(block * 1000))
        self.stream = stream
        self._clock = clock or (lambda: datetime.now(UTC))
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.counters = Counters()
        self.alerts = 0
        self._unsaved: tuple[list[bytes], list[Stored], list[Alert]] | None = None
        self._unacked: list[bytes] | None = None

    def step(self, wait: threading.Event | None = None) -> int:
        """Check one batch in stream order; how many messages it covered.

        The radar's state moves once per batch: when storing its alerts fails (the database
        restarts), the same alerts are stored on the next call instead of feeding the batch
        again, and a batch whose acknowledgement failed (the broker restarts) is only
        acknowledged again."""
        if self._unacked is None:
            if self._unsaved is None:
                batch = self._next_batch(wait)
                if batch is None:
                    return 0
                ids, stored = batch
                self._unsaved = ids, stored, self._pipeline.observe(stored)
            ids, stored, alerts = self._unsaved
            with self._sessions() as session, session.begin():
                self.alerts += self._pipeline.record(session, stored, alerts, self._clock())
            self._unsaved, self._unacked = None, ids
        ids = self._unacked
        self._acknowledge(ids)
        self._unacked = None
        self.counters.processed += len(ids)
        return len(ids)

    def take_over(self) -> int:
        """Start leading: a fresh radar (with ``new_radar``) warmed with the stored posts the
        previous leader had checked, i.e. stored before the oldest message still in the
        stream arrived; how many posts it was fed. Work left half done is taken again from
        the stream."""
        self._unsaved = self._unacked = None
        self._seen.clear()
        if self._new_radar is None:
            return 0
        oldest = self._redis.xrange(self.stream, count=1)
        if oldest:
            arrival = datetime.fromtimestamp(message_ms(cast(bytes, oldest[0][0])) / 1000, UTC)
            cut = arrival - ARRIVAL_SLACK
        else:
            cut = datetime.now(UTC)  # everything stored so far was checked
        radar = self._new_radar()
        fed = warm(radar, self._sessions, stored_before=cut)
        self._pipeline.use_radar(radar)
        return fed

    def _next_batch(self, wait: threading.Event | None) -> tuple[list[bytes], list[Stored]] | None:
        # Our own pending messages first (a batch acknowledged by nobody), oldest first; then a
        # dead leader's (claimed at once: only the lease holder reads this group).
        entries = self._pending_of_group()
        if not entries:
            entries = read_new(
                self._redis, self.stream, RADAR_GROUP, self.name, self._batch_size, self._block_ms
            )
        if not entries:
            return None
        ids = [message_id for message_id, _ in entries]
        self._wait_for_workers(ids, wait)
        decoded, _poison = _decode(entries)  # the workers sent the poison to the dead stream
        return ids, self._stored(decoded)

    def _acknowledge(self, ids: list[bytes]) -> None:
        at = int(time.time() * 1000)
        pipe = self._redis.pipeline(transaction=True)
        pipe.xadd(
            CHECKED_STREAM,
            {"ids": b",".join(ids), "at": at},
            maxlen=CHECKED_MAXLEN,
            approximate=True,
        )
        pipe.xack(self.stream, RADAR_GROUP, *ids)
        pipe.xdel(self.stream, *ids)
        pipe.execute()

    def _pending_of_group(self) -> list[Any]:
        _next, entries, *_deleted = self._redis.xautoclaim(
            self.stream, RADAR_GROUP, self.name, 0, "0-0", count=self._batch_size
        )
        return sorted(entries, key=lambda e: _id_key(e[0]))

    def _wait_for_workers(self, ids: list[bytes], wait: threading.Event | None) -> None:
        """Block until group ``pipeline`` has read and acknowledged every one of ``ids``."""
        first, last = ids[0], ids[-1]
        delay = 0.005
        while True:
            if self._pipeline_done(first, last):
                return
            if wait is not None and wait.is_set():
                raise InterruptedError("stopping while the workers catch up")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _pipeline_done(self, first: bytes, last: bytes) -> bool:
        groups = self._redis.xinfo_groups(self.stream)
        group = next((g for g in groups if g["name"] == PIPELINE_GROUP.encode()), None)
        if group is None:
            return False
        delivered = group["last-delivered-id"]
        if _id_key(delivered) < _id_key(last):
            return False
        pending = self._redis.xpending_range(
            self.stream, PIPELINE_GROUP, min=first, max=last, count=1
        )
        return not pending

    def _stored(self, decoded: list[tuple[bytes, Post]]) -> list[Stored]:
        """The stored rows of these posts the radar has not been fed, in stream order."""
        if not decoded:
            return []
        keys = list(dict.fromkeys((p.channel, p.external_id) for _, p in decoded))
        with self._sessions() as session:
            rows = {
                (r.channel, r.external_id): r
                for r in session.scalars(
                    select(PostRecord).where(
                        tuple_(PostRecord.channel, PostRecord.external_id).in_(keys)
                    )
                )
            }
            session.expunge_all()
        out: list[Stored] = []
        for message_id, post in decoded:
            key = (post.channel, post.external_id)
            record = rows.get(key)
            if record is None or key in self._seen:
                continue  # a dead letter, or fed already
            arrival = datetime.fromtimestamp(message_ms(message_id) / 1000, UTC)
            if record.ingested_at < arrival - ARRIVAL_SLACK:
                continue  # stored long before this message: a duplicate
            self._remember(key)
            out.append((record.id, record.to_post(), enrichment_of(record)))
        return out

    def _remember(self, key: tuple[str, str]) -> None:
        self._seen[key] = None
        if len(self._seen) > RADAR_SEEN:
            self._seen.popitem(last=False)
