"""Whole OAuth 2.0 flows and their hostile variants, through every driver."""

from __future__ import annotations

import pytest
from tests.support.oauth2 import ISSUER, REDIRECT, basic, pkce_pair


def code_params(world, **extra):
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": world.confidential.client_id,
              "redirect_uri": REDIRECT, "scope": "profile", "state": "xyz",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    params.update(extra)
    return params, verifier


def get_code(driver, world, **extra):
    params, verifier = code_params(world, **extra)
    resp = driver.authorize(params)
    assert resp.status == 302, resp.body
    got = resp.redirect_params()
    assert got["state"] == "xyz" and got["iss"] == ISSUER
    return got["code"], verifier


def redeem(driver, world, code, verifier, **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier, **extra}
    return driver.token(data, basic(world.confidential.client_id, world.secret))


# -- authorization code ----------------------------------------------------------
def test_authorization_code_with_pkce_issues_tokens(driver, world):
    code, verifier = get_code(driver, world)
    resp = redeem(driver, world, code, verifier)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "profile"
    assert body["expires_in"] == 3600 and len(body["refresh_token"]) >= 40
    assert resp.headers["cache-control"] == "no-store"
    me = driver.resource(body["access_token"], "profile")
    assert me.status == 200 and me.json()["user_id"] == world.user.id


def test_consent_grant_exposes_client_and_scope(driver, world):
    params, _ = code_params(world, scope="profile email")
    grant, _error = driver.consent(params)
    if grant is None:
        pytest.skip("the flask driver renders the consent page instead")
    assert grant.client is world.confidential
    assert grant.request.scope == "profile email"


def test_denied_consent_redirects_access_denied_with_iss(driver, world):
    params, _ = code_params(world)
    resp = driver.authorize(params, allow=False)
    got = resp.redirect_params()
    assert resp.status == 302 and resp.location.startswith(REDIRECT)
    assert got["error"] == "access_denied" and got["state"] == "xyz" and got["iss"] == ISSUER
    assert not world.store.codes


def test_code_reuse_is_refused_and_revokes_first_tokens(driver, world):
    code, verifier = get_code(driver, world)
    first = redeem(driver, world, code, verifier)
    assert first.status == 200
    again = redeem(driver, world, code, verifier)
    assert again.status == 400 and again.json()["error"] == "invalid_grant"
    assert driver.resource(first.json()["access_token"]).status == 401
    assert world.token_count() == 1


def test_code_of_another_client_is_refused(driver, world):
    code, verifier = get_code(driver, world)
    data = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": REDIRECT, "code_verifier": verifier}
    resp = driver.token(data, basic(world.other.client_id, world.other_secret))
    assert resp.status == 400 and resp.json()["error"] == "invalid_grant"
    assert world.token_count() == 0
    # the rightful client can still redeem it
    assert redeem(driver, world, code, verifier).status == 200


def test_expired_code_is_refused(driver, world, clock):
    code, verifier = get_code(driver, world)
    clock.advance(121)
    resp = redeem(driver, world, code, verifier)
    assert resp.status == 400 and resp.json()["error"] == "invalid_grant"
    assert world.token_count() == 0


@pytest.mark.parametrize("verifier_change", ["wrong", "missing"])
def test_wrong_or_missing_verifier_is_refused(driver, world, verifier_change):
    code, verifier = get_code(driver, world)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier_change == "wrong":
        data["code_verifier"] = pkce_pair()[0]
    resp = driver.token(data, basic(world.confidential.client_id, world.secret))
    assert resp.status == 400 and resp.json()["error"] == "invalid_grant"
    assert world.token_count() == 0
    assert redeem(driver, world, code, verifier).status == 200  # nothing was consumed


def test_verifier_without_challenge_is_a_downgrade(driver, world):
    params = {"response_type": "code", "client_id": world.confidential.client_id,
              "redirect_uri": REDIRECT, "scope": "profile", "state": "xyz"}
    code = driver.authorize(params).redirect_params()["code"]
    verifier, _ = pkce_pair()
    resp = redeem(driver, world, code, verifier)
    assert resp.status == 400 and resp.json()["error"] == "invalid_grant"
    assert world.token_count() == 0


