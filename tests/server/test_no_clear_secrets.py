"""No secret in clear: not in the logs, not in the pages, not in any table.

Every flow runs once (code + PKCE with refresh, client credentials, password,
device, OAuth 1 three-legged, RFC 7591 registration with an initial access
token, sign-up and sign-in) with every logger at DEBUG. Each clear value the
flows handed out is collected, then searched for in the captured log text,
in every HTML page served (except the one page whose job is to show it:
the new client's secret, the out-of-band verifier), and in a dump of every
table. Secrets that must stay usable (OAuth 1 client and token secrets, the
signing keys) are encrypted at rest, so their clear text must not show
either. Run on SQLite alone, and on PostgreSQL with Redis (whose keys are
dumped too).
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from oauthlib.oauth1 import Client as OAuth1Signer
from sqlalchemy import MetaData, select

from authgate.oauth2 import create_s256_code_challenge
from authgate.server import admin
from tests.server.conftest import PASSWORD, Server, csrf_of
from tests.support.postgres import fresh_postgres

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REDIRECT = "https://app.example.com/cb"
VERIFIER = "k" * 50
SIGNUP_PASSWORD = "Tr0ub4dor-and-3-horses"
ISSUER = "http://localhost"


class Recorder:
    """The clear values, and every HTML page that is not the one meant to show a value."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.pages: list[tuple[str, str]] = []

    def secret(self, what: str, value: str | None) -> str:
        assert value, f"{what} is empty"
        self.secrets[what] = value
        return value

    def page(self, where: str, response) -> str:
        text = response.get_data(as_text=True)
        if response.mimetype == "text/html":
            self.pages.append((where, text))
        return text


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _get(rec: Recorder, web, url: str):
    answer = web.get(url)
    rec.page(url, answer)
    return answer


def _form(rec: Recorder, web, url: str, data: dict, *, page_url: str | None = None):
    page = _get(rec, web, page_url or url)
    answer = web.post(url, data={**data, "csrf_token": csrf_of(page.get_data(as_text=True))})
    return answer


def _signup_and_login(rec: Recorder, web) -> None:
    rec.secret("sign-up password", SIGNUP_PASSWORD)
    answer = _form(rec, web, "/signup", {"username": "carol", "password": SIGNUP_PASSWORD,
                                         "scope": "profile"})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    web.post("/logout", data={"csrf_token": csrf_of(_get(rec, web, "/logout").get_data(True))})
    wrong = _form(rec, web, "/login", {"username": "carol", "password": SIGNUP_PASSWORD + "!"})
    assert wrong.status_code == 401
    rec.page("/login (wrong password)", wrong)
    rec.secret("wrong password", SIGNUP_PASSWORD + "!")
    right = _form(rec, web, "/login", {"username": "carol", "password": SIGNUP_PASSWORD})
    assert right.status_code == 303


def _code_flow(rec: Recorder, web) -> None:
    created = _form(rec, web, "/create_client", {
        "client_name": "Photo app", "redirect_uris": REDIRECT, "scope": "profile",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic"})
    html = created.get_data(as_text=True)  # the one page that shows the secret: not recorded
    client_id = re.search(r'id="client_id">([^<]+)<', html).group(1)
    secret = rec.secret("web client secret", re.search(r'id="client_secret">([^<]+)<',
                                                       html).group(1))
    url = "/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "scope": "profile",
        "redirect_uri": REDIRECT, "state": "s", "code_challenge_method": "S256",
        "code_challenge": create_s256_code_challenge(VERIFIER)})
    consent = _form(rec, web, url, {"confirm": "yes"})
    assert consent.status_code == 302, consent.get_data(as_text=True)
    code = rec.secret("authorization code",
                      parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0])
    rec.secret("PKCE verifier", VERIFIER)
    tokens = web.post("/oauth/token", headers=_basic(client_id, secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER}).get_json()
    rec.secret("code access token", tokens["access_token"])
    rec.secret("code refresh token", tokens["refresh_token"])
    refreshed = web.post("/oauth/token", headers=_basic(client_id, secret), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).get_json()
    rec.secret("refreshed access token", refreshed["access_token"])
    rec.secret("rotated refresh token", refreshed["refresh_token"])
    me = web.get("/api/me", headers={"Authorization": "Bearer " + refreshed["access_token"]})
    assert me.status_code == 200
    _get(rec, web, "/")  # the home page lists the client and the authorization


