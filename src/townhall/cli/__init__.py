"""The ``townhall`` command line (typer)."""
