"""End-to-end pipeline throughput and latency, with this machine's ceilings in the same run.

Figures (posts/s, and p50/p99 latency from arrival to stored, routed and radar-checked):

- ceilings: orjson parse only (``parse_post`` over JSONL lines), enrichment only (the
  ``Understander`` the pipeline uses, 500 posts per call), batched insert only (the enriched
  post rows inserted as ``Pipeline`` inserts them — INSERT … ON CONFLICT DO NOTHING RETURNING,
  500 rows per transaction — without items, rollups or the dedup SELECT), on SQLite and, with a
  broker run, on PostgreSQL;
- the keyword pre-filter alone (``KeywordPrefilter``) on a firehose where 1% of the texts
  mention the brand, against ``TopicMatcher.match`` over every text;
- in-process SQLite: parse + ``Pipeline.process_batch`` per batch of 500, as `townhall ingest`
  does (latency: the batch's parse-to-commit time, which every post of the batch waits);
- 1 and 2 ``townhall worker`` processes on Redis + PostgreSQL: N posts published at once
  (``Publisher``), posts/s from the first publish to the last radar-checked batch, latency per
  post from its message id (arrival) to the ``at`` of its entry in ``townhall:posts:checked``;
- 2 workers at a paced 1,000 posts/s (batches of 50 every 50 ms) for 15 s: p50/p99 latency.

Every figure is shown as a ratio to its ceiling: a pipeline figure against the serial
parse + enrich + insert ceiling of one core (× the workers, at most the cores). The data are
simulated ACME days (``townhall.connectors.simulator``; the melted-basket crisis on the
first day only), every post id and text distinct.
The last line printed is one JSON object with every figure.

Run: `.venv/bin/python bench/pipeline.py [--posts N] [--quick] [--no-broker]`
(default 20,000 posts). Redis and PostgreSQL: from TOWNHALL_BENCH_REDIS_URL and
TOWNHALL_BENCH_POSTGRES_URL (the bench creates a database per run on that server when it may,
and deletes the ``townhall:posts*`` keys of that Redis database), otherwise started here with
``scripts/services.sh`` (127.0.0.1 only) and stopped at the end. ``--quick``: a few hundred
posts, ceilings, pre-filter and SQLite only unless both URLs are set; well under a minute.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per process, as the targets say
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
POLICY_PATH = ROOT / "examples" / "acme" / "policy.yaml"
SERVICES = ROOT / "scripts" / "services.sh"
BATCH = 500
WARM_UP = 500
"""Posts each broker run processes before it is measured."""
STARTED = time.perf_counter()


def say(message: str) -> None:
    """One progress line on stderr."""
    print(f"[{time.perf_counter() - STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------- data

GENERATOR = r"""
import sys, orjson
from datetime import timedelta
from townhall.connectors.simulator import generate_day
from townhall.posts import now_utc

n = int(sys.argv[1])
days = n // 1500 + 2
start = now_utc().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days + 1)
out, i, day = sys.stdout.buffer, 0, 0
while i < n:
    crisis = 9.5 if day == 0 else None  # one melted-basket crisis in the week, on day one
    found = generate_day(seed=100 + day, start=start + timedelta(days=day), crisis_at_hours=crisis)
    ids = {}
    for post in found:
        if i >= n:
            break
        data = post.to_json()
        new = f"{post.channel}:{i}"
        ids[post.id] = new
        data["id"] = new
        for ref in ("reply_to", "reshare_of"):
            if data.get(ref) in ids:
                data[ref] = ids[data[ref]]
        if data.get("text"):
            data["text"] = f"{data['text']} ({i})"  # every text distinct: the harder case
        out.write(orjson.dumps(data) + b"\n")
        i += 1
    day += 1
"""


def simulated(n: int) -> list[dict[str, Any]]:
    """N simulated ACME posts (JSON objects), in time order, ids ``<channel>:<i>``; made in a
    child process so that the generator's memory does not count in this one's peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", GENERATOR, str(n)], check=True, capture_output=True, timeout=600
    )
    return [orjson.loads(line) for line in done.stdout.splitlines()]


