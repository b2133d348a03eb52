"""Every connector Townhall knows, by name: adding a channel is one line here."""

from __future__ import annotations

from townhall.connectors.base import ConnectorInfo
from townhall.connectors.jsonl.connector import JsonlConnector
from townhall.connectors.simulator.connector import SimulatorConnector

CONNECTORS: dict[str, type[JsonlConnector] | type[SimulatorConnector]] = {
    "jsonl": JsonlConnector,
    "simulator": SimulatorConnector,
}


def describe() -> list[ConnectorInfo]:
    """The registered connectors' names, capabilities and descriptions."""
    return [cls.info for cls in CONNECTORS.values()]
