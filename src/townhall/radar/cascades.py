"""Reshare cascades: the Cascade JSONL format and the generative model used to evaluate forecasts.

Times are seconds after the original post; followers are counts of people.

The generative model (a marked Hawkes branching process, seeded, documented in docs/radar.md):

* **Memory kernel** (SEISMIC's): the delay ``s`` between a post and a reshare it triggers has the
  density ``φ(s) = c0`` for ``s ≤ s0`` and ``c0 · (s/s0)^-(1+θ)`` after, with ``s0 = 300 s``,
  ``θ = 0.242`` and ``c0 = θ / (s0 · (1+θ))`` so that ``∫φ = 1``.
* **Marks**: every node (the original post or a reshare) has a follower count ``n``; resharers'
  followers are drawn i.i.d. log-normal ``exp(N(ln 150, 1.4²))`` (heavy-tailed; mean ≈ 400),
  the original author's from ``exp(N(ln 400, 1.6²))``; floored, at least 1, at most 5,000,000.
* **Infectiousness with content aging**: a cascade draws ``p0 ~ Gamma(shape 1.2, mean 2e-3)``
  and an aging time ``τ ~ exp(N(ln 3 h, 0.6²))``; at post age ``t`` its infectiousness is
  ``p(t) = p0 · exp(-t/τ)``.
* **Branching**: a node born at ``t_i`` with ``n_i`` followers triggers reshares as an
  inhomogeneous Poisson process of rate ``p(t) · n_i · φ(t - t_i)`` for ``t_i < t ≤ H``
  (``H`` = 7 days, the "final" horizon). Drawn exactly: Poisson(``p0 · n_i · Φ(H - t_i)``)
  candidate delays from ``φ`` truncated to ``H - t_i``, each kept with probability
  ``exp(-(t_i + s)/τ)``. A cascade stops growing at ``max_size`` = 5,000 reshares.

The same seed gives the same cascades; train and test sets use different seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from townhall.errors import InputError

S0 = 300.0
"""Length of the kernel's constant plateau, in seconds (SEISMIC's ``s0``)."""
THETA = 0.242
"""Power-law exponent of the kernel's tail (SEISMIC's ``θ``)."""
C0 = THETA / (S0 * (1.0 + THETA))
"""Kernel height on the plateau, per second, so that the kernel integrates to 1."""
_PLATEAU_MASS = THETA / (1.0 + THETA)


def memory_cdf(x: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """``Φ(x) = ∫₀ˣ φ``: share of a node's reshares that come within ``x`` seconds."""
    x = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    tail = 1.0 - (1.0 / (1.0 + THETA)) * np.power(np.maximum(x, S0) / S0, -THETA)
    return np.where(x <= S0, C0 * x, tail)


def memory_quantile(
    u: np.ndarray[Any, np.dtype[np.float64]],
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The delay in seconds below which a share ``u`` (0..1) of the kernel's mass lies."""
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0 - 1e-15)
    tail = S0 * np.power((1.0 + THETA) * (1.0 - np.maximum(u, _PLATEAU_MASS)), -1.0 / THETA)
    return np.where(u <= _PLATEAU_MASS, u / C0, tail)


class CascadeFormatError(InputError):
    """A Cascade JSONL line is malformed; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None, source: str | None = None) -> None:
        where = f"{source or '<input>'}:{line}: " if line is not None else ""
        super().__init__(f"{where}{message}")
        self.line = line
        self.source = source
        self.reason = message


@dataclass(frozen=True, slots=True)
class Reshare:
    """One reshare: ``at`` seconds after the original post, by someone with ``followers``."""

    at: float
    followers: int


@dataclass(frozen=True)
class Cascade:
    """A post and its reshares seen during the first ``observed_for`` seconds."""

    id: str
    author_followers: int
    reshares: tuple[Reshare, ...]
    observed_for: float

    def to_json(self) -> dict[str, Any]:
        """The Cascade JSONL object of DESIGN.md."""
        return {
            "id": self.id,
            "author_followers": self.author_followers,
            "reshares": [{"at": r.at, "followers": r.followers} for r in self.reshares],
            "observed_for": self.observed_for,
        }


def _number(value: Any, where: str, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: must be a finite number ≥ 0, got {value}")
    if integer and value != int(value):
        raise ValueError(f"{where}: must be a whole number, got {value}")
    return float(value)


def parse_cascade(raw: bytes | str, line: int | None = None, source: str | None = None) -> Cascade:
    """Parse one Cascade JSONL line; raises ``CascadeFormatError`` naming the field.

    Reshares are sorted by time; those after ``observed_for`` are ignored, so a complete cascade
    can be cut at any age by setting ``observed_for``.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CascadeFormatError(f"not valid JSON ({exc})", line, source) from None
    if not isinstance(data, dict):
        raise CascadeFormatError(f"expected a JSON object, got {type(data).__name__}", line, source)
    try:
        missing = [
            k for k in ("id", "author_followers", "reshares", "observed_for") if k not in data
        ]
        if missing:
            raise ValueError(f"{missing[0]}: field required")
        ident = data["id"]
        if not isinstance(ident, str | int) or isinstance(ident, bool) or str(ident) == "":
            raise ValueError("id: expected a non-empty string")
        followers = int(_number(data["author_followers"], "author_followers", integer=True))
        observed_for = _number(data["observed_for"], "observed_for")
        items = data["reshares"]
        if not isinstance(items, list):
            raise ValueError(f"reshares: expected a list, got {type(items).__name__}")
        reshares: list[Reshare] = []
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValueError(f"reshares.{n}: expected an object with at and followers")
            at = _number(item.get("at"), f"reshares.{n}.at")
            count = int(_number(item.get("followers"), f"reshares.{n}.followers", integer=True))
            if at <= observed_for:
                reshares.append(Reshare(at, count))
    except ValueError as exc:
        raise CascadeFormatError(str(exc), line, source) from None
    reshares.sort(key=lambda r: r.at)
    return Cascade(str(ident), followers, tuple(reshares), observed_for)


