"""The four targets, and how each is started: its venv, WSGI app, seed command, what it runs.

Two of them are authgate: ``authgate`` is a provider written with the library's
API (the only authgate target with opaque, database-validated tokens), and
``authgate-serve`` is the ready-to-run server's WSGI app. Both are compared
with ``reference`` (Authlib) and ``ceiling`` (bare Flask).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field

BENCH = pathlib.Path(__file__).resolve().parent.parent
REPO = BENCH.parent
PROJECT_VENV = REPO / ".venv"
REFERENCE_VENV = BENCH / ".venv-ref"

OAUTH_WORKLOADS = ("W1", "W2", "W3", "W4", "W5")
JWT_WORKLOADS = ("W1", "W2")
CEILING_WORKLOADS = ("C-GET", "C-POST")
FLOW_WORKLOADS = ("W3", "W4", "W5")


@dataclass(frozen=True)
class Target:
    name: str
    venv: pathlib.Path
    wsgi: str
    seed_args: tuple[str, ...]
    workloads: tuple[str, ...]
    databases: tuple[str | None, ...] = ("sqlite", "postgres")
    token_formats: tuple[str, ...] = ("opaque", "RS256", "ES256")
    #: Extra environment per start: (database URL, state dir, port, token format) -> vars.
    extra_env: Callable[[str | None, pathlib.Path, int, str], dict[str, str]] | None = \
        field(default=None, compare=False)
    #: The token format whose starts run every workload; the other formats run only the
    #: token workloads (W1, W2): the flows cost the same whatever the access token looks like
    #: next to their other requests, and every extra start costs minutes in a full run.
    flow_token_format: str = "opaque"
    #: A cheap GET answered 200 once the app is up (the harness polls it before measuring).
    ready_path: str = "/ping"
    #: Its ``/api/me`` looks every JWT up in the database (revocation), so its W2 rows are
    #: labelled ``<alg>+db`` and compared with DB-validated tokens, not only local JWTs.
    jwt_checked_in_db: bool = False

    def python(self) -> pathlib.Path:
        return self.venv / "bin" / "python"

    def gunicorn(self) -> pathlib.Path:
        return self.venv / "bin" / "gunicorn"

    def env(self, url: str | None, state_dir: pathlib.Path, port: int,
            token_format: str) -> dict[str, str]:
        return self.extra_env(url, state_dir, port, token_format) if self.extra_env else {}

    def workloads_for(self, token_format: str) -> tuple[str, ...]:
        if self.name == "ceiling" or token_format == self.flow_token_format:
            return self.workloads
        return tuple(w for w in self.workloads if w in JWT_WORKLOADS)

    def token_label(self, token_format: str, workload: str) -> str:
        """The token format as reported: ``RS256+db`` where a JWT is also looked up in the DB."""
        if self.jwt_checked_in_db and workload == "W2" and token_format not in ("opaque", "none"):
            return token_format + "+db"
        return token_format


AUTHGATE_LIBRARY = Target(
    name="authgate",
    venv=PROJECT_VENV,
    wsgi="bench.targets.authgate_lib.app:create_app()",
    seed_args=("-m", "bench.targets.authgate_lib.app", "seed"),
    workloads=OAUTH_WORKLOADS,
)


def _serve_env(url: str | None, state_dir: pathlib.Path, port: int,
               token_format: str) -> dict[str, str]:
    env = {"AUTHGATE_ISSUER": f"http://127.0.0.1:{port}", "AUTHGATE_INSTANCE_PATH": str(state_dir),
           # W5 polls back to back, as on the other targets (which set no interval).
           "AUTHGATE_DEVICE_INTERVAL": "0"}
    if url:
        env["AUTHGATE_DATABASE_URL"] = url
    if token_format != "opaque":
        env["AUTHGATE_JWT_ALG"] = token_format
    return env


#: The ready-to-run server (``authgate serve``'s WSGI app), seeded through its CLI and one
#: in-process OAuth 1 flow (``bench/targets/authgate_serve.py``). It issues JWTs only
#: (``AUTHGATE_JWT_ALG``), and its ``/api/me`` checks each one against the database
#: (revocation). The flows (W3-W5) run with RS256, the server's default.
AUTHGATE_SERVE = Target(
    name="authgate-serve",
    venv=PROJECT_VENV,
    wsgi="authgate.server:create_app()",
    seed_args=("-m", "bench.targets.authgate_serve", "seed"),
    workloads=OAUTH_WORKLOADS,
    token_formats=("RS256", "ES256"),
    extra_env=_serve_env,
    flow_token_format="RS256",
    ready_path="/health/live",
    jwt_checked_in_db=True,
)

REFERENCE = Target(
    name="reference",
    venv=REFERENCE_VENV,
    wsgi="bench.targets.reference.app:create_app()",
    seed_args=("-m", "bench.targets.reference.app", "seed"),
    workloads=OAUTH_WORKLOADS,
)

CEILING = Target(
    name="ceiling",
    venv=PROJECT_VENV,
    wsgi="bench.targets.ceiling.app:create_app()",
    seed_args=("-m", "bench.targets.ceiling.app", "seed"),
    workloads=CEILING_WORKLOADS,
    databases=(None,),
    token_formats=("none",),
)

TARGETS = {t.name: t for t in (AUTHGATE_LIBRARY, AUTHGATE_SERVE, REFERENCE, CEILING)}
#: The targets measured against the reference and the ceiling.
AUTHGATE_TARGETS = (AUTHGATE_LIBRARY.name, AUTHGATE_SERVE.name)
