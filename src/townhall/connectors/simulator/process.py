"""The timing of the day: a self-exciting (Hawkes) process in its cluster representation.

Immigrant posts arrive as an inhomogeneous Poisson process whose rate follows a daily profile
(drawn by thinning). Each post then has a Poisson number of children (reshares, replies) with
mean equal to its branching ratio, at delays drawn from a power-law (Lomax) kernel. All pure:
every function takes a seeded ``random.Random``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

# Relative posting rate for each hour of the day (UTC): quiet at night, peaks late morning
# and evening. Normalised below so the mean over the day is 1.
_HOURLY = (
    0.35, 0.22, 0.15, 0.12, 0.12, 0.18, 0.35, 0.65, 0.95, 1.25, 1.50, 1.60,
    1.50, 1.35, 1.25, 1.20, 1.20, 1.30, 1.50, 1.70, 1.75, 1.50, 1.05, 0.60,
)  # fmt: skip
_MEAN = sum(_HOURLY) / len(_HOURLY)
PROFILE_MAX = max(_HOURLY) / _MEAN

MAX_BRANCHING = 12.0
"""Most direct children one post may expect."""

MAX_DELAY_HOURS = 18.0
"""No reshare or reply comes later than this after its parent (hours)."""


def day_profile(hour_of_day: float) -> float:
    """Relative posting rate at ``hour_of_day`` (0–24, linear between hours; mean 1 over a day)."""
    h = hour_of_day % 24.0
    low = int(h)
    frac = h - low
    value = _HOURLY[low] * (1.0 - frac) + _HOURLY[(low + 1) % 24] * frac
    return value / _MEAN


def thinning(
    rng: random.Random, rate: Callable[[float], float], rate_max: float, hours: float
) -> list[float]:
    """Arrival times (hours) in ``[0, hours)`` of a Poisson process of rate ``rate(t)`` per hour.

    Lewis–Shedler thinning: candidates at the constant rate ``rate_max`` (which must bound
    ``rate``), each kept with probability ``rate(t) / rate_max``.
    """
    times: list[float] = []
    if rate_max <= 0:
        return times
    t = 0.0
    while True:
        t += rng.expovariate(rate_max)
        if t >= hours:
            return times
        if rng.random() * rate_max < rate(t):
            times.append(t)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count with the given mean (Knuth's method; fine for small means)."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def lomax_delay(rng: random.Random, scale_hours: float, alpha: float) -> float:
    """A power-law (Lomax/Pareto II) delay in hours: median ≈ scale·(2^(1/α) − 1), heavy tail."""
    survival: float = (1.0 - rng.random()) ** (-1.0 / alpha)
    return min(MAX_DELAY_HOURS, scale_hours * (survival - 1.0))


def branching_ratio(followers: int, sentiment: str, channel: str, *, boost: float = 1.0) -> float:
    """Expected direct reshares+replies of one post: ``0.09·followers^0.3``, bad news travels more.

    Big accounts are supercritical on their own (84k followers → ~4), but the population's
    average is ~0.5, so cascades die out; ``boost`` (a running story) raises it. Capped at 12.
    """
    reach = 0.09 * max(followers, 1) ** 0.3
    mood = {"negative": 1.35, "positive": 1.0}.get(sentiment, 0.8)
    medium = {"mastodon": 0.9, "bluesky": 1.0, "forum": 0.8, "rss": 0.9}.get(channel, 1.0)
    ratio: float = reach * mood * medium * boost
    return min(MAX_BRANCHING, ratio)


def children_delays(
    rng: random.Random, mean_children: float, scale_hours: float, alpha: float, limit: int
) -> list[float]:
    """Delays (hours, ≥ 5 s) of the direct children of one post: Poisson count, Lomax kernel."""
    count = min(limit, poisson(rng, mean_children))
    return sorted(max(5 / 3600, lomax_delay(rng, scale_hours, alpha)) for _ in range(count))