def tagged(objects: Sequence[dict[str, Any]], tag: str) -> list[bytes]:
    """JSONL lines of ``objects`` with ids (and references) ``<channel>:<tag><i>``: each run
    stores posts of its own."""

    def rid(value: Any) -> Any:
        if isinstance(value, str) and ":" in value:
            channel, _, native = value.partition(":")
            if native.isdigit():
                return f"{channel}:{tag}{native}"
        return value

    lines = []
    for obj in objects:
        data = dict(obj)
        data["id"] = rid(data["id"])
        for ref in ("reply_to", "reshare_of"):
            data[ref] = rid(data.get(ref))
        lines.append(orjson.dumps(data))
    return lines


FILLER = [
    "the",
    "a",
    "my",
    "our",
    "new",
    "old",
    "coffee",
    "dinner",
    "train",
    "late",
    "again",
    "love",
    "hate",
    "weather",
    "today",
    "tomorrow",
    "really",
    "so",
    "good",
    "bad",
    "lunch",
    "friends",
    "city",
    "music",
    "game",
    "phone",
    "app",
    "update",
    "match",
    "goal",
    "season",
    "movie",
    "book",
    "read",
    "week",
    "weekend",
    "morning",
    "night",
    "sleep",
    "work",
    "boss",
    "meeting",
    "bus",
    "rain",
    "sun",
    "holiday",
    "trip",
    "beach",
    "garden",
    "dog",
    "cat",
    "kids",
    "school",
    "exam",
    "pizza",
    "tea",
    "cake",
    "party",
    "song",
    "band",
]
ACCENTED = ["café", "naïve", "jalapeño", "über", "façade", "São Paulo", "Zürich", "crème"]
EMOJI = ["😤", "🔥", "👍🏽", "❤️", "😂", "🎉", "☕"]


def firehose(n: int, brand_texts: Sequence[str], share: float = 0.01) -> list[str]:
    """N distinct social texts of which ``share`` mention the brand (``brand_texts``), the rest
    ordinary chatter: a tenth with an accented word, a sixth with an emoji, some #/@ tags."""
    rng = random.Random(18)
    every = round(1 / share)
    texts = []
    for i in range(n):
        if i % every == every // 2 and brand_texts:
            texts.append(f"{brand_texts[(i // every) % len(brand_texts)]} {i}")
            continue
        words = [rng.choice(FILLER) for _ in range(rng.randint(6, 22))]
        if rng.random() < 0.1:
            words.insert(rng.randrange(len(words)), rng.choice(ACCENTED))
        if rng.random() < 0.15:
            words.append(rng.choice(EMOJI))
        if rng.random() < 0.1:
            words.append(f"#{rng.choice(FILLER)}{rng.choice(FILLER)}")
        if rng.random() < 0.05:
            words.insert(0, f"@{rng.choice(FILLER)}{i % 997}")
        words.append(str(i))
        texts.append(" ".join(words))
    return texts


# ------------------------------------------------------------------------------------ figures


