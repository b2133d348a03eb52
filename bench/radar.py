"""Crisis radar figures: forecast error and calibration, bursts vs mean + 3σ, alert latency.

Run: `.venv/bin/python bench/radar.py` (≈ 1–2 min on one core). Prints figures, asserts nothing.
Forecasts are fitted on simulated cascades of seed 2015 and evaluated on seed 7001 (disjoint);
see docs/radar.md for the generative model. Bursts are evaluated on stream seeds 0–19; the
detector's defaults were tuned on seeds 100–119 and nothing is tuned here. The whole radar on
simulated multi-day crisis streams (alerts per crisis, repeats, false alarms) is
`bench/radar_streams.py`.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import itertools
import random
import time
from datetime import UTC, datetime

import numpy as np

from townhall.connectors.simulator import generate_day
from townhall.org.loader import load_policy
from townhall.posts import Post
from townhall.radar.bursts import BurstDetector, BurstSettings, NaiveDetector, prior_season
from townhall.radar.cascades import simulate_cascades
from townhall.radar.forecast import (
    TRAIN_CASCADES,
    TRAIN_SEED,
    fit_forecaster,
    fit_seismic_n_star,
    seismic_plain,
)
from townhall.radar.replay import Radar
from townhall.understand.enrich import Understander

TEST_SEED, TEST_CASCADES, THRESHOLD = 7001, 8000, 50
HOUR = 3600.0


def forecasts() -> None:
    train = simulate_cascades(TRAIN_CASCADES, TRAIN_SEED)
    test = simulate_cascades(TEST_CASCADES, TEST_SEED)
    model = fit_forecaster(train)
    print(
        f"## Spread forecast (train: {len(train):,} cascades seed {TRAIN_SEED}; "
        f"test: {len(test):,} seed {TEST_SEED})"
    )
    print(f"prior Gamma(shape {model.prior_shape:.2f}, rate {model.prior_rate:.0f}); "
          f"n* {model.n_star:.0f}; aging τ {model.kernel.aging / 3600:.1f} h")  # fmt: skip
    print(f"{'observed':<9} {'cascades':<22} {'n':>5} {'Townhall':>9} {'SEISMIC':>9} {'seen':>7}")
    for age, label in ((600, "10 min"), (3600, "1 h")):
        n_star = fit_seismic_n_star(train, age)
        for name, chosen in (
            ("final ≥ 50", [c for c in test if c.final_size >= 50]),
            ("≥ 5 reshares seen", [c for c in test if len(c.observed(age).reshares) >= 5]),
        ):
            final = np.array([c.final_size for c in chosen], dtype=float)
            ours = np.array([model.forecast(c.observed(age), THRESHOLD).predicted_final
                             for c in chosen])  # fmt: skip
            plain = np.array([seismic_plain(c.observed(age), n_star) for c in chosen])
            seen = np.array([len(c.observed(age).reshares) for c in chosen], dtype=float)

            def mape(pred: np.ndarray, final: np.ndarray = final) -> str:
                return f"{np.median(np.abs(pred - final) / final):.1%}"

            print(f"{label:<9} {name:<22} {len(chosen):>5} {mape(ours):>9} {mape(plain):>9} "
                  f"{mape(seen):>7}   (SEISMIC n* = {n_star:.0f})")  # fmt: skip
    print("(median absolute percentage error; 'seen' = the count so far, as a floor)")
    for age, label in ((600, "10 min"), (3600, "1 h")):
        rows = [
            (model.forecast(c.observed(age), THRESHOLD), c.final_size > THRESHOLD)
            for c in test
            if c.observed(age).reshares
        ]
        p = np.array([f.p_viral for f, _ in rows])
        y = np.array([v for _, v in rows], dtype=float)
        finals = [c.final_size for c in test if c.observed(age).reshares]
        inside = np.mean(
            [f.interval[0] <= n <= f.interval[1] for (f, _), n in zip(rows, finals, strict=True)]
        )
        base = np.mean((y.mean() - y) ** 2)
        print(f"\np_viral (final > {THRESHOLD}) after {label}, {len(rows):,} cascades with ≥ 1 "
              f"reshare: Brier {np.mean((p - y) ** 2):.4f} (base rate alone {base:.4f}); "
              f"80% interval covers {inside:.1%}")  # fmt: skip
        print(f"  {'p_viral':<11} {'n':>6} {'mean p':>8} {'observed':>9}")
        edges = [0, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0001]
        for lo, hi in itertools.pairwise(edges):
            sel = (p >= lo) & (p < hi)
            if sel.any():
                print(f"  {lo:.2f}–{min(hi, 1):.2f}  {sel.sum():>6} {p[sel].mean():>8.3f} "
                      f"{y[sel].mean():>9.3f}")  # fmt: skip


def _stream(seed: int, days: int) -> tuple[list[tuple[float, str, bool]], list[tuple[str, float]]]:
    """Posts (time, topic, negative) for three topics over ``days`` with a daily profile, 5%
    negative; day 3 a negative surge on A, day 4 a positive campaign on B, day 5 a handful of
    complaints on C, day 6 a slower surge on C. Returns posts and the (topic, start) of surges."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 16, tzinfo=UTC).timestamp()  # a Monday
    posts: list[tuple[float, str, bool]] = []
    for topic, rate in (("A", 40.0), ("B", 80.0), ("C", 20.0)):
        for h in range(24 * days):
            mean = rate * prior_season(h % 168) * rng.uniform(0.8, 1.2)
            for _ in range(np.random.default_rng(rng.randrange(1 << 30)).poisson(mean)):
                posts.append((start + (h + rng.random()) * HOUR, topic, rng.random() < 0.05))
    surges = [("A", start + (2 * 24 + 14) * HOUR), ("C", start + (5 * 24 + 10) * HOUR)]
    for topic, at, rates in (
        ("A", surges[0][1], (6, 12, 24, 48)),
        ("C", surges[1][1], (3, 6, 12, 24)),
    ):
        for h, r in enumerate(rates):
            posts += [(at + (h + rng.random()) * HOUR, topic, True) for _ in range(r)]
    campaign = start + (3 * 24 + 15) * HOUR
    posts += [(campaign + rng.random() * HOUR, "B", rng.random() < 0.05) for _ in range(800)]
    handful = start + (4 * 24 + 11) * HOUR
    posts += [(handful + 120 * k, "C", True) for k in range(4)]
    posts.sort()
    return posts, surges


