"""A fresh database per server start: a SQLite file, or a PostgreSQL database dropped after.

PostgreSQL is reached at 127.0.0.1:5432 as ``postgres`` with trust auth
(``BENCH_PG_HOST``, ``BENCH_PG_PORT``, ``BENCH_PG_USER`` override), through
``psql`` so the harness needs no driver of its own.
"""

from __future__ import annotations

import os
import pathlib
import secrets
import shutil
import subprocess
from dataclasses import dataclass

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("BENCH_PG_PORT", "5432")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")


@dataclass
class Database:
    kind: str
    url: str
    name: str | None = None

    def drop(self) -> None:
        if self.kind == "postgres" and self.name:
            _psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.name = None


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-d", "postgres",
                    "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                   check=True, capture_output=True, text=True, timeout=60)


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    if shutil.which("psql") is None:
        return "psql not found (apt-get install -y postgresql-client)"
    try:
        _psql("SELECT 1")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} not usable: {getattr(error, 'stderr', error)}"
    return None


def create(kind: str, state_dir: pathlib.Path, label: str) -> Database:
    if kind == "sqlite":
        return Database("sqlite", f"sqlite:///{state_dir / 'bench.db'}")
    if kind == "postgres":
        name = f"bench_{label.replace('-', '_')}_{secrets.token_hex(4)}"
        _psql(f'CREATE DATABASE "{name}"')
        return Database("postgres",
                        f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}", name)
    raise ValueError(f"unknown database kind {kind!r}")
