"""``townhall secrets``: Encrypted secrets at rest: rotate the key."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from townhall.audit import record
from townhall.channels.secrets import new_key, rotate
from townhall.cli.common import err, fail_config
from townhall.config import get_settings
from townhall.db import make_engine, session_factory
from townhall.errors import ConfigError
from townhall.posts import now_utc

app = typer.Typer(no_args_is_help=True)

NEW_KEY_ENV = "TOWNHALL_SECRETS_NEW_KEY"


@app.command("key")
def key() -> None:
    """Print a new key for TOWNHALL_SECRETS_KEY (keep it safe: stored secrets need it)."""
    typer.echo(new_key())


@app.command("rotate")
def rotate_command(
    new_key_env: Annotated[
        str,
        typer.Option(
            "--new-key-env",
            metavar="NAME",
            help="The environment variable that holds the new key.",
        ),
    ] = NEW_KEY_ENV,
) -> None:
    """Re-encrypt every stored secret from TOWNHALL_SECRETS_KEY to a new key, in one go."""
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    try:
        with session_factory(engine)() as session, session.begin():
            rotation = rotate(
                session.connection(),
                settings.secrets_key,
                settings.channel_secret(new_key_env) or "",
                new_key_env,
            )
            record(
                session,
                at=now_utc(),
                actor="cli",
                action="secrets.rotated",
                subject_type="secrets",
                subject_id="all",
                why=f"{rotation.total} stored secrets re-encrypted with a new key",
                details=dict(rotation.counts),
            )
    except ConfigError as exc:
        raise fail_config(exc) from None
    finally:
        engine.dispose()
    parts = ", ".join(f"{where}: {n}" for where, n in rotation.counts.items())
    typer.echo(f"re-encrypted {rotation.total} secrets ({parts or 'none stored'})")
    err.print(
        f"next: set TOWNHALL_SECRETS_KEY to the key in {escape(new_key_env)} for every "
        "Townhall process (web, workers, listeners) and restart them; the old key opens none "
        "of the stored secrets any more. Then unset "
        f"{escape(new_key_env)}."
    )
