"""Cascade JSONL parsing and the generative model."""

from __future__ import annotations

import numpy as np
import pytest

from townhall.radar.cascades import (
    Cascade,
    CascadeFormatError,
    Reshare,
    memory_cdf,
    memory_quantile,
    parse_cascade,
    simulate_cascades,
)


def test_parse_sorts_reshares_and_cuts_at_observed_for():
    line = (
        b'{"id": "c1", "author_followers": 1200, "observed_for": 600, "reshares": '
        b'[{"at": 300, "followers": 5}, {"at": 12.5, "followers": 40},'
        b' {"at": 900, "followers": 1}]}'
    )
    assert parse_cascade(line) == Cascade("c1", 1200, (Reshare(12.5, 40), Reshare(300.0, 5)), 600.0)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{nope", "not valid JSON"),
        (b"[1]", "expected a JSON object, got list"),
        (b'{"id": "x", "author_followers": 1, "reshares": []}', "observed_for: field required"),
        (
            b'{"id": "x", "author_followers": -1, "reshares": [], "observed_for": 5}',
            "author_followers: must be a finite number ≥ 0, got -1",
        ),
        (
            b'{"id": "x", "author_followers": 1, "reshares": [{"at": "soon", "followers": 1}],'
            b' "observed_for": 5}',
            "reshares.0.at: expected a number, got str",
        ),
        (
            b'{"id": "x", "author_followers": 1.5, "reshares": [], "observed_for": 5}',
            "author_followers: must be a whole number, got 1.5",
        ),
    ],
)
def test_bad_lines_name_the_problem_and_the_line(line: bytes, message: str):
    with pytest.raises(CascadeFormatError) as info:
        parse_cascade(line, 7, "in.jsonl")
    assert info.value.message.startswith("in.jsonl:7: ")
    assert message in info.value.message


def test_kernel_cdf_and_quantile_are_inverse_and_normalised():
    u = np.linspace(0.0, 0.99, 100)
    assert np.allclose(memory_cdf(memory_quantile(u)), u)
    # the plateau: share θ/(1+θ) of the mass in the first 300 s
    assert memory_cdf(np.array([300.0]))[0] == pytest.approx(0.242 / 1.242)
    assert memory_cdf(np.array([1e30]))[0] == pytest.approx(1.0, abs=1e-5)


def test_simulation_is_deterministic_per_seed_and_sorted():
    a = simulate_cascades(50, seed=3)
    b = simulate_cascades(50, seed=3)
    c = simulate_cascades(50, seed=4)
    assert [x.cascade for x in a] == [x.cascade for x in b]
    assert [x.cascade for x in a] != [x.cascade for x in c]
    for sim in a:
        times = [r.at for r in sim.cascade.reshares]
        assert times == sorted(times)
        assert all(0 <= t <= 7 * 86400 for t in times)
        seen = sim.observed(600)
        assert seen.observed_for == 600 and all(r.at <= 600 for r in seen.reshares)


def test_simulated_sizes_are_heavy_tailed():
    sizes = np.array([s.final_size for s in simulate_cascades(2000, seed=11)])
    assert np.median(sizes) <= 2  # most posts are hardly reshared
    assert sizes.max() >= 100  # a few go far
