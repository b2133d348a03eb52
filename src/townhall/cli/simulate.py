"""`townhall simulate` (placeholder until the simulator lands)."""


def simulate() -> None:
    """Write a simulated day of ACME traffic as Post JSONL."""
    raise NotImplementedError
