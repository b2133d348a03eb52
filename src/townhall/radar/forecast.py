"""Spread forecast: how many reshares a post will end with, from its reshares so far.

Two estimators over the same self-exciting point process (times in seconds, counts in reshares):

* ``seismic_plain`` — SEISMIC (Zhao et al., KDD 2015) as published: infectiousness
  ``p̂ = R_t / Σᵢ nᵢ Φ(t − tᵢ)`` over the original post and the ``R_t`` reshares so far (``nᵢ``
  followers, ``Φ`` the memory kernel's CDF), and the final size
  ``R_t + p̂ Σᵢ nᵢ (1 − Φ(t − tᵢ)) / (1 − p̂ n*)`` (infinite when ``p̂ n* ≥ 1``), with ``n*`` the
  effective mean followers of future resharers, tuned on training cascades (the "n* adjustment").
* ``ForecastModel`` — Townhall's forecaster: (1) content aging, ``p(t) = p0 · exp(−t/τ)``;
  (2) an empirical-Bayes Gamma(a, b) prior on ``p0`` shared across cascades, so the estimate is
  ``(a + R_t) / (b + exposure)`` and sane after 2–3 reshares; (3) a calibration fitted on
  simulated *training* cascades: a log-scale regression per observation age and the quantiles
  of its residuals per (age, reshares seen), giving the median forecast, an 80% interval and
  ``p_viral = P(final > threshold)``. ``CascadeTracker`` updates it in O(K) per reshare (K = 14
  exponentials approximating the aged power-law kernel).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.optimize import minimize, nnls
from scipy.special import gammaln

from townhall.radar.cascades import (
    C0,
    S0,
    THETA,
    Cascade,
    SimulatedCascade,
    memory_cdf,
    simulate_cascades,
)

Array = np.ndarray[Any, np.dtype[np.float64]]

TRAIN_SEED = 2015
"""Seed of the simulated training cascades (the bench evaluates on other seeds)."""
TRAIN_CASCADES = 4_000
"""How many simulated cascades ``default_forecaster`` is fitted on."""
DEFAULT_AGING = 3 * 3600.0
"""Population content-aging time τ in seconds; ``fit_aging`` re-checks it in the bench."""
TRAIN_AGES: tuple[float, ...] = (
    60,
    180,
    300,
    600,
    900,
    1800,
    2700,
    3600,
    5400,
    7200,
    14400,
    28800,
    57600,
    86400,
    172800,
)
"""Observation ages (seconds) the calibration is fitted at; a forecast uses the nearest."""
COUNT_EDGES: tuple[int, ...] = (1, 3, 10, 30, 100)
"""Reshares-seen buckets of the residual tables: 0, 1–2, 3–9, 10–29, 30–99, 100+."""
LEVELS = np.linspace(0.01, 0.99, 99)
"""Quantile levels stored per calibration cell."""
MAX_BRANCHING = 0.95
"""Cap on the mean offspring of a future reshare (a supercritical estimate is not a forecast)."""


@dataclass(frozen=True)
class Forecast:
    """A spread forecast: reshares seen, predicted final, interval, P(final > threshold)."""

    observed: int
    predicted_final: float
    interval: tuple[float, float]
    p_viral: float
    infectiousness: float

    def to_json(self, ident: str) -> dict[str, Any]:
        """The Cascade JSONL output object of DESIGN.md (counts rounded to whole reshares)."""
        lo, hi = self.interval
        return {
            "id": ident,
            "predicted_final": round(self.predicted_final),
            "interval": [math.floor(lo), math.ceil(hi)],
            "p_viral": round(self.p_viral, 4),
        }


# -- plain SEISMIC --------------------------------------------------------------------------------
def _arrays(cascade: Cascade, now: float) -> tuple[Array, Array]:
    seen = [r for r in cascade.reshares if r.at <= now]
    times = np.array([0.0] + [r.at for r in seen])
    followers = np.array([float(cascade.author_followers)] + [float(r.followers) for r in seen])
    return times, followers


def seismic_plain(cascade: Cascade, n_star: float = 100.0, now: float | None = None) -> float:
    """SEISMIC's predicted final reshares at ``now`` s (default ``observed_for``); may be inf."""
    t = cascade.observed_for if now is None else now
    times, followers = _arrays(cascade, t)
    seen = times.size - 1
    cdf = memory_cdf(t - times)
    exposure = float(followers @ cdf)
    if seen == 0 or exposure <= 0:
        return float(seen)
    p = seen / exposure
    if p * n_star >= 1.0:
        return math.inf
    return seen + p * float(followers @ (1.0 - cdf)) / (1.0 - p * n_star)


