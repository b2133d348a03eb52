"""`townhall db upgrade`: create or upgrade the schema."""

from __future__ import annotations

import typer

from townhall.cli.common import err
from townhall.config import get_settings
from townhall.db import make_engine, migrate

app = typer.Typer(no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Bring the database (TOWNHALL_DATABASE_URL, or SQLite in TOWNHALL_HOME) up to date."""
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    engine.dispose()
    err.print(f"schema up to date: {settings.resolved_database_url()}")