@dataclass
class Figure:
    """One row of the table."""

    label: str
    key: str
    pps: float | None
    ceiling: float | None = None
    ceiling_label: str = ""
    p50_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.pps is None or not self.ceiling:
            return None
        return self.pps / self.ceiling


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def best_of(repeat: int, work: Callable[[], object]) -> float:
    """The best time (seconds) of ``repeat`` runs of ``work``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def serial(*rates: float | None) -> float | None:
    """The rate of doing each stage after the other on one core."""
    if any(not r for r in rates):
        return None
    return 1 / sum(1 / r for r in rates if r)


# ---------------------------------------------------------------------------------- ceilings


def insert_rows(posts: Sequence[Any], enrichments: Sequence[Any]) -> list[dict[str, Any]]:
    from townhall.pipeline.runner import _enrichment_columns, _post_row
    from townhall.posts import now_utc

    now = now_utc()
    rows = []
    for post, enrichment in zip(posts, enrichments, strict=True):
        row = _post_row(post, now)
        row.update(_enrichment_columns(enrichment))
        rows.append(row)
    return rows


def insert_ceiling(url: str, rows: Sequence[dict[str, Any]]) -> float:
    """Posts/s of batched INSERT … ON CONFLICT DO NOTHING RETURNING of enriched post rows."""
    from townhall.db import make_engine, migrate, session_factory
    from townhall.pipeline.runner import _insert_new

    engine = make_engine(url)
    try:
        migrate(engine)
        sessions = session_factory(engine)
        started = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            with sessions() as session, session.begin():
                _insert_new(session, list(rows[start : start + BATCH]))
        return len(rows) / (time.perf_counter() - started)
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------------- services


@contextmanager
def services(quick: bool, wanted: bool) -> Iterator[tuple[str, str] | None]:
    """(PostgreSQL URL, Redis URL): from the environment, or started here (not in --quick)
    and stopped at the end; None when there are none."""
    pg = os.environ.get("TOWNHALL_BENCH_POSTGRES_URL")
    rd = os.environ.get("TOWNHALL_BENCH_REDIS_URL")
    if not wanted:
        yield None
        return
    if pg and rd:
        yield pg, rd
        return
    if quick:
        say("broker runs skipped (--quick without TOWNHALL_BENCH_POSTGRES_URL/_REDIS_URL)")
        yield None
        return
    if not shutil.which("redis-server"):
        say("broker runs skipped: redis-server is not installed")
        yield None
        return
    where = Path(tempfile.mkdtemp(prefix="townhall-bench-svc-"))
    try:
        say(f"starting PostgreSQL and Redis on 127.0.0.1 ({SERVICES.name} start {where})")
        done = subprocess.run(
            ["bash", str(SERVICES), "start", str(where)],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if done.returncode != 0:
            say(f"broker runs skipped: services did not start ({done.stderr.strip()[-300:]})")
            yield None
            return
        found = dict(
            line.removeprefix("export ").split("=", 1)
            for line in done.stdout.splitlines()
            if line.startswith("export ")
        )
        yield found["TOWNHALL_TEST_POSTGRES_URL"], found["TOWNHALL_TEST_REDIS_URL"]
    finally:
        subprocess.run(["bash", str(SERVICES), "stop", str(where)], timeout=120, check=False)
        shutil.rmtree(where, ignore_errors=True)


def fresh_database(base_url: str, name: str) -> str:
    """A new empty database ``name`` on the server of ``base_url`` (that URL itself when the
    bench may not create one: the runs' post ids differ, so they do not collide)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return url.set(database=name).render_as_string(hide_password=False)
    except Exception as exc:
        say(f"cannot create database {name} ({type(exc).__name__}); using {url.database}")
        return base_url
    finally:
        admin.dispose()


def drop_database(base_url: str, url: str) -> None:
    """Drop a database ``fresh_database`` created (never ``base_url``'s own)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if url == base_url or not name:
        return
    admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception as exc:
        say(f"could not drop database {name} ({type(exc).__name__})")
    finally:
        admin.dispose()


class Workers:
    """`townhall worker` subprocesses, stopped (SIGTERM, then SIGKILL) at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "townhall.cli", "worker", "--name", name],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.running.append((name, process))

    def peak_rss_mb(self) -> float:
        """The largest peak RSS (VmHWM) of the running workers."""
        peak = 0.0
        for _, process in self.running:
            with suppress(OSError):
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
        return peak

    def check_alive(self) -> None:
        for name, process in self.running:
            if process.poll() is not None:
                raise RuntimeError(f"worker {name} exited ({process.returncode}):\n{self.output()}")

    def stop(self) -> None:
        for _, process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in self.running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.running = []

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.logs.glob("*.log"))


# ------------------------------------------------------------------------------------- runs


def run_sqlite(
    lines: Sequence[bytes], policy: Any, understander: Any, tmp: Path
) -> tuple[float, list[float]]:
    """Parse + process_batch per batch on SQLite: posts/s and per-post latency (seconds)."""
    from townhall.db import make_engine, migrate, session_factory
    from townhall.pipeline.runner import Pipeline
    from townhall.posts import now_utc, parse_post
    from townhall.radar.replay import Radar, RadarSettings
    from townhall.routing.rules import router_for

    engine = make_engine(f"sqlite:///{tmp / 'e2e.db'}")
    try:
        migrate(engine)
        pipeline = Pipeline(
            session_factory(engine),
            policy,
            understander,
            router_for(policy),
            Radar(policy, RadarSettings(viral_threshold=policy.crisis.viral_threshold)),
        )
        latencies: list[float] = []
        started = time.perf_counter()
        for start in range(0, len(lines), BATCH):
            b0 = time.perf_counter()
            posts = [parse_post(raw) for raw in lines[start : start + BATCH]]
            pipeline.process_batch(posts, now_utc())
            latencies.extend([time.perf_counter() - b0] * len(posts))
        return len(lines) / (time.perf_counter() - started), latencies
    finally:
        engine.dispose()