def test_public_client_needs_pkce(driver, world):
    params = {"response_type": "code", "client_id": world.public.client_id,
              "redirect_uri": "http://127.0.0.1:53111/callback", "state": "s"}
    resp = driver.authorize(params)
    got = resp.redirect_params()
    assert resp.location.startswith("http://127.0.0.1:53111/callback")
    assert got["error"] == "invalid_request" and "PKCE" in got["error_description"]
    assert not world.store.codes


def test_public_client_with_pkce_and_loopback_port(driver, world):
    verifier, challenge = pkce_pair()
    redirect = "http://127.0.0.1:61000/callback"
    params = {"response_type": "code", "client_id": world.public.client_id,
              "redirect_uri": redirect, "scope": "profile", "state": "s",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    code = driver.authorize(params).redirect_params()["code"]
    resp = driver.token({"grant_type": "authorization_code", "code": code,
                         "redirect_uri": redirect, "client_id": world.public.client_id,
                         "code_verifier": verifier})
    assert resp.status == 200, resp.body


@pytest.mark.parametrize("redirect_uri", [
    REDIRECT + "/extra", REDIRECT[:-1], REDIRECT + "?x=1", REDIRECT + "#frag",
    "https://user@client.example.test/cb", "https://CLIENT.example.test/cb",
    "https://client.example.test/%63b", "https://client.example.test/x/../cb",
    "https://client.example.test:443/cb", "https://evil.example/cb",
    "https://client.example.test/cb/.", "http://client.example.test/cb",
])
def test_redirect_uri_must_match_exactly(driver, world, redirect_uri):
    params, _ = code_params(world, redirect_uri=redirect_uri)
    resp = driver.authorize(params)
    assert resp.status == 400 and "location" not in resp.headers
    assert b"redirect" in resp.body.lower()
    assert not world.store.codes


def test_unknown_client_gets_a_page_not_a_redirect(driver, world):
    params, _ = code_params(world, client_id="nobody")
    resp = driver.authorize(params)
    assert resp.status == 400 and "location" not in resp.headers
    assert not world.store.codes


def test_duplicate_authorization_parameter_is_a_page(driver, world):
    params, _ = code_params(world)
    pairs = [*params.items(), ("redirect_uri", REDIRECT)]
    resp = driver.authorize(pairs)
    assert resp.status == 400 and "location" not in resp.headers
    assert not world.store.codes


def test_unsupported_response_type_and_bad_scope_are_redirected(driver, world):
    params, _ = code_params(world, response_type="id_token")
    got = driver.authorize(params).redirect_params()
    assert got["error"] == "unsupported_response_type" and got["iss"] == ISSUER
    params, _ = code_params(world, scope="admin")
    got = driver.authorize(params).redirect_params()
    assert got["error"] == "invalid_scope" and got["state"] == "xyz"
    assert not world.store.codes


# -- implicit ----------------------------------------------------------------------
def test_implicit_puts_the_token_in_the_fragment(driver, world):
    params = {"response_type": "token", "client_id": world.public.client_id,
              "redirect_uri": "https://spa.example.test/cb", "scope": "profile", "state": "s"}
    resp = driver.authorize(params)
    assert "#" in resp.location and "?" not in resp.location
    got = resp.redirect_params()
    assert got["token_type"] == "Bearer" and got["iss"] == ISSUER and "refresh_token" not in got
    assert driver.resource(got["access_token"]).status == 200


def test_implicit_refused_for_client_not_registered_for_it(driver, world):
    params = {"response_type": "token", "client_id": world.confidential.client_id,
              "redirect_uri": REDIRECT, "state": "s"}
    resp = driver.authorize(params)
    assert "#" in resp.location
    assert resp.redirect_params()["error"] == "unauthorized_client"
    assert world.token_count() == 0


# -- password, client credentials ------------------------------------------------------
def test_password_grant(driver, world):
    data = {"grant_type": "password", "username": "alice", "password": "wonderland",
            "scope": "profile"}
    resp = driver.token(data, basic(world.confidential.client_id, world.secret))
    assert resp.status == 200 and "refresh_token" in resp.json()
    data["password"] = "nope"
    bad = driver.token(data, basic(world.confidential.client_id, world.secret))
    assert bad.status == 400 and bad.json()["error"] == "invalid_grant"
    assert world.token_count() == 1


def test_client_credentials_grant(driver, world):
    resp = driver.token({"grant_type": "client_credentials", "scope": "email"},
                        basic(world.confidential.client_id, world.secret))
    assert resp.status == 200
    body = resp.json()
    assert "refresh_token" not in body and body["scope"] == "email"


def test_client_credentials_refused_for_public_client(driver, world):
    resp = driver.token({"grant_type": "client_credentials",
                         "client_id": world.public.client_id})
    assert resp.status == 401 and resp.json()["error"] == "invalid_client"
    assert world.token_count() == 0


def test_grant_not_registered_for_client(driver, world):
    resp = driver.token({"grant_type": "password", "username": "alice",
                         "password": "wonderland", "client_id": world.public.client_id})
    assert resp.status == 401  # password needs a confidential client
    assert world.token_count() == 0


# -- client authentication and request shape ---------------------------------------------
def test_wrong_secret_with_basic_is_401_with_challenge(driver, world):
    resp = driver.token({"grant_type": "client_credentials"},
                        basic(world.confidential.client_id, "wrong"))
    assert resp.status == 401 and resp.json()["error"] == "invalid_client"
    assert resp.headers["www-authenticate"].startswith("Basic")
    assert world.token_count() == 0


def test_unknown_client_is_401(driver, world):
    resp = driver.token({"grant_type": "client_credentials"}, basic("ghost", "x"))
    assert resp.status == 401 and resp.json()["error"] == "invalid_client"


def test_client_secret_post_works_and_two_methods_are_refused(driver, world):
    ok = driver.token({"grant_type": "client_credentials",
                       "client_id": world.confidential.client_id,
                       "client_secret": world.secret})
    assert ok.status == 401  # registered for client_secret_basic only
    both = driver.token({"grant_type": "client_credentials",
                         "client_id": world.confidential.client_id,
                         "client_secret": world.secret},
                        basic(world.confidential.client_id, world.secret))
    assert both.status == 400 and both.json()["error"] == "invalid_request"
    assert world.token_count() == 0


def test_secret_in_query_string_is_refused(driver, world):
    resp = driver.token({"grant_type": "client_credentials"},
                        basic(world.confidential.client_id, world.secret),
                        query=f"client_secret={world.secret}")
    assert resp.status == 400 and resp.json()["error"] == "invalid_request"
    assert world.token_count() == 0


def test_duplicate_and_empty_parameters(driver, world):
    auth = basic(world.confidential.client_id, world.secret)
    dup = driver.token([("grant_type", "client_credentials"),
                        ("grant_type", "client_credentials")], auth)
    assert dup.status == 400 and "repeated" in dup.json()["error_description"]
    empty = driver.token({"grant_type": ""}, auth)
    assert empty.status == 400 and empty.json()["error"] == "invalid_request"
    assert world.token_count() == 0


def test_wrong_content_type_and_method(driver, world):
    auth = basic(world.confidential.client_id, world.secret)
    resp = driver.token({"grant_type": "client_credentials"}, auth,
                        content_type="application/json")
    assert resp.status == 400 and resp.json()["error"] == "invalid_request"
    assert world.token_count() == 0


def test_unsupported_grant_type(driver, world):
    resp = driver.token({"grant_type": "urn:example:magic"},
                        basic(world.confidential.client_id, world.secret))
    assert resp.status == 400 and resp.json()["error"] == "unsupported_grant_type"


def test_error_description_is_translated(driver, world):
    resp = driver.token({"grant_type": "client_credentials"},
                        {**basic("ghost", "x"), "Accept-Language": "de-DE, en;q=0.5"})
    assert resp.json()["error_description"] == "Die Client-Authentifizierung ist fehlgeschlagen."
    resp = driver.token({"grant_type": "client_credentials"},
                        {**basic("ghost", "x"), "Accept-Language": "fr"})
    assert resp.json()["error_description"] == "L’authentification du client a échoué."


# -- refresh tokens -------------------------------------------------------------------
def _password_tokens(driver, world, scope="profile email"):
    resp = driver.token({"grant_type": "password", "username": "alice",
                         "password": "wonderland", "scope": scope},
                        basic(world.confidential.client_id, world.secret))
    return resp.json()


def test_refresh_rotates_and_replay_revokes_the_family(driver, world):
    first = _password_tokens(driver, world)
    auth = basic(world.confidential.client_id, world.secret)
    second = driver.token({"grant_type": "refresh_token",
                           "refresh_token": first["refresh_token"]}, auth)
    assert second.status == 200
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"] and new["scope"] == "profile email"
    assert driver.resource(new["access_token"]).status == 200
    replay = driver.token({"grant_type": "refresh_token",
                           "refresh_token": first["refresh_token"]}, auth)
    assert replay.status == 400 and replay.json()["error"] == "invalid_grant"
    assert driver.resource(new["access_token"]).status == 401
    third = driver.token({"grant_type": "refresh_token",
                          "refresh_token": new["refresh_token"]}, auth)
    assert third.status == 400


def test_refresh_scope_cannot_widen(driver, world):
    first = _password_tokens(driver, world, scope="profile")
    resp = driver.token({"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                         "scope": "profile email"},
                        basic(world.confidential.client_id, world.secret))
    assert resp.status == 400 and resp.json()["error"] == "invalid_scope"
    narrowed = driver.token({"grant_type": "refresh_token",
                             "refresh_token": first["refresh_token"], "scope": "profile"},
                            basic(world.confidential.client_id, world.secret))
    assert narrowed.status == 200


def test_refresh_token_of_another_client(driver, world):
    first = _password_tokens(driver, world)
    resp = driver.token({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                        basic(world.other.client_id, world.other_secret))
    assert resp.status == 400 and resp.json()["error"] == "invalid_grant"
    assert world.token_count() == 1
    assert driver.resource(first["access_token"]).status == 200


# -- revocation and introspection ---------------------------------------------------------
def test_revocation_is_client_bound(driver, world):
    tokens = _password_tokens(driver, world)
    other = driver.endpoint("revocation", {"token": tokens["access_token"]},
                            basic(world.other.client_id, world.other_secret))
    assert other.status == 200
    assert driver.resource(tokens["access_token"]).status == 200
    mine = driver.endpoint("revocation", {"token": tokens["refresh_token"],
                                          "token_type_hint": "refresh_token"},
                           basic(world.confidential.client_id, world.secret))
    assert mine.status == 200
    assert driver.resource(tokens["access_token"]).status == 401
    bad = driver.endpoint("revocation", {"token": "x", "token_type_hint": "id_token"},
                          basic(world.confidential.client_id, world.secret))
    assert bad.status == 400 and bad.json()["error"] == "unsupported_token_type"
    noauth = driver.endpoint("revocation", {"token": tokens["access_token"]})
    assert noauth.status == 401


def test_introspection(driver, world, clock):
    tokens = _password_tokens(driver, world)
    auth = basic(world.confidential.client_id, world.secret)
    body = driver.endpoint("introspection", {"token": tokens["access_token"]}, auth).json()
    assert body["active"] is True and body["client_id"] == world.confidential.client_id
    assert body["scope"] == "profile email" and body["sub"] == str(world.user.id)
    theirs = driver.endpoint("introspection", {"token": tokens["access_token"]},
                             basic(world.other.client_id, world.other_secret)).json()
    assert theirs == {"active": False}
    assert driver.endpoint("introspection", {"token": "unknown"}, auth).json() == \
        {"active": False}
    clock.advance(3601)
    assert driver.endpoint("introspection", {"token": tokens["access_token"]}, auth).json() \
        == {"active": False}


# -- resource protection ------------------------------------------------------------------
def test_resource_errors(driver, world, clock):
    missing = driver.resource(None)
    assert missing.status == 401 and "error=" not in missing.headers["www-authenticate"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    bogus = driver.resource("not-a-token")
    assert bogus.status == 401 and 'error="invalid_token"' in bogus.headers["www-authenticate"]
    tokens = _password_tokens(driver, world, scope="email")
    weak = driver.resource(tokens["access_token"], "profile")
    assert weak.status == 403 and 'error="insufficient_scope"' in \
        weak.headers["www-authenticate"]
    assert driver.resource(tokens["access_token"], ["profile", "email"]).status == 200
    assert driver.resource(tokens["access_token"], ["profile email"]).status == 403
    clock.advance(3600)
    assert driver.resource(tokens["access_token"], "email").status == 401


def test_token_endpoint_refuses_get(driver, world):
    resp = driver.token({"grant_type": "client_credentials"},
                        basic(world.confidential.client_id, world.secret), method="GET")
    assert resp.status in (400, 405)  # the core answers invalid_request, Flask's router 405
    assert world.token_count() == 0