def fit_seismic_n_star(
    cascades: Sequence[SimulatedCascade], age: float, min_final: int = 50
) -> float:
    """The ``n*`` minimising SEISMIC's median absolute percentage error at ``age`` seconds.

    Tuned on training cascades that end with at least ``min_final`` reshares.
    """
    chosen = [c for c in cascades if c.final_size >= min_final]
    if not chosen:
        return 100.0
    finals = np.array([c.final_size for c in chosen], dtype=float)
    best, best_err = 100.0, math.inf
    for n_star in np.geomspace(5.0, 5_000.0, 41):
        preds = np.array([seismic_plain(c.cascade, float(n_star), age) for c in chosen])
        err = float(np.median(np.abs(preds - finals) / finals))
        if err < best_err:
            best, best_err = float(n_star), err
    return best


# -- the aged kernel ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgedKernel:
    """``∫ₓ^∞ e^(−s/τ) φ(s) ds`` (aged reshare mass still to come ``x`` s after a node), as
    ``Σ_k w_k e^(−x/β_k)``; ``total`` is its value at 0."""

    aging: float
    total: float
    weights: tuple[float, ...]
    scales: tuple[float, ...]

    @classmethod
    def fit(cls, aging: float) -> AgedKernel:
        """Fit non-negative weights on 14 log-spaced time scales (20 s to 3τ)."""
        grid = np.concatenate([[0.0], np.geomspace(1.0, 40 * aging, 3000)])
        density = np.where(grid <= S0, C0, C0 * np.power(np.maximum(grid, S0) / S0, -(1 + THETA)))
        density = density * np.exp(-grid / aging)
        steps = np.diff(grid) * (density[1:] + density[:-1]) / 2
        remaining = np.concatenate([np.cumsum(steps[::-1])[::-1], [0.0]])
        scales = np.geomspace(20.0, 3 * aging, 14)
        design = np.exp(-grid[:, None] / scales[None, :])
        # weight the fit evenly over log-time so the early minutes are not drowned out
        rows = np.unique(np.searchsorted(grid, np.geomspace(1.0, 40 * aging, 400)))
        rows = np.concatenate([[0], rows])
        weights, _ = nnls(design[rows], remaining[rows])
        return cls(
            aging, float(remaining[0]), tuple(map(float, weights)), tuple(map(float, scales))
        )

    def remaining(self, x: Array) -> Array:
        """Aged mass still to come ``x`` seconds after a node (``x`` ≥ 0, array)."""
        return np.asarray(
            np.exp(-np.asarray(x)[..., None] / np.array(self.scales)) @ np.array(self.weights),
            dtype=np.float64,
        )


# -- calibration ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """Per training age: regression coefficients on ``[1, log1p(raw), log1p(seen)]`` for
    ``log1p(final)``, and residual quantiles per reshares-seen bucket (``LEVELS``)."""

    coefficients: Array  # ages × 3
    residuals: Array  # ages × count buckets × levels

    def age_index(self, age: float) -> int:
        """Index of the training age nearest to ``age`` seconds on a log scale."""
        logs = np.log(np.array(TRAIN_AGES))
        return int(np.argmin(np.abs(logs - math.log(max(age, 1.0)))))


def _count_bucket(seen: int) -> int:
    return int(np.searchsorted(np.array(COUNT_EDGES), seen, side="right"))


@dataclass(frozen=True)
class ForecastModel:
    """Townhall's forecaster: aged kernel, Gamma(shape, rate) prior on ``p0``, calibration."""

    kernel: AgedKernel
    prior_shape: float
    prior_rate: float
    n_star: float
    calibration: Calibration
    interval_level: float = 0.8

    def raw(self, seen: int, exposure: float, to_come: float, age: float) -> tuple[float, float]:
        """Uncalibrated expected final reshares and the posterior infectiousness (per follower)."""
        p = (self.prior_shape + seen) / (self.prior_rate + max(exposure, 0.0))
        branching = min(
            p * self.n_star * self.kernel.total * math.exp(-age / self.kernel.aging), MAX_BRANCHING
        )
        return seen + p * max(to_come, 0.0) / (1.0 - branching), p

    def calibrated(self, seen: int, raw: float, age: float, p: float, threshold: float) -> Forecast:
        """The calibrated forecast from the raw estimate at ``age`` seconds."""
        cal = self.calibration
        a = cal.age_index(age)
        mean = float(cal.coefficients[a] @ np.array([1.0, math.log1p(raw), math.log1p(seen)]))
        q = cal.residuals[a, _count_bucket(seen)]
        tail = (1.0 - self.interval_level) / 2
        lo_r, mid_r, hi_r = np.interp([tail, 0.5, 1.0 - tail], LEVELS, q)
        point = max(math.expm1(mean + mid_r), float(seen))
        lo = min(max(math.expm1(mean + lo_r), float(seen)), point)
        hi = max(math.expm1(mean + hi_r), point)
        if threshold < seen:
            p_viral = 1.0
        else:
            below = float(
                np.interp(math.log1p(threshold) - mean, q, LEVELS, left=0.005, right=0.995)
            )
            p_viral = 1.0 - below
        return Forecast(seen, point, (lo, hi), p_viral, p)

    def forecast(self, cascade: Cascade, viral_threshold: float) -> Forecast:
        """Forecast a cascade as seen at its ``observed_for`` seconds."""
        times, followers = _arrays(cascade, cascade.observed_for)
        exposure, to_come = _exposure(
            self.kernel, times, followers, np.array([cascade.observed_for])
        )
        raw, p = self.raw(
            times.size - 1, float(exposure[0]), float(to_come[0]), cascade.observed_for
        )
        return self.calibrated(times.size - 1, raw, cascade.observed_for, p, viral_threshold)

    def tracker(self, author_followers: int, viral_threshold: float) -> CascadeTracker:
        """An incremental forecaster for one post (the original post counts as node 0)."""
        return CascadeTracker(self, author_followers, viral_threshold)