def checked_latencies(client: Any, since: bytes = b"-") -> tuple[list[float], float, int]:
    """(latency per post in seconds, the last check's time in Unix s, posts) from the
    ``townhall:posts:checked`` stream."""
    from townhall.pipeline.streams import CHECKED_STREAM, message_ms

    latencies: list[float] = []
    last_at = 0.0
    start: bytes = since
    while True:
        entries = client.xrange(CHECKED_STREAM, min=start, max="+", count=1000)
        if not entries:
            break
        for _entry_id, fields in entries:
            at = int(fields[b"at"])
            last_at = max(last_at, at / 1000)
            latencies.extend((at - message_ms(i)) / 1000 for i in fields[b"ids"].split(b","))
        start = b"(" + entries[-1][0]
    return latencies, last_at, len(latencies)


def reset_streams(client: Any) -> None:
    from townhall.pipeline.streams import CHECKED_STREAM, DEAD_STREAM, LEADER_KEY, STREAM

    client.delete(STREAM, CHECKED_STREAM, DEAD_STREAM, LEADER_KEY)


def wait_ready(client: Any, workers: Workers, timeout: float) -> None:
    """Until every worker has reported (its first heartbeat comes right before it reads) and
    one of them holds the radar lease."""
    from townhall.pipeline.heartbeat import PROCESSES_KEY
    from townhall.pipeline.streams import LEADER_KEY

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers.check_alive()
        reported = 0
        for name, process in workers.running:
            raw = client.hget(PROCESSES_KEY, f"worker:{name}")
            if raw and orjson.loads(raw).get("pid") == process.pid:
                reported += 1
        if reported == len(workers.running) and client.get(LEADER_KEY):
            return
        time.sleep(0.1)
    raise TimeoutError(f"workers not ready in {timeout:.0f} s:\n{workers.output()}")


def stored_count(engine: Any, prefix: str) -> int:
    from sqlalchemy import func, select

    from townhall.models import PostRecord

    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(PostRecord)
                .where(PostRecord.external_id.like(f"{prefix}%"))
            ).scalar_one()
        )


def wait_done(
    client: Any, engine: Any, prefix: str, expected: int, workers: Workers, timeout: float
) -> None:
    """Until the stream is empty and every post of the run is stored (and so checked)."""
    from townhall.pipeline.streams import STREAM

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers.check_alive()
        if client.xlen(STREAM) == 0 and stored_count(engine, prefix) >= expected:
            return
        time.sleep(0.1)
    raise TimeoutError(f"not done in {timeout:.0f} s:\n{workers.output()}")


@dataclass
class BrokerRun:
    pps: float
    latencies: list[float]
    rss_mb: float
    paced_rate: float | None = None
    paced_latencies: list[float] | None = None


