"""gunicorn config for ``python -m bench --profile``: cProfile in every worker, dumped at exit.

Sync workers answer requests on their main thread, so one profiler per
worker sees every request. The files go to ``$BENCH_PROFILE_DIR``.
"""

import cProfile
import os


def post_fork(server, worker):
    worker.bench_profile = cProfile.Profile()
    worker.bench_profile.enable()


def worker_exit(server, worker):
    profile = getattr(worker, "bench_profile", None)
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.path.join(os.environ["BENCH_PROFILE_DIR"],
                                        f"worker-{os.getpid()}.pstats"))
