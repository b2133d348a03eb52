"""The simulator connector: a seeded, self-exciting day of ACME traffic with a brewing crisis."""

from townhall.connectors.simulator.scenario import generate_day

__all__ = ["generate_day"]