def _machine_flows(rec: Recorder, server: Server, web) -> None:
    server.user("dave")
    rec.secret("admin-made password", PASSWORD)
    machine = server.client("m", grant_types=("client_credentials", "password", "refresh_token"),
                            redirect_uris=())
    rec.secret("machine client secret", machine["client_secret"])
    auth = _basic(machine["client_id"], machine["client_secret"])
    cc = web.post("/oauth/token", headers=auth,
                  data={"grant_type": "client_credentials", "scope": "profile"}).get_json()
    rec.secret("client credentials token", cc["access_token"])
    pw = web.post("/oauth/token", headers=auth, data={
        "grant_type": "password", "username": "dave", "password": PASSWORD,
        "scope": "profile"}).get_json()
    rec.secret("password grant token", pw["access_token"])
    rec.secret("password grant refresh token", pw["refresh_token"])
    revoked = web.post("/oauth/revoke", headers=auth, data={"token": pw["refresh_token"]})
    assert revoked.status_code == 200


def _device_flow(rec: Recorder, server: Server, web) -> None:
    tv = server.client("tv", grant_types=(DEVICE_GRANT,), redirect_uris=())
    rec.secret("device client secret", tv["client_secret"])
    auth = _basic(tv["client_id"], tv["client_secret"])
    started = web.post("/oauth/device", headers=auth, data={"scope": "profile"}).get_json()
    rec.secret("device code", started["device_code"])
    consent = _form(rec, web, "/activate", {"user_code": started["user_code"]},
                    page_url="/activate?user_code=" + started["user_code"])
    rec.page("/activate consent", consent)
    done = web.post("/activate", data={"user_code": started["user_code"], "confirm": "yes",
                                       "csrf_token": csrf_of(consent.get_data(as_text=True))})
    rec.page("/activate done", done)
    tokens = web.post("/oauth/token", headers=auth, data={
        "grant_type": DEVICE_GRANT, "device_code": started["device_code"]}).get_json()
    rec.secret("device access token", tokens["access_token"])


def _oauth1_flow(rec: Recorder, server: Server, web) -> None:
    with server.app.app_context():
        printer = admin.create_oauth1_client("printer", "", None)
    key, secret = printer["client_id"], rec.secret("oauth1 client secret",
                                                   printer["client_secret"])
    signer = OAuth1Signer(key, client_secret=secret, callback_uri="oob")
    _, headers, _ = signer.sign(ISSUER + "/oauth1/initiate", http_method="POST")
    temporary = parse_qs(web.post("/oauth1/initiate", headers=headers).get_data(as_text=True))
    token = temporary["oauth_token"][0]
    token_secret = rec.secret("oauth1 temporary secret", temporary["oauth_token_secret"][0])
    page = _get(rec, web, "/oauth1/authorize?oauth_token=" + token)
    answer = web.post("/oauth1/authorize?oauth_token=" + token, data={
        "confirm": "yes", "csrf_token": csrf_of(page.get_data(as_text=True))})
    # The oob page's job is to show the verifier: not recorded as a page.
    verifier = rec.secret("oauth1 verifier", re.search(
        r'id="oauth_verifier"[^>]*>([^<]+)<', answer.get_data(as_text=True)).group(1))
    signer = OAuth1Signer(key, client_secret=secret, resource_owner_key=token,
                          resource_owner_secret=token_secret, verifier=verifier)
    _, headers, _ = signer.sign(ISSUER + "/oauth1/token", http_method="POST")
    credentials = parse_qs(web.post("/oauth1/token", headers=headers).get_data(as_text=True))
    access, access_secret = credentials["oauth_token"][0], credentials["oauth_token_secret"][0]
    # The oauth_token itself is an identifier, sent in clear on every signed request
    # (RFC 5849 §3.1) and looked up as is; only its secret is a secret.
    rec.secret("oauth1 token secret", access_secret)
    signer = OAuth1Signer(key, client_secret=secret, resource_owner_key=access,
                          resource_owner_secret=access_secret)
    _, headers, _ = signer.sign(ISSUER + "/oauth1/api/me")
    assert web.get("/oauth1/api/me", headers=headers).status_code == 200


