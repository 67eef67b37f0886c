"""The three targets, and how each is started: its venv, WSGI app, seed command, what it runs.

Switching the authgate target to the ready-to-run server is the one line
``AUTHGATE = AUTHGATE_SERVE`` below, once ``authgate serve`` exists.
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

    def python(self) -> pathlib.Path:
        return self.venv / "bin" / "python"

    def gunicorn(self) -> pathlib.Path:
        return self.venv / "bin" / "gunicorn"

    def env(self, url: str | None, state_dir: pathlib.Path, port: int,
            token_format: str) -> dict[str, str]:
        return self.extra_env(url, state_dir, port, token_format) if self.extra_env else {}

    def workloads_for(self, token_format: str) -> tuple[str, ...]:
        if self.name == "ceiling":
            return self.workloads
        return self.workloads if token_format == "opaque" else \
            tuple(w for w in self.workloads if w in JWT_WORKLOADS)


AUTHGATE_LIBRARY = Target(
    name="authgate",
    venv=PROJECT_VENV,
    wsgi="bench.targets.authgate_lib.app:create_app()",
    seed_args=("-m", "bench.targets.authgate_lib.app", "seed"),
    workloads=OAUTH_WORKLOADS,
)


def _serve_env(url: str | None, state_dir: pathlib.Path, port: int,
               token_format: str) -> dict[str, str]:
    env = {"AUTHGATE_ISSUER": f"http://127.0.0.1:{port}", "AUTHGATE_INSTANCE_PATH": str(state_dir)}
    if url:
        env["AUTHGATE_DATABASE_URL"] = url
    if token_format != "opaque":
        env["AUTHGATE_JWT_ALG"] = token_format
    return env


#: The ready-to-run server, seeded through its CLI (``bench/targets/authgate_serve.py``).
#: It always issues JWTs (SPEC §4), so its "opaque" row is W2 through the server's own
#: revocation-checking /api/me. W4 waits for a way to mint an OAuth 1 token credential.
AUTHGATE_SERVE = Target(
    name="authgate",
    venv=PROJECT_VENV,
    wsgi="authgate.server:create_app()",
    seed_args=("-m", "bench.targets.authgate_serve", "seed"),
    workloads=("W1", "W2", "W3", "W5"),
    token_formats=("RS256", "ES256"),
    extra_env=_serve_env,
)

AUTHGATE = AUTHGATE_LIBRARY  # AUTHGATE = AUTHGATE_SERVE once `authgate serve` lands

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

TARGETS = {t.name: t for t in (AUTHGATE, REFERENCE, CEILING)}
