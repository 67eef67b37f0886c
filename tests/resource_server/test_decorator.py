"""JWTResourceServer against a live stand-in authorization server: keys over HTTP, every outcome."""

from __future__ import annotations

import time
from typing import Any

import flask
import pytest

from authgate.core.oauth2.jwt import JWKSClient, SigningKey
from authgate.flask.resource_server import JWTResourceServer, current_claims
from tests.conftest import FrozenClock

from .authside import AuthSide
from .conftest import ALGORITHMS

AUD = "https://api.example.test"


def make_app(server: JWTResourceServer) -> flask.Flask:
    app = flask.Flask(__name__)

    @app.get("/profile")
    @server.require("profile")
    def profile() -> Any:
        return {"sub": current_claims.sub, "client_id": current_claims.client_id}

    @app.get("/any-token")
    @server.require()
    def any_token() -> Any:
        return {"scope": current_claims.scope}

    @app.get("/both")
    @server.require("profile email")
    def both() -> Any:
        return {"ok": True}

    @app.get("/either")
    @server.require(["admin", "email"])
    def either() -> Any:
        return {"ok": True}

    return app


@pytest.fixture
def jwks_clock() -> FrozenClock:
    return FrozenClock(1000.0)


@pytest.fixture
def server(auth_side: AuthSide, jwks_clock: FrozenClock) -> JWTResourceServer:
    return JWTResourceServer(auth_side.issuer, AUD,
                             jwks_client=JWKSClient(auth_side.issuer, clock=jwks_clock))


@pytest.fixture
def client(server: JWTResourceServer) -> flask.testing.FlaskClient:
    return make_app(server).test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mint(side: AuthSide, key: SigningKey, *, scope: str = "profile email",
         audience: str | list[str] = AUD, expires_in: int = 600, clock: Any = time.time,
         user: str | None = "alice") -> str:
    return side.generator(audience, key=key, clock=clock).generate(
        client_id="app-1", grant_type="authorization_code", user_id=user, scope=scope,
        expires_in=expires_in)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_valid_token_is_let_in(alg: str, auth_side: AuthSide, client: Any,
                               signing_keys: dict[str, SigningKey]) -> None:
    response = client.get("/profile", headers=bearer(mint(auth_side, signing_keys[alg])))
    assert response.status_code == 200
    assert response.json == {"sub": "alice", "client_id": "app-1"}


def test_keys_are_cached_not_fetched_per_request(auth_side: AuthSide, client: Any,
                                                 signing_keys: dict[str, SigningKey]) -> None:
    for alg in ALGORITHMS * 3:
        assert client.get("/profile", headers=bearer(mint(auth_side, signing_keys[alg]))
                          ).status_code == 200
    assert auth_side.jwks_fetches == 1
    assert auth_side.hits["/.well-known/oauth-authorization-server"] == 1


def test_missing_token_gets_a_bare_challenge(client: Any, auth_side: AuthSide) -> None:
    response = client.get("/profile")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert auth_side.jwks_fetches == 0  # nothing to check, nothing fetched


@pytest.mark.parametrize("header", ["Bearer", "Bearer not a token", "Bearer abc.def.ghi",
                                    "Bearer " + "x" * 20])
def test_malformed_token(client: Any, header: str) -> None:
    response = client.get("/profile", headers={"Authorization": header})
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    if header != "Bearer":  # "Bearer" alone carries no token
        assert 'error="invalid_token"' in challenge
        assert response.json["error"] == "invalid_token"