def _episodes(found: list[tuple[str, float]], warm: float) -> list[tuple[str, float]]:
    """One alarm per episode: a topic's alarms less than an hour apart are one."""
    episodes: list[tuple[str, float]] = []
    last: dict[str, float] = {}
    for topic, at in found:
        if at < warm:
            continue
        if at - last.get(topic, -1e18) > HOUR:
            episodes.append((topic, at))
        last[topic] = at
    return episodes


BURST_SEEDS = range(20)
"""Evaluation seeds of the burst streams; BurstSettings' defaults were tuned on seeds 100–119."""
THRESHOLDS = (3.0, 4.0, 5.0, 6.0, 7.0)
"""CUSUM thresholds (nats) of the sensitivity curve; BurstSettings' default is 6."""
SIGMAS = (3.0, 4.0, 5.0, 6.0)
"""The mean + kσ rule's curve, for comparison at equal false-alarm rates."""


def bursts(seeds: range = BURST_SEEDS, days: int = 7) -> None:
    default = BurstSettings().cusum_threshold
    print(f"\n## Bursts on simulated streams, seeds {seeds.start}–{seeds.stop - 1} ({days} days, "
          "3 topics; surges on days 3 and 6, a positive campaign on day 4, a handful of "
          "complaints on day 5; day 1 is warm-up). Nothing is tuned here: BurstSettings' "
          "defaults were tuned on seeds 100–119.")  # fmt: skip
    names = [f"cusum {h:g}" for h in THRESHOLDS] + [f"naive {k:g}" for k in SIGMAS]
    delays: dict[str, dict[str, list[float]]] = {n: {"A": [], "C": []} for n in names}
    false = dict.fromkeys(names, 0)
    missed = dict.fromkeys(names, 0)
    for seed in seeds:
        posts, surges = _stream(seed, days)
        warm = posts[0][0] + 24 * HOUR
        ours = {f"cusum {h:g}": BurstDetector(BurstSettings(cusum_threshold=h)) for h in THRESHOLDS}
        naive = {f"naive {k:g}": NaiveDetector(sigmas=k) for k in SIGMAS}
        hits: dict[str, list[tuple[str, float]]] = {n: [] for n in names}
        for n, (at, topic, negative) in enumerate(posts):
            for name, detector in ours.items():
                hits[name] += [(b.topic, b.at) for b in detector.advance(at)]
                detector.add(at, [topic], negative, str(n))
            for name, rule in naive.items():
                hits[name] += rule.advance(at)
                rule.add(at, [topic], negative)
        for name, found in hits.items():
            episodes = _episodes(found, warm)
            for topic, at in surges:
                inside = [a for t, a in episodes if t == topic and at <= a <= at + 4 * HOUR]
                if inside:
                    delays[name][topic].append((min(inside) - at) / 60)
                else:
                    missed[name] += 1
            false[name] += sum(
                1 for t, a in episodes
                if not any(t == st and sa <= a <= sa + 6 * HOUR for st, sa in surges)
            )  # fmt: skip
    total_days = len(seeds) * (days - 1)
    print("Sensitivity curve (detection delay in minutes; false alarms per day):")
    print(f"  {'detector':<32} {'median':>6} {'A':>5} {'C':>5} {'max':>5} {'missed':>7} "
          f"{'false/day':>9}")  # fmt: skip
    for name in names:
        both = delays[name]["A"] + delays[name]["C"]

        def med(xs: list[float]) -> str:
            return f"{np.median(xs):.0f}" if xs else "–"

        kind, value = name.split()
        if kind == "naive":
            label = f"mean + {value}σ (60 min)"
        else:
            label = f"Townhall, threshold {value}" + (
                " (default)" if float(value) == default else ""
            )
        worst = max(both, default=float("nan"))
        print(f"  {label:<32} {med(both):>6} {med(delays[name]['A']):>5} "
              f"{med(delays[name]['C']):>5} {worst:>5.0f} {missed[name]:>3}/{2 * len(seeds):<3} "
              f"{false[name] / total_days:>9.2f}")  # fmt: skip


