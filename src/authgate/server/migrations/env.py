"""Alembic environment: runs on the engine handed over by :mod:`authgate.server.migrate`.

On PostgreSQL an advisory lock serialises concurrent upgrades (several
instances starting at once against one database); SQLite upgrades are
serialised by the start-up file lock in the instance folder.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from authgate.server import models  # noqa: F401  (registers every table on Base.metadata)
from authgate.server.database import Base

MIGRATION_LOCK_ID = 0x61757468  # "auth"

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    raise RuntimeError("run migrations through authgate.server.migrate (authgate db upgrade)")

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
    try:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite",
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
