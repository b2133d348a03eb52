"""The Alembic migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from townhall.db import outside_models
from townhall.models import Base


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": lambda _o, name, type_, _r, _t: not outside_models(name, type_)
            },
        )
        diff = compare_metadata(context, Base.metadata)

    assert diff == []