def _exposure(
    kernel: AgedKernel, times: Array, followers: Array, ages: Array
) -> tuple[Array, Array]:
    """Per age: aged exposure so far and aged reshare mass still to come (follower-weighted)."""
    weight = followers * np.exp(-times / kernel.aging)
    lag = ages[:, None] - times[None, :]
    seen = lag >= 0
    rem = kernel.remaining(np.maximum(lag, 0.0))
    to_come = (rem * seen) @ weight
    exposure = (kernel.total - rem) * seen @ weight
    return exposure, to_come


class CascadeTracker:
    """Incremental forecast of one post; O(K) per reshare and per forecast (K = 14)."""

    __slots__ = ("_decay", "_last", "_model", "_sums", "_total", "_weights", "seen", "threshold")

    def __init__(self, model: ForecastModel, author_followers: int, viral_threshold: float) -> None:
        self._model = model
        self._weights = np.array(model.kernel.weights)
        self._decay = 1.0 / np.array(model.kernel.scales)
        self._sums = np.full(len(model.kernel.scales), float(author_followers))
        self._last = 0.0
        self.seen = 0
        self.threshold = viral_threshold
        self._total = float(author_followers)

    def add_reshare(self, at: float, followers: int) -> Forecast:
        """Record a reshare ``at`` seconds after the post (late arrivals count as now)."""
        at = max(at, self._last)
        self._sums *= np.exp(-(at - self._last) * self._decay)
        mark = followers * math.exp(-at / self._model.kernel.aging)
        self._sums += mark
        self._total += mark
        self._last = at
        self.seen += 1
        return self.at(at)

    def at(self, now: float) -> Forecast:
        """The forecast ``now`` seconds after the post (no earlier than the last reshare)."""
        now = max(now, self._last)
        to_come = float(self._weights @ (self._sums * np.exp(-(now - self._last) * self._decay)))
        exposure = self._model.kernel.total * self._total - to_come
        raw, p = self._model.raw(self.seen, exposure, to_come, now)
        return self._model.calibrated(self.seen, raw, now, p, self.threshold)


# -- fitting --------------------------------------------------------------------------------------
def _prior(kernel: AgedKernel, cascades: Sequence[SimulatedCascade]) -> tuple[float, float]:
    """Gamma(shape, rate) prior on p0: maximum marginal (negative binomial) likelihood of the
    training cascades' reshare counts given their aged exposures."""
    counts, exposures = [], []
    for c in cascades:
        times, followers = _arrays(c.cascade, c.cascade.observed_for)
        exposure, _ = _exposure(kernel, times, followers, np.array([c.cascade.observed_for]))
        counts.append(c.final_size)
        exposures.append(max(float(exposure[0]), 1e-9))
    k, e = np.array(counts, dtype=float), np.array(exposures)

    def loss(params: Array) -> float:
        a, b = np.exp(params)
        ll = gammaln(a + k) - gammaln(a) + a * np.log(b / (b + e)) + k * np.log(e / (b + e))
        return -float(ll.sum())

    start = np.log([1.0, float(e.mean() / max(k.mean(), 1e-9))])
    found = minimize(loss, start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-6})
    shape, rate = np.exp(found.x)
    return float(shape), float(rate)


