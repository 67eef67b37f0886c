"""What storage costs before any OAuth: instructions per call of the database steps a
token request cannot avoid, counted under valgrind's callgrind.

    .venv/bin/python -m bench.floor            # every step, about a minute

Each step reads one indexed row and writes one row, then commits, on a SQLite
file in ``/dev/shm``:

- ``raw``: Python's ``sqlite3`` alone;
- ``core``: a SQLAlchemy ``Connection`` from the pool, the same SQL on its DBAPI
  connection, ``commit``;
- ``session``: an ORM ``Session``, its ``connection()``, the same SQL, ``commit``,
  ``close`` (what a request through the application's session pays);
- ``session-only``: the ``Session`` alone, no SQL at all.

The difference between ``session-only`` and nothing is the price of using the
application's session on a request, whatever the library does inside it.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile

from bench.inprocess import count_loop, instructions

STEPS = ("raw", "core", "session", "session-only")


def _loop(step: str, n: int) -> None:
    import sqlite3

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    directory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=directory) as state:
        path = os.path.join(state, "floor.sqlite")
        engine = create_engine(f"sqlite:///{path}")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT UNIQUE, b TEXT)")
            for i in range(100):
                connection.exec_driver_sql("INSERT INTO t (a, b) VALUES (?, ?)", (str(i), "x"))
        raw = sqlite3.connect(path)
        count = [0]

        def sql(dbapi_connection: object) -> None:
            count[0] += 1
            dbapi_connection.execute(  # type: ignore[attr-defined]
                "SELECT * FROM t WHERE a = ?", ("5",)).fetchone()
            dbapi_connection.execute(  # type: ignore[attr-defined]
                "INSERT INTO t (a, b) VALUES (?, ?)", (f"k{count[0]}", "x"))

        def one() -> None:
            if step == "raw":
                sql(raw)
                raw.commit()
            elif step == "core":
                with engine.connect() as connection:
                    sql(connection.connection.dbapi_connection)
                    connection.commit()
            elif step == "session":
                with Session(engine) as session:
                    sql(session.connection().connection.dbapi_connection)
                    session.commit()
            else:
                with Session(engine) as session:
                    session.connection()
                    session.commit()

        count_loop(one, n)
        raw.close()
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--loop"]:
        _loop(args[1], int(args[2]))
        return
    n = 500
    for step in STEPS:
        count = instructions(["--loop", step], n, module="bench.floor")
        print(f"{step:13} {count:10,} instructions per call", flush=True)

if __name__ == "__main__":
    main()
