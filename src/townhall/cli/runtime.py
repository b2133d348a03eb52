"""Open what a command needs: settings, a migrated database, the policy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from townhall.cli.common import fail_config
from townhall.config import Settings, get_settings
from townhall.db import make_engine, migrate, session_factory
from townhall.errors import ConfigError
from townhall.org.loader import load_policy
from townhall.org.policy import Policy
from townhall.org.source import PolicySource
from townhall.pipeline.runner import Intake, Pipeline
from townhall.pipeline.streams import BROKER_ERRORS
from townhall.routing.rules import router_for

if TYPE_CHECKING:
    from townhall.radar.replay import Radar


@dataclass
class Runtime:
    """Settings, engine, session factory and policy of one command run."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    source: PolicySource

    @property
    def policy(self) -> Policy:
        """The policy in force."""
        return self.source.policy

    def pipeline(self, radar: bool = True, warm: bool = False) -> Pipeline:
        """The pipeline, understanding every post (exit 1 when the intent model is missing);
        it follows the policy when it changes (an admin's edit, or the file on disk).
        ``radar=False`` leaves the radar out (``townhall worker``: one radar stage feeds it);
        ``warm`` replays the last week of stored posts into the radar first (a long-running
        listener: see ``townhall.pipeline.warm``)."""
        from townhall.understand.enrich import Understander

        try:
            understander = Understander.from_policy(self.policy)
        except ConfigError as exc:
            raise fail_config(exc) from None
        pipeline = Pipeline(
            self.sessions,
            self.policy,
            understander,
            router_for(self.policy),
            self.new_radar(warm=warm) if radar else None,
        )

        def follow(policy: Policy) -> None:
            pipeline.use_policy(policy, understander.with_policy(policy), router_for(policy))

        self.source.subscribe(follow)
        return pipeline

    def radar_pipeline(self) -> Pipeline:
        """A pipeline that only watches (``Pipeline.watch``): the radar stage of
        ``townhall worker``, fed the posts the workers stored."""
        pipeline = Pipeline(self.sessions, self.policy, radar=self.new_radar())
        self.source.subscribe(lambda policy: pipeline.use_policy(policy, None, None))
        return pipeline

    def new_radar(self, warm: bool = False) -> Radar:
        """A radar for the policy in force; ``warm``: fed the last week of stored posts."""
        from townhall.radar.replay import Radar, RadarSettings

        radar = Radar(
            self.policy, RadarSettings(viral_threshold=self.policy.crisis.viral_threshold)
        )
        if warm:
            from townhall.pipeline.warm import warm as warm_up

            warm_up(radar, self.sessions)
        return radar

    def intake(self, warm: bool = False) -> Intake:
        """Where listeners and ``townhall ingest`` put posts: the broker's stream when
        ``TOWNHALL_BROKER_URL`` is set (``townhall worker`` stores them), otherwise this
        process's pipeline (its radar warmed with the stored posts when ``warm``)."""
        if not self.settings.broker_url:
            return self.pipeline(warm=warm)
        from townhall.pipeline.streams import Publisher, connect

        try:
            return Publisher(connect(self.settings.broker_url), self.sessions)
        except BROKER_ERRORS as exc:
            raise fail_config(
                ConfigError(f"TOWNHALL_BROKER_URL: the broker does not answer ({exc})")
            ) from None

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_runtime(
    policy_path: Path | None = None,
    settings: Settings | None = None,
    database_url: str | None = None,
) -> Runtime:
    """Load the policy (exit 1 with every problem if bad), then open and migrate the database."""
    settings = settings or get_settings()
    path = policy_path or settings.policy
    try:
        policy = load_policy(path)
    except ConfigError as exc:
        raise fail_config(exc) from None
    engine = make_engine(database_url or settings.resolved_database_url())
    migrate(engine)
    return Runtime(settings, engine, session_factory(engine), PolicySource(path, policy))