def latency(n_posts: int = 30_000, rate: float = 1_000.0, batch: int = 100) -> None:
    print(f"\n## Alert latency through Radar.observe: {n_posts:,} simulated ACME posts arriving at "
          f"{rate:,.0f} posts/s, batches of {batch}")  # fmt: skip
    posts: list[Post] = []
    seed = 1
    while len(posts) < n_posts:
        posts += generate_day(seed=seed, start=datetime(2026, 11, 16 + seed, tzinfo=UTC))
        seed += 1
    posts = posts[:n_posts]
    policy = load_policy(__import__("pathlib").Path("examples/acme/policy.yaml"))
    enriched = Understander.from_policy(policy).enrich(posts)
    radar = Radar(policy)
    pairs = list(zip(posts, enriched, strict=True))
    latencies, alert_latencies, free = [], [], 0.0
    busy = 0.0
    for k in range(0, len(pairs), batch):
        chunk = pairs[k : k + batch]
        arrivals = [(k + i) / rate for i in range(len(chunk))]
        begin = max(arrivals[-1], free)  # a batch is handed over when its last post arrived
        started = time.perf_counter()
        alerts = radar.observe(chunk)
        spent = time.perf_counter() - started
        busy += spent
        free = begin + spent
        latencies += [free - a for a in arrivals]
        ids = {pid for alert in alerts for pid in alert.post_ids[-1:]}
        alert_latencies += [
            free - a for (p, _), a in zip(chunk, arrivals, strict=True) if p.id in ids
        ]
    lat = np.array(latencies) * 1000
    al = np.array(alert_latencies) * 1000 if alert_latencies else np.array([np.nan])
    p50, p99 = np.percentile(lat, [50, 99])
    a50, a99 = np.nanpercentile(al, [50, 99])
    print(f"post → processed: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"post → alert ({len(alert_latencies)} alerts): p50 {a50:.1f} ms, p99 {a99:.1f} ms")
    print(f"radar CPU {n_posts / busy:,.0f} posts/s")


def tracker_cost() -> None:
    model = fit_forecaster(simulate_cascades(TRAIN_CASCADES, TRAIN_SEED))
    test = simulate_cascades(2000, TEST_SEED)
    count, spent = 0, 0.0
    for c in test:
        tracker = model.tracker(c.cascade.author_followers, THRESHOLD)
        started = time.perf_counter()
        for r in c.cascade.reshares:
            tracker.add_reshare(r.at, r.followers)
        spent += time.perf_counter() - started
        count += len(c.cascade.reshares)
    print(f"\n## Forecast cost: {spent / count * 1e6:.1f} µs per reshare "
          f"(CascadeTracker.add_reshare → Forecast, {count:,} reshares)")  # fmt: skip


def main() -> None:
    started = time.perf_counter()
    forecasts()
    bursts()
    latency()
    tracker_cost()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