def run_workers(
    urls: tuple[str, str],
    objects: Sequence[dict[str, Any]],
    count: int,
    tmp: Path,
    paced_seconds: float,
) -> BrokerRun:
    """``count`` workers: the bulk run, then (when ``paced_seconds``) the paced run."""
    from townhall.db import make_engine, migrate, session_factory
    from townhall.pipeline.streams import CHECKED_STREAM, Publisher, connect
    from townhall.posts import parse_post

    pg_base, redis_url = urls
    database = fresh_database(pg_base, f"bench_workers_{count}_{uuid.uuid4().hex[:6]}")
    engine = make_engine(database)
    migrate(engine)
    client = connect(redis_url)
    reset_streams(client)
    home = tmp / f"home-{count}"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
    env.update(
        TOWNHALL_HOME=str(home),
        TOWNHALL_DATABASE_URL=database,
        TOWNHALL_BROKER_URL=redis_url,
        TOWNHALL_POLICY=str(POLICY_PATH),
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
    )
    workers = Workers(env, home)
    try:
        names = [f"w{i + 1}" for i in range(count)]
        for name in names:
            workers.start(name)
        say(f"{count} worker(s) starting")
        wait_ready(client, workers, timeout=120)
        publisher = Publisher(client, session_factory(engine))
        # Warm up (models load on first use, connections open): not measured.
        warm = [parse_post(raw) for raw in tagged(objects[:WARM_UP], f"warm{count}-")]
        publisher.publish(warm)
        wait_done(client, engine, f"warm{count}-", len(warm), workers, timeout=120)
        client.delete(CHECKED_STREAM)
        prefix = f"b{count}-"
        posts = [parse_post(raw) for raw in tagged(objects, prefix)]
        say(f"{count} worker(s): publishing {len(posts):,} posts at once")
        started = time.time()
        for start in range(0, len(posts), BATCH):
            publisher.publish(posts[start : start + BATCH])
        wait_done(client, engine, prefix, len(posts), workers, timeout=60 + len(posts) / 100)
        latencies, last_at, checked = checked_latencies(client)
        if checked < len(posts):
            raise RuntimeError(f"only {checked:,} of {len(posts):,} posts were radar-checked")
        run = BrokerRun(len(posts) / (last_at - started), latencies, 0.0)
        say(f"{count} worker(s): {run.pps:,.0f} posts/s")
        if paced_seconds:
            client.delete(CHECKED_STREAM)
            run.paced_rate, run.paced_latencies = paced(
                client, engine, publisher, objects, workers, paced_seconds
            )
        run.rss_mb = workers.peak_rss_mb()
        return run
    finally:
        workers.stop()
        with suppress(Exception):
            reset_streams(client)
        client.close()
        engine.dispose()
        drop_database(pg_base, database)


def paced(
    client: Any,
    engine: Any,
    publisher: Any,
    objects: Sequence[dict[str, Any]],
    workers: Workers,
    seconds: float,
    rate: float = 1_000.0,
    step: float = 0.05,
) -> tuple[float, list[float]]:
    """Publish ``rate`` posts/s in batches every ``step`` s for ``seconds``: the rate reached
    and the latency of every post."""
    from townhall.posts import parse_post

    per_batch = max(1, round(rate * step))
    total = min(len(objects), round(rate * seconds))
    prefix = "p-"
    posts = [parse_post(raw) for raw in tagged(objects[:total], prefix)]
    say(f"paced: {rate:,.0f} posts/s for {total / rate:.1f} s ({per_batch} every {step:.2f} s)")
    started = time.monotonic()
    for k, start in enumerate(range(0, total, per_batch)):
        delay = started + k * step - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        publisher.publish(posts[start : start + per_batch])
    reached = total / (time.monotonic() - started + step)
    wait_done(client, engine, prefix, total, workers, timeout=120 + total / 100)
    latencies, _last, checked = checked_latencies(client)
    if checked < total:
        raise RuntimeError(f"paced: only {checked:,} of {total:,} posts were radar-checked")
    return reached, latencies


# -------------------------------------------------------------------------------------- main


