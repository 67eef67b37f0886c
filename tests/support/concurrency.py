"""Run one callable in several threads released at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable


def race(threads: int, attempt: Callable[[], object]) -> list[object]:
    """What ``attempt()`` returned in each of ``threads`` threads, all released at once;
    an exception is returned as a value (SQLite may refuse a writer after its busy
    timeout)."""
    outcomes: list[object] = []
    barrier = threading.Barrier(threads, timeout=60)

    def run() -> None:
        barrier.wait()
        try:
            outcomes.append(attempt())
        except Exception as error:
            outcomes.append(error)

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return outcomes