def _registration(rec: Recorder, server: Server, web) -> None:
    with server.app.app_context():
        initial = rec.secret("initial access token", admin.create_initial_access_token(600)[0])
    made = web.post("/oauth/register", headers={"Authorization": "Bearer " + initial},
                    json={"grant_types": ["client_credentials"], "scope": "profile"})
    assert made.status_code == 201, made.get_data(as_text=True)
    rec.secret("registered client secret", made.get_json()["client_secret"])


def _dump(server: Server) -> Iterator[tuple[str, str]]:
    """Every cell of every table, as text (bytes decoded, so a clear value would show)."""
    engine = server.state.db.engine
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) \
                        else str(value)
                    yield f"{table.name}.{column.name}", text


def _dump_redis(server: Server) -> Iterator[tuple[str, str]]:
    """Every key and value under the server's Redis prefix (nonces, temporary credentials,
    device polling state, rate-limit counters)."""
    settings = server.state.settings
    if not settings.redis_url:
        return
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    try:
        for key in client.scan_iter(match=settings.redis_prefix + "*"):
            value = client.get(key) or b""
            yield "redis " + key.decode(), key.decode() + " " + value.decode("utf-8", "replace")
    finally:
        client.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql+redis", marks=[
    pytest.mark.postgres, pytest.mark.redis])])
def backends(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    with fresh_postgres(request.getfixturevalue("postgres_url")) as url:
        yield {"AUTHGATE_DATABASE_URL": url,
               "AUTHGATE_REDIS_URL": request.getfixturevalue("redis_url"),
               "AUTHGATE_REDIS_PREFIX": request.getfixturevalue("redis_prefix")}


def test_no_secret_in_clear_in_logs_pages_or_tables(make_server, backends,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the library's and the server's
    server = make_server(AUTHGATE_ISSUER=ISSUER, **backends)
    rec = Recorder()
    web = server.app.test_client()
    _signup_and_login(rec, web)
    _code_flow(rec, web)
    _machine_flows(rec, server, web)
    _device_flow(rec, server, web)
    _oauth1_flow(rec, server, web)
    _registration(rec, server, web)

    rec.secret("app secret key", server.state.settings.secret_key)
    for n, key in enumerate(server.state.keys.keyset()):
        pem = key.to_pem().decode()
        rec.secret(f"signing key PEM {n}", pem)
        # The base64 body alone, in case a dump re-wrapped the PEM lines.
        rec.secret(f"signing key body {n}", "".join(pem.strip().splitlines()[1:-1])[:64])
    for what, token in list(rec.secrets.items()):
        if token.count(".") == 2 and token.startswith("ey"):  # a JWT: its signature too
            rec.secret(what + " (signature)", token.rsplit(".", 1)[1])

    assert len(rec.secrets) >= 25 and len(rec.pages) > 10
    # oauthlib is the test's own OAuth 1 client (the server does not use it); it logs
    # what it signs, verifier included, at DEBUG: that is the client's log, not ours.
    formatter = logging.Formatter("%(name)s %(message)s")
    server_records = [r for r in caplog.records if not r.name.startswith("oauthlib")]
    logs = "\n".join(formatter.format(r) + str(r.__dict__) for r in server_records)
    assert any(r.name.startswith("authgate") for r in server_records)
    cells = list(_dump(server))
    assert any(name.startswith("audit_event.") for name, _ in cells)
    redis_cells = list(_dump_redis(server))
    assert bool(redis_cells) == bool(backends)
    cells += redis_cells
    for what, value in rec.secrets.items():
        assert value not in logs, f"{what} appears in the logs"
        for where, html in rec.pages:
            assert value not in html, f"{what} appears in the page {where}"
        for name, text in cells:
            assert value not in text, f"{what} appears in {name}"