def ms(seconds: Sequence[float] | None, q: float) -> float | None:
    return percentile(seconds, q) * 1000 if seconds else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--posts", type=int, default=None, help="posts per run (default 20,000)")
    parser.add_argument("--quick", action="store_true", help="a few hundred posts; < 60 s")
    parser.add_argument("--no-broker", action="store_true", help="skip Redis + PostgreSQL")
    parser.add_argument("--paced-seconds", type=float, default=None, help="default 15 (quick 3)")
    args = parser.parse_args()
    n = args.posts or (300 if args.quick else 20_000)
    hose = 20_000 if args.quick else 200_000
    paced_seconds = (
        args.paced_seconds if args.paced_seconds is not None else (3.0 if args.quick else 15.0)
    )
    cores = os.cpu_count() or 1

    from townhall.org.policy import load_policy
    from townhall.posts import parse_post
    from townhall.understand.enrich import Understander
    from townhall.understand.prefilter import KeywordPrefilter
    from townhall.understand.topics import TopicMatcher

    policy = load_policy(POLICY_PATH)
    results = Results()
    say(f"generating {n:,} simulated ACME posts")
    objects = simulated(n)
    lines = tagged(objects, "c-")

    say("ceiling: orjson parse only")
    posts: list[Any] = []

    def parse_all() -> None:
        posts[:] = [parse_post(raw) for raw in lines]

    parse_pps = n / best_of(3, parse_all)
    parse = results.add(Figure("orjson parse only", "parse_ceiling_pps", parse_pps, parse_pps))
    parse.ceiling_label = "itself"

    say("ceiling: enrichment only")
    understander = Understander.from_policy(policy)
    understander.enrich(posts[:50])  # warm up (model loads)
    enrichments: list[Any] = []

    def enrich_all() -> None:
        enrichments[:] = [
            e for s in range(0, n, BATCH) for e in understander.enrich(posts[s : s + BATCH])
        ]

    enrich_pps = n / best_of(2, enrich_all)
    results.add(Figure("enrichment only", "enrich_ceiling_pps", enrich_pps, enrich_pps, "itself"))

    say("ceiling: batched insert only (SQLite)")
    rows = insert_rows(posts, enrichments)
    with tempfile.TemporaryDirectory(prefix="townhall-bench-") as tmp_name:
        tmp = Path(tmp_name)
        insert_pps = insert_ceiling(f"sqlite:///{tmp / 'insert.db'}", rows)
        results.add(
            Figure("batched insert only, SQLite", "insert_ceiling_pps", insert_pps, insert_pps)
        )

        say(f"pre-filter: firehose of {hose:,} texts, 1% about the brand")
        matcher = TopicMatcher.from_policy(policy)
        brand_texts = [o["text"] for o in objects if o.get("text") and matcher.match(o["text"])]
        texts = firehose(hose, brand_texts)
        prefilter = KeywordPrefilter.from_policy(policy)
        kept: list[int] = []

        def prefilter_all() -> None:
            kept[:] = [
                s + i
                for s in range(0, hose, 1_000)
                for i in prefilter.candidates(texts[s : s + 1_000])
            ]

        prefilter_pps = hose / best_of(3, prefilter_all)
        matched: list[int] = []
        matcher_pps = hose / best_of(
            1, lambda: matched.extend(i for i, t in enumerate(texts) if matcher.match(t))
        )
        missed = set(matched) - set(kept)
        if missed:
            raise AssertionError(f"the pre-filter dropped {len(missed)} matching texts")
        results.add(
            Figure(
                "keyword pre-filter alone (1% brand)",
                "prefilter_pps",
                prefilter_pps,
                matcher_pps,
                "TopicMatcher.match",
                note=f"kept {len(kept) / hose:.2%}, matched {len(matched) / hose:.2%}",
            )
        )
        results.extra.update(
            matcher_pps=round(matcher_pps),
            prefilter_kept_share=round(len(kept) / hose, 5),
            prefilter_matched_share=round(len(matched) / hose, 5),
        )

        say(f"end to end: in-process SQLite, {n:,} posts")
        sqlite_pps, sqlite_lat = run_sqlite(lines, policy, understander, tmp)
        results.add(
            Figure(
                "end to end, one process, SQLite",
                "sqlite_pps",
                sqlite_pps,
                serial(parse_pps, enrich_pps, insert_pps),
                "parse+enrich+insert(SQLite), 1 core",
                ms(sqlite_lat, 0.5),
                ms(sqlite_lat, 0.99),
                note="latency: per batch of 500",
            )
        )

        with services(args.quick, not args.no_broker) as urls:
            if urls is not None:
                say("ceiling: batched insert only (PostgreSQL)")
                pg_db = fresh_database(urls[0], f"bench_insert_{uuid.uuid4().hex[:6]}")
                try:
                    pg_insert = insert_ceiling(pg_db, rows)
                finally:
                    drop_database(urls[0], pg_db)
                results.add(
                    Figure(
                        "batched insert only, PostgreSQL",
                        "insert_ceiling_pg_pps",
                        pg_insert,
                        pg_insert,
                        "itself",
                    )
                )
                one_core = serial(parse_pps, enrich_pps, pg_insert)
                worker_rss = 0.0
                for count in (1, 2):
                    run = run_workers(urls, objects, count, tmp, paced_seconds if count == 2 else 0)
                    worker_rss = max(worker_rss, run.rss_mb)
                    results.add(
                        Figure(
                            f"end to end, {count} worker{'s' if count > 1 else ''}, "
                            "Redis + PostgreSQL",
                            f"workers_{count}_pps",
                            run.pps,
                            (one_core or 0) * min(count, cores),
                            f"parse+enrich+insert(PG) × {min(count, cores)} core(s)",
                            ms(run.latencies, 0.5),
                            ms(run.latencies, 0.99),
                            note="all published at once: latency includes the queue",
                        )
                    )
                    if run.paced_latencies is not None and run.paced_rate is not None:
                        results.add(
                            Figure(
                                f"paced {run.paced_rate:,.0f} posts/s, 2 workers",
                                "paced_pps",
                                run.paced_rate,
                                1_000.0,
                                "the rate asked",
                                ms(run.paced_latencies, 0.5),
                                ms(run.paced_latencies, 0.99),
                                note="target p99 < 1 s",
                            )
                        )
                results.extra["worker_peak_rss_mb"] = round(worker_rss)

    report(results, n, hose, args.quick)


