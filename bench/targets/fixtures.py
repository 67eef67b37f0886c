"""The bench's fixed test data and set-up shared by every target and the drivers (stdlib only).

A target's ``seed`` command creates these rows and prints them as JSON; the
harness hands that JSON to the drivers, so a target that generates its own
secrets (``authgate create-client --json``) plugs in the same way.
"""

from __future__ import annotations

SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
USERNAME = "alice"
PASSWORD = "bench-password"
CLIENT_ID = "bench-client-0123456789abcdef"
CLIENT_SECRET = "bench-client-secret-0123456789abcdefghijklmnopqrstuv"
REDIRECT_URI = "https://client.example.com/cb"
SCOPE = "profile"
AUDIENCE = "https://api.bench.example"
OAUTH1_CLIENT_KEY = "bench-oauth1-client-0123456789"
OAUTH1_CLIENT_SECRET = "bench-oauth1-client-secret-0123456789abcdef"
OAUTH1_TOKEN = "bench-oauth1-token-0123456789abcdefghijklmnop"
OAUTH1_TOKEN_SECRET = "bench-oauth1-token-secret-0123456789abcdefghijklm"
GRANT_TYPES = [
    "authorization_code",
    "client_credentials",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
]


def fixtures(issuer: str) -> dict[str, object]:
    """What the drivers need to talk to a seeded target."""
    return {
        "issuer": issuer,
        "username": USERNAME,
        "password": PASSWORD,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "oauth1": {
            "client_key": OAUTH1_CLIENT_KEY,
            "client_secret": OAUTH1_CLIENT_SECRET,
            "token": OAUTH1_TOKEN,
            "token_secret": OAUTH1_TOKEN_SECRET,
        },
    }


def token_format(env: dict[str, str]) -> str:
    """``opaque`` (default), or the JWS algorithm of JWT access tokens (``RS256``, ``ES256``)."""
    return env.get("BENCH_TOKEN_FORMAT", "opaque")


def sqlite_wal(dbapi_connection: object, _record: object) -> None:
    """A ``connect`` listener: SQLite in WAL mode, writers waiting up to 10 s for each
    other (the library app always; the reference only with ``BENCH_SQLITE_WAL=1``)."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
