"""Every connector Townhall knows, by name: adding a channel is one line here.

``NETWORKS`` maps a policy channel ``kind`` to the connector that listens (and publishes) there;
they are imported when first used, so a command that never talks to a network loads none of
their client libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from townhall.connectors.base import Capability, ConnectorInfo, Credentials, Listener
from townhall.connectors.jsonl.connector import JsonlConnector
from townhall.connectors.simulator.connector import SimulatorConnector

if TYPE_CHECKING:
    from townhall.org.policy import Channel

CONNECTORS: dict[str, type[JsonlConnector] | type[SimulatorConnector]] = {
    "jsonl": JsonlConnector,
    "simulator": SimulatorConnector,
}

NETWORKS: dict[str, str] = {
    "mastodon": "townhall.connectors.mastodon.connector:MastodonConnector",
    "bluesky": "townhall.connectors.bluesky.connector:BlueskyConnector",
    "rss": "townhall.connectors.rss.connector:RssConnector",
}
"""Channel kind → ``module:class`` of its network connector."""


def network_class(kind: str) -> Any:
    """The connector class for a channel kind; raises KeyError for kinds with none."""
    module, _, name = NETWORKS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def capabilities_of(channel: Channel) -> frozenset[Capability]:
    """What Townhall can do on a channel: nothing unless it is live on a network."""
    if not channel.live or channel.kind.value not in NETWORKS:
        return frozenset()
    info: ConnectorInfo = network_class(channel.kind.value).info
    return info.capabilities


def connector_for(channel: Channel, credentials: Credentials, timeout: float = 10.0) -> Listener:
    """The network connector of a live channel (it may also be a ``Publisher``)."""
    cls = network_class(channel.kind.value)
    connector: Listener = cls(channel, credentials, timeout=timeout)
    return connector


def describe() -> list[ConnectorInfo]:
    """The registered connectors' names, capabilities and descriptions."""
    infos = [cls.info for cls in CONNECTORS.values()]
    for kind in NETWORKS:
        try:
            infos.append(network_class(kind).info)
        except ImportError:  # pragma: no cover - a broken install
            continue
    return infos