def test_expired_token(auth_side: AuthSide, client: Any,
                       signing_keys: dict[str, SigningKey]) -> None:
    token = mint(auth_side, signing_keys["RS256"], expires_in=60,
                 clock=lambda: time.time() - 3600)
    response = client.get("/profile", headers=bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_leeway_tolerates_small_clock_skew(auth_side: AuthSide, client: Any,
                                           signing_keys: dict[str, SigningKey]) -> None:
    token = mint(auth_side, signing_keys["RS256"], expires_in=60, clock=lambda: time.time() - 62)
    assert client.get("/profile", headers=bearer(token)).status_code == 200


def test_wrong_issuer(auth_side: AuthSide, client: Any,
                      signing_keys: dict[str, SigningKey]) -> None:
    from authgate.core.oauth2.jwt import JWTAccessTokenGenerator

    other = JWTAccessTokenGenerator("https://elsewhere.example.test",
                                    lambda: signing_keys["RS256"], default_audience=AUD)
    token = other.generate(client_id="app-1", grant_type="client_credentials", user_id=None,
                           scope="profile", expires_in=600)
    response = client.get("/profile", headers=bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("audience", ["https://other.example.test", ["a", "b"],
                                      "*.example.test", "api.example.test"])
def test_wrong_audience(audience: Any, auth_side: AuthSide, client: Any,
                        signing_keys: dict[str, SigningKey]) -> None:
    """Outside the NMOS profile aud is matched exactly: no wildcard, no host-only match."""
    response = client.get("/profile", headers=bearer(
        mint(auth_side, signing_keys["RS256"], audience=audience)))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_audience_in_a_list_is_enough(auth_side: AuthSide, client: Any,
                                      signing_keys: dict[str, SigningKey]) -> None:
    token = mint(auth_side, signing_keys["ES256"], audience=["https://x.test", AUD])
    assert client.get("/profile", headers=bearer(token)).status_code == 200


def test_bad_signature(auth_side: AuthSide, client: Any,
                       signing_keys: dict[str, SigningKey]) -> None:
    token = mint(auth_side, signing_keys["RS256"])
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    assert client.get("/profile", headers=bearer(forged)).status_code == 401


def test_unknown_kid_is_refused_after_one_fetch(auth_side: AuthSide, client: Any,
                                                spare_key: SigningKey) -> None:
    for _ in range(5):
        response = client.get("/profile", headers=bearer(mint(auth_side, spare_key)))
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert auth_side.jwks_fetches == 1  # the first load; made-up kids cause no more


def test_unknown_kid_refetch_is_rate_limited(auth_side: AuthSide, client: Any,
                                             jwks_clock: FrozenClock,
                                             signing_keys: dict[str, SigningKey],
                                             spare_key: SigningKey) -> None:
    assert client.get("/profile", headers=bearer(mint(auth_side, signing_keys["RS256"]))
                      ).status_code == 200
    jwks_clock.advance(31)
    for _ in range(5):
        assert client.get("/profile", headers=bearer(mint(auth_side, spare_key))
                          ).status_code == 401
    assert auth_side.jwks_fetches == 2  # one refresh for the stream of unknown kids


def test_rotation_reaches_the_resource_server(auth_side: AuthSide, client: Any,
                                              jwks_clock: FrozenClock,
                                              signing_keys: dict[str, SigningKey],
                                              spare_key: SigningKey) -> None:
    old = mint(auth_side, signing_keys["RS256"])
    assert client.get("/profile", headers=bearer(old)).status_code == 200
    auth_side.keys.rotate(spare_key, max_token_lifetime=600)  # published now
    jwks_clock.advance(31)
    new = mint(auth_side, spare_key)
    assert client.get("/profile", headers=bearer(new)).status_code == 200
    assert auth_side.jwks_fetches == 2
    assert client.get("/profile", headers=bearer(old)).status_code == 200  # still published


def test_hourly_refresh_drops_removed_keys(auth_side: AuthSide, client: Any,
                                           jwks_clock: FrozenClock,
                                           signing_keys: dict[str, SigningKey]) -> None:
    token = mint(auth_side, signing_keys["ES256"])
    assert client.get("/profile", headers=bearer(token)).status_code == 200
    auth_side.keys.remove(signing_keys["ES256"].kid)
    assert client.get("/profile", headers=bearer(token)).status_code == 200  # cached
    jwks_clock.advance(3601)
    assert client.get("/profile", headers=bearer(token)).status_code == 401
    auth_side.keys.add(signing_keys["ES256"])


def test_insufficient_scope(auth_side: AuthSide, client: Any,
                            signing_keys: dict[str, SigningKey]) -> None:
    token = mint(auth_side, signing_keys["RS512"], scope="email")
    response = client.get("/profile", headers=bearer(token))
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="profile"' in challenge
    assert response.json["error"] == "insufficient_scope"


def test_scope_combinations(auth_side: AuthSide, client: Any,
                            signing_keys: dict[str, SigningKey]) -> None:
    key = signing_keys["RS256"]
    email_only = bearer(mint(auth_side, key, scope="email"))
    both = bearer(mint(auth_side, key, scope="email profile"))
    assert client.get("/both", headers=email_only).status_code == 403
    assert client.get("/both", headers=both).status_code == 200
    assert client.get("/either", headers=email_only).status_code == 200
    assert client.get("/any-token", headers=bearer(mint(auth_side, key, scope=""))
                      ).status_code == 200


def test_errors_are_translated(auth_side: AuthSide, client: Any) -> None:
    response = client.get("/profile", headers={"Authorization": "Bearer x.y.z",
                                               "Accept-Language": "de"})
    assert response.status_code == 401
    assert response.json["error_description"] == (
        "Das Zugriffstoken ist ungültig, abgelaufen oder widerrufen.")


def test_revocation_hook(auth_side: AuthSide, signing_keys: dict[str, SigningKey]) -> None:
    revoked: set[str] = set()
    server = JWTResourceServer(auth_side.issuer, AUD, is_revoked=lambda c: c.jti in revoked)
    client = make_app(server).test_client()
    token = mint(auth_side, signing_keys["RS256"])
    assert client.get("/profile", headers=bearer(token)).status_code == 200
    revoked.add(server.validator.validate(token).jti)
    assert client.get("/profile", headers=bearer(token)).status_code == 401


def test_jwks_down_at_first_use_is_a_503(auth_side: AuthSide, server: JWTResourceServer,
                                         client: Any, jwks_clock: FrozenClock,
                                         signing_keys: dict[str, SigningKey]) -> None:
    auth_side.down = True
    token = mint(auth_side, signing_keys["RS256"])
    response = client.get("/profile", headers=bearer(token))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json["error"] == "temporarily_unavailable"
    assert "WWW-Authenticate" not in response.headers
    auth_side.down = False
    assert client.get("/profile", headers=bearer(token)).status_code == 503  # rate limit holds
    jwks_clock.advance(30)
    assert client.get("/profile", headers=bearer(token)).status_code == 200


def test_unreachable_authorization_server_is_a_503(signing_keys: dict[str, SigningKey]) -> None:
    from tests.conftest import free_port

    issuer = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server = JWTResourceServer(issuer, AUD, jwks_client=JWKSClient(issuer, timeout=2))
    from authgate.core.oauth2.jwt import JWTAccessTokenGenerator

    token = JWTAccessTokenGenerator(issuer, lambda: signing_keys["RS256"],
                                    default_audience=AUD).generate(
        client_id="c", grant_type="client_credentials", user_id=None, scope="profile",
        expires_in=60)
    response = make_app(server).test_client().get("/profile", headers=bearer(token))
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1


def test_refresh_failure_after_keys_loaded_keeps_serving(
        auth_side: AuthSide, client: Any, jwks_clock: FrozenClock,
        signing_keys: dict[str, SigningKey], caplog: pytest.LogCaptureFixture) -> None:
    token = mint(auth_side, signing_keys["RS256"])
    assert client.get("/profile", headers=bearer(token)).status_code == 200
    auth_side.down = True
    jwks_clock.advance(3601)
    assert client.get("/profile", headers=bearer(token)).status_code == 200
    assert "refreshing the JWKS" in caplog.text


def test_works_in_methodview_decorators(auth_side: AuthSide, server: JWTResourceServer,
                                        signing_keys: dict[str, SigningKey]) -> None:
    from flask.views import MethodView

    class Things(MethodView):
        decorators = [server.require("profile")]

        def get(self) -> Any:
            return {"sub": current_claims.sub}

    app = flask.Flask(__name__)
    app.add_url_rule("/things", view_func=Things.as_view("things"))
    client = app.test_client()
    assert client.get("/things").status_code == 401
    response = client.get("/things", headers=bearer(mint(auth_side, signing_keys["ES256"])))
    assert response.status_code == 200 and response.json == {"sub": "alice"}


def test_current_claims_is_none_outside_a_protected_request(server: JWTResourceServer) -> None:
    app = flask.Flask(__name__)
    with app.test_request_context("/"):
        assert current_claims._get_current_object() is None


def test_needs_an_audience() -> None:
    with pytest.raises(ValueError):
        JWTResourceServer("https://as.example.test", [])
