"""The ``authgate`` command (also ``python -m authgate``).

Each command builds the app from the same settings as the server (environment,
``AUTHGATE_CONFIG``), so it works on the same database and keys. Secrets are
printed once, to stdout, and never logged.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from authgate.server import admin
from authgate.server.app import create_app, state

__all__ = ["cli", "main"]

GRANT_TYPES = ("authorization_code", "implicit", "password", "client_credentials",
               "refresh_token", "urn:ietf:params:oauth:grant-type:device_code")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none", "private_key_jwt")


def _app() -> Any:
    return create_app()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """authgate: an OAuth 1.0a and OAuth 2.0 authorization server."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=4999, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Serve with gunicorn (N worker processes, each with threads)."""
    from authgate.server.serve import run

    app = create_app()  # first start: schema, secret key and signing key, once, here
    settings = state(app).settings
    issuer = settings.issuer
    state(app).db.dispose()
    click.echo(f"authgate serving on http://{host}:{port}/ (issuer {issuer}); "
               f"metadata at {issuer}/.well-known/oauth-authorization-server")
    run(host, port, workers, settings)


@cli.command("create-user")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--scope", "scopes", multiple=True,
              help="Access rights the user may grant (repeat, or space-separated).")
def create_user(name: str, password_stdin: bool, scopes: tuple[str, ...]) -> None:
    """Create a user; without --password-stdin, prompt for the password."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    rights = " ".join(s for value in scopes for s in value.split()) or "profile"
    with _app().app_context():
        try:
            user = admin.create_user(name, password, rights)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"created user {user.username} (id {user.id}, scopes: {user.scopes})")


@cli.command("create-client")
@click.option("--name", required=True)
@click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(GRANT_TYPES))
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--scope", default="profile", show_default=True)
@click.option("--auth-method", default="client_secret_basic", show_default=True,
              type=click.Choice(AUTH_METHODS))
@click.option("--jwks", "jwks_file", type=click.File("r"), default=None,
              help="The client's public keys (a JWKS file), for private_key_jwt.")
@click.option("--jwks-uri", default=None, help="Where the client publishes its JWKS (https).")
@click.option("--json", "as_json", is_flag=True)
def create_client(name: str, grant_types: tuple[str, ...], redirect_uris: tuple[str, ...],
                  scope: str, auth_method: str, jwks_file: Any, jwks_uri: str | None,
                  as_json: bool) -> None:
    """Register an OAuth 2 client (authorization_code + refresh_token by default)."""
    from authgate.server.registration import client_key_metadata

    keys = None
    try:
        if auth_method == "private_key_jwt":
            jwks = json.load(jwks_file) if jwks_file is not None else None
            keys = client_key_metadata(jwks, jwks_uri)
        elif jwks_file is not None or jwks_uri is not None:
            raise ValueError("--jwks and --jwks-uri go with --auth-method private_key_jwt")
    except ValueError as exc:  # json.JSONDecodeError is one too
        raise click.ClickException(str(exc)) from None
    with _app().app_context():
        try:
            info = admin.create_oauth2_client(name, list(grant_types), list(redirect_uris),
                                              scope, auth_method, keys=keys)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    _print(info, as_json)


@cli.command("create-oauth1-client")
@click.option("--name", required=True)
@click.option("--callback-uri", default="")
@click.option("--rsa-public-key", type=click.File("r"), default=None)
@click.option("--json", "as_json", is_flag=True)
def create_oauth1_client(name: str, callback_uri: str, rsa_public_key: Any,
                         as_json: bool) -> None:
    """Register an OAuth 1.0a client."""
    pem = rsa_public_key.read() if rsa_public_key is not None else None
    with _app().app_context():
        try:
            info = admin.create_oauth1_client(name, callback_uri, pem)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    _print(info, as_json)


@cli.command("rotate-keys")
def rotate_keys() -> None:
    """Add a signing key; the old one stays published until its tokens have expired."""
    with _app().app_context():
        new_key, gone = admin.rotate_signing_keys()
    click.echo(f"new signing key {new_key.kid} ({new_key.alg}), signs from "
               f"{_when(new_key.not_before)}; pruned: {', '.join(gone) or 'none'}")


@cli.command("create-initial-token")
@click.option("--expires-in", default=7 * 86400, show_default=True, type=click.IntRange(60))
@click.option("--json", "as_json", is_flag=True)
def create_initial_token(expires_in: int, as_json: bool) -> None:
    """Make an initial access token for RFC 7591 registration (RFC 7591 §3)."""
    with _app().app_context():
        token, expires_at = admin.create_initial_access_token(expires_in)
    _print({"initial_access_token": token, "expires_at": expires_at}, as_json)


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database schema to the newest revision."""
    from authgate.server import migrate
    from authgate.server.app import prepare_database

    app = create_app({"AUTHGATE_MIGRATE": False})
    server_state = state(app)
    prepare_database(server_state.settings, server_state.db, server_state.cipher, upgrade=True)
    click.echo(f"database at revision {migrate.current_revision(server_state.db.engine)}")


def _when(timestamp: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(timespec="seconds")


def _print(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        click.echo(f"{key}: {value}")


def main() -> None:
    cli(prog_name="authgate")


