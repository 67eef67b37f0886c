"""A PostgreSQL database of one's own, created for a block and dropped after it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fresh_postgres(base_url: str, prefix: str = "authgate_t") -> Iterator[str]:
    """Create a database next to ``base_url``'s, yield its URL, drop it (forcefully) after.

    Server tests need one each: signing keys are sealed with each test's secret
    key, so tests sharing one database would find keys they cannot decrypt.
    """
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.engine.make_url(base_url).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
