"""Alembic environment: runs on the connection ``townhall.db.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from townhall.db import outside_models
from townhall.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` on the command line lands here
    raise RuntimeError("run migrations through `townhall db upgrade`")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    include_object=lambda _obj, name, type_, _reflected, _to: not outside_models(name, type_),
)
with context.begin_transaction():
    context.run_migrations()
