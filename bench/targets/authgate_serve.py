"""Seed the ready-to-run server through its CLI (SPEC §3), for ``AUTHGATE_SERVE``.

Untested until ``authgate serve`` lands: it follows the documented commands
(``create-user``, ``create-client --json``) and prints the same fixtures as
the library targets, with the generated client credentials.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.targets import fixtures as fx


def _cli(*args: str, stdin: str | None = None) -> str:
    authgate = os.path.join(os.path.dirname(sys.executable), "authgate")
    return subprocess.run([authgate, *args], input=stdin, check=True, capture_output=True,
                          text=True, env=os.environ).stdout


def seed() -> dict[str, object]:
    _cli("create-user", fx.USERNAME, "--password-stdin", "--scope", fx.SCOPE,
         stdin=fx.PASSWORD + "\n")
    args = ["create-client", "--name", "Bench client", "--redirect-uri", fx.REDIRECT_URI,
            "--scope", fx.SCOPE, "--auth-method", "client_secret_basic", "--json"]
    for grant in fx.GRANT_TYPES:
        args += ["--grant-type", grant]
    client = json.loads(_cli(*args))
    found = fx.fixtures(os.environ.get("AUTHGATE_ISSUER", ""))
    found.update(client_id=client["client_id"], client_secret=client["client_secret"])
    oauth1 = json.loads(_cli("create-oauth1-client", "--name", "Bench OAuth1",
                             "--callback-uri", fx.REDIRECT_URI, "--json"))
    found["oauth1"] = {"client_key": oauth1["client_id"],
                       "client_secret": oauth1["client_secret"],
                       "token": None, "token_secret": None}
    return found


if __name__ == "__main__":
    print(json.dumps(seed()))
