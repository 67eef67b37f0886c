"""A program for ``bench.inprocess.instructions``: a set-up that sorts with a key (as an
import or an app's set-up may), then ``n`` nearly free calls through ``count_loop``.

    python -m tests.support.sorted_setup N
"""

from __future__ import annotations

import sys

from bench.inprocess import count_loop


def main() -> None:
    sorted(range(100_000), key=lambda i: -i)  # one-off work inside sorted(), as set-up
    count_loop(lambda: None, int(sys.argv[1]))


if __name__ == "__main__":
    main()
