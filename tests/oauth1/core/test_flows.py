"""The three legs and a resource request through the core, with real in-memory stores."""

from __future__ import annotations

import pytest

from authgate.core.http import Request
from authgate.core.oauth1 import (
    AccessDeniedError,
    InvalidTokenError,
    SecretCipher,
    SecretDecryptionError,
)
from tests.oauth1.harness import CALLBACK, SERVER, FakeUser, Harness


def test_temporary_credential_response(clock) -> None:
    h = Harness(clock)
    response = h.initiate()
    assert response.status == 200
    assert response.header("Content-Type") == "application/x-www-form-urlencoded"
    assert response.header("Cache-Control") == "no-store"
    body = Request.build("GET", "http://x/?" + response.text).query
    assert body["oauth_callback_confirmed"] == "true"
    assert len(body["oauth_token"]) == 42 and len(body["oauth_token_secret"]) == 48


def test_full_flow_and_resource_request(clock) -> None:
    h = Harness(clock)
    credentials = h.token_credentials()
    request = h.sign("/photos?size=original", "GET",
                     resource_owner_key=credentials["oauth_token"],
                     resource_owner_secret=credentials["oauth_token_secret"])
    signed = h.resource.validate(request)
    assert signed.credential.user_id == 7
    assert h.registry.calls["delete_temporary_credential"] == 1


def test_parameters_may_come_from_body_or_query(clock) -> None:
    h = Harness(clock)
    assert h.initiate(placement="body").status == 200
    assert h.initiate(placement="query").status == 200


def test_authorization_is_bound_to_one_user_once(clock) -> None:
    h = Harness(clock)
    temporary = h.temporary()
    verifier = h.authorize(temporary["oauth_token"], FakeUser(1))
    try:
        h.authorize(temporary["oauth_token"], FakeUser(2))
    except InvalidTokenError:
        pass
    else:
        raise AssertionError("a second authorization must be refused")
    assert h.exchange(temporary, verifier).status == 200
    assert [t.user_id for t in h.tokens.values()] == [1]


def test_denial_redirects_and_burns_the_temporary_credential(clock) -> None:
    h = Harness(clock)
    temporary = h.temporary()
    request = Request.build("POST", f"{SERVER}/authorize",
                            form={"oauth_token": temporary["oauth_token"]})
    response = h.server.create_authorization_response(request, None)
    assert response.status == 302
    assert response.header("Location").startswith(CALLBACK + "?")
    assert "error=access_denied" in response.header("Location")
    try:
        h.server.check_authorization_request(request)
    except InvalidTokenError:
        pass
    else:
        raise AssertionError("a denied temporary credential must be gone")


def test_oob_denial_raises(clock) -> None:
    h = Harness(clock)
    temporary = h.temporary(callback_uri="oob")
    request = Request.build("GET", f"{SERVER}/authorize?oauth_token={temporary['oauth_token']}")
    try:
        h.server.create_authorization_response(request, None)
    except AccessDeniedError as error:
        assert error.status == 403
    else:
        raise AssertionError("expected AccessDeniedError")


def test_temporary_secret_is_not_in_the_cache_in_clear(clock) -> None:
    h = Harness(clock)
    temporary = h.temporary()
    dumped = repr(h.cache._data)
    assert temporary["oauth_token_secret"] not in dumped
    assert "ag1." in dumped


def test_cipher_round_trip_purpose_and_rotation() -> None:
    old = SecretCipher("old key")
    sealed = old.encrypt("s3cret", "client")
    assert old.decrypt(sealed, "client") == "s3cret"
    rotated = SecretCipher("new key", fallbacks=["old key"])
    assert rotated.decrypt(sealed, "client") == "s3cret"
    assert rotated.encrypt("x", "p").split(".")[1] != sealed.split(".")[1]
    with pytest.raises(SecretDecryptionError):
        old.decrypt(sealed, "token")  # another purpose
    with pytest.raises(SecretDecryptionError):
        SecretCipher("other").decrypt(sealed, "client")
    assert "s3cret" not in repr(old)
