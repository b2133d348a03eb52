"""Spread forecasts: plain SEISMIC, the calibrated forecaster and its incremental tracker."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.radar.cascades import Cascade, Reshare, simulate_cascades
from townhall.radar.forecast import ForecastModel, fit_forecaster, seismic_plain


@pytest.fixture(scope="module")
def model() -> ForecastModel:
    return fit_forecaster(simulate_cascades(1500, seed=101))


def test_plain_seismic_follows_the_paper_equations():
    c = Cascade("x", 100, (Reshare(100.0, 50),), 600.0)
    cdf = {500.0: 1 - (600 / 300) ** -0.242 / 1.242, 600.0: 1 - (500 / 300) ** -0.242 / 1.242}
    exposure = 100 * cdf[500.0] + 50 * cdf[600.0]
    p = 1 / exposure
    remaining = 100 * (1 - cdf[500.0]) + 50 * (1 - cdf[600.0])
    assert seismic_plain(c, n_star=10) == pytest.approx(1 + p * remaining / (1 - 10 * p))
    assert seismic_plain(c, n_star=1e6) == math.inf  # supercritical
    assert seismic_plain(Cascade("y", 100, (), 600.0)) == 0.0


def test_tracker_matches_the_batch_forecast(model: ForecastModel):
    sim = next(s for s in simulate_cascades(200, seed=5) if s.final_size >= 20)
    tracker = model.tracker(sim.cascade.author_followers, 50)
    seen = sim.observed(3600)
    for r in seen.reshares:
        tracker.add_reshare(r.at, r.followers)
    inc, batch = tracker.at(3600), model.forecast(seen, 50)
    assert inc.observed == batch.observed == len(seen.reshares)
    assert inc.predicted_final == pytest.approx(batch.predicted_final, rel=1e-6)
    assert inc.p_viral == pytest.approx(batch.p_viral, abs=1e-6)


def test_the_prior_keeps_early_estimates_sane(model: ForecastModel):
    # two quick reshares of a small account: plain SEISMIC has only 2 points to go on
    c = Cascade("x", 300, (Reshare(30.0, 200), Reshare(60.0, 150)), 120.0)
    f = model.forecast(c, 1000)
    assert 2 <= f.predicted_final < 200
    assert f.p_viral < 0.2


def test_more_reshares_sooner_means_a_bigger_forecast(model: ForecastModel):
    slow = Cascade("s", 500, tuple(Reshare(600.0 * k, 100) for k in range(1, 4)), 3600.0)
    fast = Cascade("f", 500, tuple(Reshare(60.0 * k, 100) for k in range(1, 31)), 3600.0)
    a, b = model.forecast(slow, 100), model.forecast(fast, 100)
    assert b.predicted_final > a.predicted_final
    assert b.p_viral > a.p_viral


def test_p_viral_is_one_once_the_threshold_is_passed(model: ForecastModel):
    c = Cascade("x", 10, tuple(Reshare(float(k), 1) for k in range(12)), 100.0)
    assert model.forecast(c, 10).p_viral == 1.0


reshares = st.lists(st.tuples(st.floats(0, 86_400), st.integers(0, 1_000_000)), max_size=60).map(
    lambda xs: tuple(sorted((Reshare(t, n) for t, n in xs), key=lambda r: r.at))
)


@settings(max_examples=60, deadline=None)
@given(
    author=st.integers(0, 5_000_000),
    seen=reshares,
    extra=st.floats(0, 86_400),
    thresholds=st.lists(st.integers(0, 10_000), min_size=2, max_size=5),
)
def test_forecast_properties(model, author, seen, extra, thresholds):
    age = (seen[-1].at if seen else 0.0) + extra
    c = Cascade("h", author, seen, age)
    forecasts = [model.forecast(c, t) for t in sorted(thresholds)]
    f = forecasts[0]
    lo, hi = f.interval
    assert f.predicted_final >= len(seen)
    assert len(seen) <= lo <= f.predicted_final <= hi
    assert all(0.0 <= x.p_viral <= 1.0 for x in forecasts)
    probs = [x.p_viral for x in forecasts]
    assert probs == sorted(probs, reverse=True)  # monotone in the threshold
    assert all(np.isfinite([x.predicted_final, *x.interval]).all() for x in forecasts)


def test_forecast_json_rounds_counts(model: ForecastModel):
    out = model.forecast(Cascade("c9", 100, (Reshare(10.0, 10),), 60.0), 100).to_json("c9")
    assert set(out) == {"id", "predicted_final", "interval", "p_viral"}
    assert out["id"] == "c9" and isinstance(out["predicted_final"], int)
    assert out["interval"][0] <= out["predicted_final"] <= out["interval"][1]
