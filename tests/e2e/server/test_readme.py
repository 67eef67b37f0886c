"""The README's and docs/server.md's own commands, run as written against ``authgate serve``.

The command blocks are read from the documents themselves (so an edit that
breaks them fails here), run by bash from the repository root with the real
``curl``; only the port of ``http://127.0.0.1:4999`` is this server's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import IN_CI
from tests.e2e.server.served import AUTHGATE, Served
from tests.e2e.server.tokens import verified

ROOT = Path(__file__).resolve().parents[3]


def _block_after(document: Path, marker: str) -> list[str]:
    """The indented code block after ``marker``, as commands (``\\`` continuations joined)."""
    text = document.read_text()
    assert marker in text, f"{document.name} no longer has {marker!r}"
    commands: list[str] = []
    continued = False
    for line in text.split(marker, 1)[1].lstrip("\n").splitlines():
        if not line.strip():
            if commands:
                break
            continue
        if not line.startswith("    "):
            break
        part = line.strip()
        if continued:
            commands[-1] += " " + part.removesuffix("\\").strip()
        else:
            commands.append(part.removesuffix("\\").strip())
        continued = part.endswith("\\")
    return commands


def _run(served: Served, command: str, stdin: str = "", **env: str) -> str:
    command = command.replace("http://127.0.0.1:4999", served.base)
    if not (ROOT / ".venv/bin/authgate").exists():  # a venv elsewhere: the same program
        command = command.replace(".venv/bin/authgate", AUTHGATE)
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, input=stdin, text=True,
                          capture_output=True, timeout=60, check=False,
                          env={**served.env, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
                               "PATH": os.path.dirname(AUTHGATE) + ":" + os.environ["PATH"],
                               **env})
    assert done.returncode == 0, f"{command}\n{done.stderr}"
    return done.stdout


def test_the_first_start_made_the_database_secret_key_and_signing_key(served: Served) -> None:
    assert (served.instance / "authgate.sqlite").is_file()
    secret = served.instance / "secret_key"
    assert secret.is_file() and stat.S_IMODE(secret.stat().st_mode) == 0o600
    keys = requests.get(served.base + "/certs", timeout=5).json()["keys"]
    assert keys and all(k["kid"] for k in keys)


def test_readme_commands_as_written(served: Served) -> None:
    if shutil.which("curl") is None:
        (pytest.fail if IN_CI else pytest.skip)("curl is not installed")
    create_user, create_client, curl = _block_after(
        ROOT / "README.md", "The command line does the same without a browser:")
    assert ".venv/bin/authgate create-user alice --password-stdin" in create_user
    assert "create-client" in create_client and curl.startswith("curl ")
    assert "created user alice" in _run(served, create_user, stdin="s3cret-passw0rd\n")
    client = json.loads(_run(served, create_client))
    assert client["grant_types"] == ["client_credentials"] and client["scope"] == "profile"
    answer = json.loads(_run(served, curl, CLIENT_ID=client["client_id"],
                             CLIENT_SECRET=client["client_secret"]))
    assert answer["token_type"].lower() == "bearer" and answer["scope"] == "profile"
    claims = verified(served, answer["access_token"], client["client_id"], "profile",
                      user=None)
    assert claims["sub"] == client["client_id"]


def test_docs_server_commands_as_written(served: Served) -> None:
    commands = _block_after(ROOT / "docs/server.md", "find them. Then:")
    create_user, create_client, rotate = commands
    assert "| authgate create-user alice --password-stdin" in create_user
    # alice exists already (the README's block made her): the same line, another name.
    assert "created user alice2" in _run(served, create_user.replace(" alice ", " alice2 "))
    client = json.loads(_run(served, create_client))
    assert client["redirect_uris"] == ["https://app.example.com/cb"]
    assert client["grant_types"] == ["authorization_code", "refresh_token"]
    before = {k["kid"] for k in requests.get(served.base + "/certs", timeout=5).json()["keys"]}
    assert "new signing key" in _run(served, rotate)
    after = {k["kid"] for k in requests.get(served.base + "/certs", timeout=5).json()["keys"]}
    assert before < after and len(after) == len(before) + 1  # published at once


def test_make_run_serves_what_the_readme_says() -> None:
    """``make run`` is ``authgate serve`` on 127.0.0.1:4999, the default issuer."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run: .*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe and recipe.group(1) == "$(BIN)/authgate serve --host 127.0.0.1 --port 4999"
    assert "http://127.0.0.1:4999" in (ROOT / "README.md").read_text()
    from authgate.server.config import DEFAULTS

    assert DEFAULTS["AUTHGATE_ISSUER"] == "http://127.0.0.1:4999"
