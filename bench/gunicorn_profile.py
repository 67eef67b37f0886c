"""gunicorn config for ``python -m bench --profile``: cProfile in every worker, dumped at exit.

Sync workers answer requests on their main thread, so one profiler per
worker sees every request; it starts once the app is loaded, so imports
and the app factory stay out of it. The files go to ``$BENCH_PROFILE_DIR``.
"""

import cProfile
import os
import time


def post_worker_init(worker):
    # CPU time, not wall time: waiting in accept() and other processes' load stay out.
    worker.bench_profile = cProfile.Profile(time.process_time)
    worker.bench_profile.enable()


def worker_exit(server, worker):
    profile = getattr(worker, "bench_profile", None)
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.path.join(os.environ["BENCH_PROFILE_DIR"],
                                        f"worker-{os.getpid()}.pstats"))
