"""``SimulatorConnector``: replays a simulated day, all at once or in accelerated real time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta

from townhall.connectors.base import Capability, ConnectorInfo
from townhall.connectors.simulator.scenario import default_start, generate_day
from townhall.errors import PostFormatError
from townhall.posts import Post

Sleep = Callable[[float], Awaitable[object]]


class SimulatorConnector:
    """A ``LiveSource`` of one simulated day of ACME traffic (deterministic for a seed)."""

    info = ConnectorInfo(
        name="simulator",
        capabilities=frozenset({Capability.FETCH, Capability.STREAM}),
        description="A simulated day of ACME traffic on mastodon, bluesky, forum and rss, "
        "with a product crisis that grows from one forum post.",
    )

    def __init__(
        self,
        *,
        seed: int = 7,
        start: datetime | None = None,
        hours: float = 24.0,
        base_rate_per_hour: float = 60.0,
        crisis_at_hours: float | None = 9.5,
        speed: float = 60.0,
        skip_to_hours: float = 0.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Configure the day; ``speed``: simulated seconds per real second (60: a day in 24 min)."""
        if speed <= 0:
            raise ValueError("speed must be positive (simulated seconds per real second)")
        self.seed = seed
        self.start = start if start is not None else default_start()
        self.hours = hours
        self.base_rate_per_hour = base_rate_per_hour
        self.crisis_at_hours = crisis_at_hours
        self.speed = speed
        self.skip_to_hours = skip_to_hours
        self._sleep = sleep
        self._posts: list[Post] | None = None

    def posts(self) -> list[Post]:
        """The whole day, generated once and kept."""
        if self._posts is None:
            self._posts = generate_day(
                seed=self.seed,
                start=self.start,
                hours=self.hours,
                base_rate_per_hour=self.base_rate_per_hour,
                crisis_at_hours=self.crisis_at_hours,
            )
        return self._posts

    def fetch(self) -> Iterator[Post | PostFormatError]:
        """Every post of the simulated day, in time order."""
        yield from self.posts()

    async def stream(self) -> AsyncIterator[Post]:
        """Posts in accelerated real time; those before ``skip_to_hours`` come at once."""
        clock = self.start + timedelta(hours=self.skip_to_hours)
        for post in self.posts():
            if post.created_at > clock:
                await self._sleep((post.created_at - clock).total_seconds() / self.speed)
                clock = post.created_at
            yield post