@dataclass(frozen=True)
class CascadeModel:
    """Parameters of the generative model (see the module docstring); times in seconds."""

    p0_mean: float = 2.0e-3
    p0_shape: float = 1.2
    aging_median: float = 3 * 3600.0
    aging_sigma: float = 0.6
    followers_log_median: float = math.log(150.0)
    followers_sigma: float = 1.4
    author_log_median: float = math.log(400.0)
    author_sigma: float = 1.6
    horizon: float = 7 * 86400.0
    max_size: int = 5_000


@dataclass(frozen=True)
class SimulatedCascade:
    """A complete simulated cascade (to the horizon) with its hidden parameters."""

    cascade: Cascade
    p0: float
    aging: float
    truncated: bool = field(default=False)

    @property
    def final_size(self) -> int:
        """Reshares by the horizon: the number a forecast tries to predict."""
        return len(self.cascade.reshares)

    def observed(self, seconds: float) -> Cascade:
        """The cascade as seen ``seconds`` after the original post."""
        c = self.cascade
        seen = tuple(r for r in c.reshares if r.at <= seconds)
        return Cascade(c.id, c.author_followers, seen, seconds)


def _followers(
    rng: np.random.Generator, size: int, median_log: float, sigma: float
) -> np.ndarray[Any, np.dtype[np.float64]]:
    drawn = np.floor(np.exp(rng.normal(median_log, sigma, size)))
    return np.clip(drawn, 1.0, 5_000_000.0)


def simulate_cascade(
    rng: np.random.Generator, ident: str, model: CascadeModel = CascadeModel()
) -> SimulatedCascade:
    """Draw one complete cascade from the model, generation by generation."""
    p0 = float(rng.gamma(model.p0_shape, model.p0_mean / model.p0_shape))
    aging = float(math.exp(rng.normal(math.log(model.aging_median), model.aging_sigma)))
    root = _followers(rng, 1, model.author_log_median, model.author_sigma)
    times = np.zeros(1)
    marks = root
    all_t: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    all_n: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    size = 0
    truncated = False
    while times.size and not truncated:
        room = model.horizon - times
        counts = rng.poisson(p0 * marks * memory_cdf(room))
        if not counts.any():
            break
        parents = np.repeat(times, counts)
        u = rng.uniform(0.0, 1.0, parents.size) * np.repeat(memory_cdf(room), counts)
        born = parents + memory_quantile(u)
        keep = rng.uniform(0.0, 1.0, born.size) < np.exp(-born / aging)
        times = born[keep]
        marks = _followers(rng, times.size, model.followers_log_median, model.followers_sigma)
        if size + times.size > model.max_size:
            cut = model.max_size - size
            order = np.argsort(times)[:cut]
            times, marks, truncated = times[order], marks[order], True
        size += times.size
        all_t.append(times)
        all_n.append(marks)
    if all_t:
        t = np.concatenate(all_t)
        n = np.concatenate(all_n)
        order = np.argsort(t, kind="stable")
        reshares = tuple(
            Reshare(round(float(a), 3), int(b)) for a, b in zip(t[order], n[order], strict=True)
        )
    else:
        reshares = ()
    cascade = Cascade(ident, int(root[0]), reshares, model.horizon)
    return SimulatedCascade(cascade, p0, aging, truncated)


def simulate_cascades(
    n: int, seed: int, model: CascadeModel = CascadeModel()
) -> list[SimulatedCascade]:
    """``n`` complete cascades drawn with ``seed`` (ids ``sim-<seed>-<k>``)."""
    rng = np.random.default_rng(seed)
    return [simulate_cascade(rng, f"sim-{seed}-{k}", model) for k in range(n)]


def observed_counts(cascades: Sequence[SimulatedCascade], seconds: float) -> list[int]:
    """Reshares seen ``seconds`` after the post, per cascade."""
    return [sum(1 for r in c.cascade.reshares if r.at <= seconds) for c in cascades]