def _mean_reshare_followers(cascades: Sequence[SimulatedCascade]) -> float:
    total = sum(r.followers for c in cascades for r in c.cascade.reshares)
    count = sum(len(c.cascade.reshares) for c in cascades)
    return total / count if count else 100.0


def training_rows(
    model: ForecastModel, cascades: Sequence[SimulatedCascade]
) -> tuple[Array, Array, Array, Array]:
    """Per (cascade, training age): raw forecast, reshares seen, final size, age index."""
    raws, seens, finals, ages = [], [], [], []
    age_arr = np.array(TRAIN_AGES)
    for c in cascades:
        times, followers = _arrays(c.cascade, c.cascade.observed_for)
        exposure, to_come = _exposure(model.kernel, times, followers, age_arr)
        counts = np.searchsorted(times[1:], age_arr, side="right")
        for a, age in enumerate(TRAIN_AGES):
            raw, _ = model.raw(int(counts[a]), float(exposure[a]), float(to_come[a]), age)
            raws.append(raw)
            seens.append(counts[a])
            finals.append(c.final_size)
            ages.append(a)
    return np.array(raws), np.array(seens, float), np.array(finals, float), np.array(ages)


def fit_calibration(model: ForecastModel, cascades: Sequence[SimulatedCascade]) -> Calibration:
    """Fit the per-age regression and residual quantile tables on training cascades."""
    raw, seen, final, age = training_rows(model, cascades)
    x = np.column_stack([np.ones_like(raw), np.log1p(raw), np.log1p(seen)])
    y = np.log1p(final)
    buckets = np.searchsorted(np.array(COUNT_EDGES), seen, side="right")
    coefficients = np.zeros((len(TRAIN_AGES), 3))
    residuals = np.zeros((len(TRAIN_AGES), len(COUNT_EDGES) + 1, LEVELS.size))
    for a in range(len(TRAIN_AGES)):
        rows = age == a
        # the regression is fitted where there is signal (≥ 1 reshare seen); the residual
        # tables of the 0-reshares bucket absorb its bias there
        fit_rows = rows & (seen >= 1) if np.count_nonzero(rows & (seen >= 1)) >= 20 else rows
        coef, *_ = np.linalg.lstsq(x[fit_rows], y[fit_rows], rcond=None)
        coefficients[a] = coef
        r = y[rows] - x[rows] @ coef
        pooled = np.quantile(r, LEVELS)
        for b in range(len(COUNT_EDGES) + 1):
            cell = r[buckets[rows] == b]
            # sparse cells borrow the age's pooled residuals; the more data the more their own
            own = np.quantile(cell, LEVELS) if cell.size else pooled
            share = cell.size / (cell.size + 40.0)
            residuals[a, b] = share * own + (1 - share) * pooled
    return Calibration(coefficients, residuals)


def fit_forecaster(
    cascades: Sequence[SimulatedCascade], aging: float = DEFAULT_AGING
) -> ForecastModel:
    """Fit the prior, ``n*`` and the calibration on simulated training cascades."""
    kernel = AgedKernel.fit(aging)
    shape, rate = _prior(kernel, cascades)
    empty = Calibration(np.zeros((len(TRAIN_AGES), 3)), np.zeros((1, 1, LEVELS.size)))
    model = ForecastModel(kernel, shape, rate, _mean_reshare_followers(cascades), empty)
    return ForecastModel(kernel, shape, rate, model.n_star, fit_calibration(model, cascades))


def fit_aging(
    train: Sequence[SimulatedCascade],
    held_out: Sequence[SimulatedCascade],
    candidates: Sequence[float] = (3600.0, 2 * 3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0),
) -> float:
    """The aging time τ (seconds) whose fitted model has the lowest mean absolute log error
    on ``held_out`` cascades over the training ages."""
    best, best_err = candidates[0], math.inf
    for aging in candidates:
        model = fit_forecaster(train, aging)
        raw, seen, final, age = training_rows(model, held_out)
        coef = model.calibration.coefficients[age]
        pred = np.sum(coef * np.column_stack([np.ones_like(raw), np.log1p(raw), np.log1p(seen)]), 1)
        err = float(np.mean(np.abs(pred - np.log1p(final))))
        if err < best_err:
            best, best_err = aging, err
    return best


@lru_cache(maxsize=1)
def default_forecaster() -> ForecastModel:
    """The forecaster fitted on ``TRAIN_CASCADES`` simulated cascades of seed ``TRAIN_SEED``."""
    return fit_forecaster(simulate_cascades(TRAIN_CASCADES, TRAIN_SEED))
