"""The ``authgate`` command line, through click's runner, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import create_engine, func, select

from authgate.server.cli import cli
from authgate.server.models import (
    InitialAccessToken,
    OAuth1Client,
    OAuth2Client,
    SigningKeyRecord,
    User,
)


@pytest.fixture
def run(tmp_path: Path):
    env = {"AUTHGATE_INSTANCE_PATH": str(tmp_path / "instance"),
           "AUTHGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "AUTHGATE_JWT_ALG": "EdDSA"}
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)

    engine = create_engine(env["AUTHGATE_DATABASE_URL"])

    def count(model) -> int:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(model)).scalar_one())

    def stored(column) -> list[str]:
        with engine.connect() as connection:
            return [str(v) for v in connection.execute(select(column)).scalars()]

    invoke.count = count  # type: ignore[attr-defined]
    invoke.stored = stored  # type: ignore[attr-defined]
    assert invoke("db", "upgrade").exit_code == 0
    yield invoke
    engine.dispose()


def test_create_user_reads_the_password_from_stdin(run) -> None:
    result = run("create-user", "alice", "--password-stdin", "--scope", "profile email",
                 stdin="correct horse battery\n")
    assert result.exit_code == 0, result.output
    assert "alice" in result.output and "correct horse" not in result.output
    again = run("create-user", "alice", "--password-stdin", stdin="another password\n")
    assert again.exit_code != 0 and "exists" in again.output
    short = run("create-user", "bob", "--password-stdin", stdin="short\n")
    assert short.exit_code != 0
    assert run.count(User) == 1


def test_create_client_json_and_public_clients_have_no_secret(run) -> None:
    result = run("create-client", "--name", "Web", "--redirect-uri", "https://app.example/cb",
                 "--grant-type", "authorization_code", "--grant-type", "refresh_token", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert len(info["client_id"]) >= 20 and len(info["client_secret"]) >= 40
    assert info["grant_types"] == ["authorization_code", "refresh_token"]
    public = json.loads(run("create-client", "--name", "SPA", "--auth-method", "none",
                            "--redirect-uri", "http://127.0.0.1/cb", "--json").output)
    assert "client_secret" not in public
    assert public["token_endpoint_auth_method"] == "none"
    assert run.count(OAuth2Client) == 2
    assert info["client_secret"] not in run.stored(OAuth2Client.client_secret)


@pytest.mark.parametrize("args", [
    ["--name", "x"],                                           # code grant without redirect
    ["--name", "x", "--redirect-uri", "http://evil.example/cb"],  # plain http off loopback
    ["--name", "x", "--redirect-uri", "https://a.example/cb#frag"],
    ["--name", "x", "--redirect-uri", "javascript:alert(1)"],
    ["--name", "x", "--redirect-uri", "https://a.example/cb", "--scope", "admin"],
    ["--name", "x", "--grant-type", "client_credentials", "--auth-method", "none"],
    ["--name", "", "--redirect-uri", "https://a.example/cb"],
    ["--name", "x", "--grant-type", "bogus"],
])
def test_create_client_refuses_bad_registrations(run, args: list[str]) -> None:
    result = run("create-client", *args)
    assert result.exit_code != 0
    assert run.count(OAuth2Client) == 0


def test_create_oauth1_client_with_an_rsa_key(run, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "client.pem"
    pem.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    result = run("create-oauth1-client", "--name", "Printer", "--callback-uri",
                 "https://printer.example/cb", "--rsa-public-key", str(pem), "--json")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.output)) >= {"client_id", "client_secret"}
    ec_pem = tmp_path / "ec.pem"
    ec_pem.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert run("create-oauth1-client", "--name", "x", "--rsa-public-key",
               str(ec_pem)).exit_code != 0
    assert run("create-oauth1-client", "--name", "x", "--callback-uri",
               "ftp://x/cb").exit_code != 0
    assert run.count(OAuth1Client) == 1


def test_rotate_keys_and_initial_tokens_and_db_upgrade(run) -> None:
    assert run("db", "upgrade").output.strip() == "database at revision 0001"  # idempotent
    assert run.count(SigningKeyRecord) == 1
    result = run("rotate-keys")
    assert result.exit_code == 0 and "new signing key" in result.output
    assert run.count(SigningKeyRecord) == 2
    token = json.loads(run("create-initial-token", "--json").output)
    assert len(token["initial_access_token"]) >= 40
    assert run.count(InitialAccessToken) == 1
    assert token["initial_access_token"] not in run.stored(InitialAccessToken.token)  # hashed


def test_python_dash_m_authgate_is_the_same_command() -> None:
    import runpy

    with pytest.raises(SystemExit) as exit_info:
        import sys

        argv, sys.argv = sys.argv, ["authgate", "--help"]
        # Another test may have imported the module already (a walk over the package):
        # run_module would warn that it runs a module found in sys.modules.
        imported = sys.modules.pop("authgate.__main__", None)
        try:
            runpy.run_module("authgate", run_name="__main__")
        finally:
            sys.argv = argv
            if imported is not None:
                sys.modules["authgate.__main__"] = imported
    assert exit_info.value.code == 0