def report(results: Results, n: int, hose: int, quick: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = Table(title=f"bench/pipeline.py: {n:,} posts, firehose {hose:,} texts")
    for column in ("figure", "posts/s", "ratio to its ceiling", "ceiling", "p50", "p99", "note"):
        table.add_column(column, justify="right" if column in ("posts/s", "p50", "p99") else "left")
    for f in results.figures:
        table.add_row(
            f.label,
            f"{f.pps:,.0f}" if f.pps is not None else "—",
            f"{f.ratio:.0%}" if f.ratio is not None else "—",
            f.ceiling_label or "itself",
            f"{f.p50_ms:,.0f} ms" if f.p50_ms is not None else "—",
            f"{f.p99_ms:,.0f} ms" if f.p99_ms is not None else "—",
            f.note,
        )
    console = Console(width=190)
    console.print(table)
    console.print(f"peak RSS: this process {rss_mb:,.0f} MB", highlight=False)
    if "worker_peak_rss_mb" in results.extra:
        console.print(f"peak RSS: largest worker {results.extra['worker_peak_rss_mb']:,} MB")
    by_key = {f.key: f for f in results.figures}
    summary: dict[str, Any] = {"posts": n, "firehose_texts": hose, "quick": quick}
    for f in results.figures:
        summary[f.key] = round(f.pps) if f.pps is not None else None
        if f.ratio is not None and f.key not in (
            "parse_ceiling_pps",
            "enrich_ceiling_pps",
            "insert_ceiling_pps",
            "insert_ceiling_pg_pps",
        ):
            summary[f.key.removesuffix("_pps") + "_ratio"] = round(f.ratio, 3)
    sqlite = by_key["sqlite_pps"]
    summary["sqlite_p50_ms"] = round(sqlite.p50_ms or 0, 1)
    summary["sqlite_p99_ms"] = round(sqlite.p99_ms or 0, 1)
    for count in (1, 2):
        run = by_key.get(f"workers_{count}_pps")
        summary[f"workers_{count}_p50_ms"] = round(run.p50_ms or 0, 1) if run else None
        summary[f"workers_{count}_p99_ms"] = round(run.p99_ms or 0, 1) if run else None
    two = by_key.get("workers_2_pps")
    summary["latency_p50_ms"] = summary["workers_2_p50_ms"] if two else summary["sqlite_p50_ms"]
    summary["latency_p99_ms"] = summary["workers_2_p99_ms"] if two else summary["sqlite_p99_ms"]
    paced_figure = by_key.get("paced_pps")
    summary["paced_p50_ms"] = round(paced_figure.p50_ms or 0, 1) if paced_figure else None
    summary["paced_p99_ms"] = round(paced_figure.p99_ms or 0, 1) if paced_figure else None
    for key in ("insert_ceiling_pg_pps", "workers_1_pps", "workers_2_pps", "paced_pps"):
        summary.setdefault(key, None)
    summary.update(results.extra)
    summary["peak_rss_mb"] = round(rss_mb)
    summary["targets"] = {
        "prefilter_100k": summary["prefilter_pps"] >= 100_000,
        "workers_2_6k": (summary["workers_2_pps"] >= 6_000) if two else None,
        "paced_p99_under_1s": (summary["paced_p99_ms"] < 1_000) if paced_figure else None,
    }
    print(orjson.dumps(summary).decode(), flush=True)


if __name__ == "__main__":
    main()
