"""The device flow through the core alone: request values in, response values out."""

from __future__ import annotations

import re

import pytest

from authgate.core.oauth2.device import (
    APPROVED,
    DENIED,
    PENDING,
    InvalidUserCodeError,
    UserCodeUsedError,
    format_user_code,
    generate_user_code,
    normalize_user_code,
)
from authgate.core.oauth2.errors import RateLimitedError
from authgate.core.security import token_digest

from .conftest import ISSUER, Harness

USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


def test_user_codes_follow_rfc8628_6_1() -> None:
    codes = {generate_user_code() for _ in range(200)}
    assert len(codes) > 190
    for code in codes:
        assert USER_CODE.match(format_user_code(code))
    assert normalize_user_code("bcdf-ghjk") == "BCDFGHJK"
    assert normalize_user_code(" BCDF GHJK ") == "BCDFGHJK"
    assert normalize_user_code("bcdfghjk") == "BCDFGHJK"
    for bad in ("BCDF-GHJA", "BCDF-GHJ", "BCDF-GHJKL", "", None, "B" * 200):
        assert normalize_user_code(bad) is None


def test_device_authorization_response(harness: Harness) -> None:
    data = harness.start()
    assert set(data) == {"device_code", "user_code", "verification_uri",
                         "verification_uri_complete", "expires_in", "interval"}
    assert len(data["device_code"]) >= 43  # 32 bytes, base64url
    assert USER_CODE.match(data["user_code"])
    assert data["verification_uri"] == ISSUER + "/activate"
    assert data["verification_uri_complete"] == f"{ISSUER}/activate?user_code={data['user_code']}"
    assert data["expires_in"] == 600 and data["interval"] == 5
    # Only the digest is stored.
    stored = harness.devices.query_device_credential(token_digest(data["device_code"]))
    assert stored is not None and stored.status == PENDING
    assert data["device_code"] not in repr(stored)


def test_client_authentication_methods(harness: Harness) -> None:
    post = harness.device_authorization(
        {"client_id": harness.client.client_id, "client_secret": harness.secret}, headers={})
    assert post.status == 401  # registered for Basic only
    public = harness.device_authorization({"client_id": harness.public.client_id}, headers={})
    assert public.status == 200
    lower = harness.basic()
    lower["Authorization"] = lower["Authorization"].replace("Basic", "bAsIc")
    assert harness.device_authorization({}, headers=lower).status == 200
    wrong = harness.device_authorization({}, headers=harness.basic(secret="nope"))
    assert wrong.status == 401 and wrong.json()["error"] == "invalid_client"
    assert harness.device_authorization({}, headers={}).status == 401


def test_scope_is_checked(harness: Harness) -> None:
    response = harness.device_authorization({"scope": "admin"})
    assert response.status == 400 and response.json()["error"] == "invalid_scope"


def test_full_flow_pending_then_token(harness: Harness, clock) -> None:
    data = harness.start()
    pending = harness.poll(data["device_code"])
    assert pending.status == 400 and pending.json()["error"] == "authorization_pending"
    prompt = harness.flow.lookup(data["user_code"].lower())
    assert prompt.client is harness.client and prompt.scopes == ("profile",)
    harness.flow.approve(data["user_code"], harness.alice)
    clock.advance(5)
    token = harness.poll(data["device_code"])
    assert token.status == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "profile"
    assert "refresh_token" in body
    record = harness.store.query_token(body["access_token"])
    assert record.user_id == harness.alice.id  # the approving user, not the developer
    assert record.client_id == harness.client.client_id


def test_metadata_lists_device_endpoint_and_grant(harness: Harness) -> None:
    metadata = harness.server.metadata()
    assert metadata["device_authorization_endpoint"] == ISSUER + "/oauth/device"
    assert "urn:ietf:params:oauth:grant-type:device_code" in metadata["grant_types_supported"]


def test_slow_down_grows_interval_for_good(harness: Harness, clock) -> None:
    data = harness.start()
    code = data["device_code"]
    assert harness.poll(code).json()["error"] == "authorization_pending"
    clock.advance(2)
    fast = harness.poll(code)
    assert fast.status == 400 and fast.json()["error"] == "slow_down"
    assert harness.flow.current_interval(code) == 10
    clock.advance(5)  # the old interval is no longer enough
    assert harness.poll(code).json()["error"] == "slow_down"
    assert harness.flow.current_interval(code) == 15
    clock.advance(15)
    assert harness.poll(code).json()["error"] == "authorization_pending"
    assert harness.flow.current_interval(code) == 15


def test_another_clients_device_code_is_refused(harness: Harness, clock) -> None:
    data = harness.start()
    harness.flow.approve(data["user_code"], harness.alice)
    stolen = harness.poll(data["device_code"],
                          headers=harness.basic(harness.other.client_id, harness.other_secret))
    assert stolen.status == 400 and stolen.json()["error"] == "invalid_grant"
    credential = harness.flow.find(data["device_code"])
    assert credential is not None and credential.status == APPROVED
    assert harness.store.tokens == []
    assert harness.poll(data["device_code"]).status == 200


def test_polling_after_success_is_refused(harness: Harness, clock) -> None:
    data = harness.start()
    harness.flow.approve(data["user_code"], harness.alice)
    assert harness.poll(data["device_code"]).status == 200
    for _ in range(2):
        clock.advance(30)
        again = harness.poll(data["device_code"])
        assert again.status == 400 and again.json()["error"] == "invalid_grant"
    assert len(harness.store.tokens) == 1


def test_polling_after_denial(harness: Harness, clock) -> None:
    data = harness.start()
    harness.flow.deny(data["user_code"])
    for _ in range(3):
        denied = harness.poll(data["device_code"])
        assert denied.status == 400 and denied.json()["error"] == "access_denied"
    assert harness.flow.current_interval(data["device_code"]) == 5  # fast polls change nothing
    assert harness.flow.find(data["device_code"]).status == DENIED
    with pytest.raises(UserCodeUsedError):
        harness.flow.approve(data["user_code"], harness.alice)
    assert harness.store.tokens == []


def test_polling_after_expiry(harness: Harness, clock) -> None:
    data = harness.start()
    harness.flow.approve(data["user_code"], harness.alice)
    clock.advance(601)
    expired = harness.poll(data["device_code"])
    assert expired.status == 400 and expired.json()["error"] == "expired_token"
    assert harness.store.tokens == []


def test_approving_after_expiry_fails(harness: Harness, clock) -> None:
    data = harness.start()
    clock.advance(600)
    with pytest.raises(InvalidUserCodeError):
        harness.flow.approve(data["user_code"], harness.alice)
    assert harness.flow.find(data["device_code"]).status == PENDING


def test_unknown_and_missing_device_codes(harness: Harness) -> None:
    unknown = harness.poll("not-a-device-code")
    assert unknown.status == 400 and unknown.json()["error"] == "invalid_grant"
    missing = harness.poll("", form={})
    assert missing.json()["error"] == "invalid_request"


def test_a_code_approved_by_one_user_cannot_be_taken_by_another(harness: Harness) -> None:
    data = harness.start()
    harness.flow.approve(data["user_code"], harness.alice)
    with pytest.raises(UserCodeUsedError):
        harness.flow.approve(data["user_code"], harness.bob)
    with pytest.raises(UserCodeUsedError):
        harness.flow.deny(data["user_code"])
    credential = harness.flow.find(data["device_code"])
    assert credential.status == APPROVED and credential.user_id == harness.alice.id


def test_user_code_guessing_is_rate_limited(harness: Harness, clock) -> None:
    data = harness.start()
    for _ in range(harness.flow.limiter.limit):
        with pytest.raises(InvalidUserCodeError):
            harness.flow.lookup("BBBB-BBBB", remote_addr="198.51.100.7")
    with pytest.raises(RateLimitedError) as caught:
        harness.flow.lookup(data["user_code"], remote_addr="198.51.100.7")
    assert caught.value.status == 429
    assert dict(caught.value.headers)["Retry-After"].isdigit()
    # The right code from the blocked address is refused too and nothing changed ...
    assert harness.flow.find(data["device_code"]).status == PENDING
    # ... while another address is not affected.
    assert harness.flow.lookup(data["user_code"], remote_addr="203.0.113.9").client is not None
    clock.advance(harness.flow.limiter.window)
    fresh = harness.start()
    assert harness.flow.lookup(fresh["user_code"], remote_addr="198.51.100.7")


def test_rate_limit_per_session(harness: Harness) -> None:
    for index in range(harness.flow.limiter.limit):
        with pytest.raises(InvalidUserCodeError):
            harness.flow.lookup("BBBB-BBBB", remote_addr=f"192.0.2.{index}", session_key="s1")
    with pytest.raises(RateLimitedError):
        harness.flow.lookup("BBBB-BBBB", remote_addr="192.0.2.200", session_key="s1")


def test_public_client_polls_with_client_id(harness: Harness) -> None:
    response = harness.device_authorization({"client_id": harness.public.client_id}, headers={})
    data = response.json()
    harness.flow.approve(data["user_code"], harness.bob)
    token = harness.poll(data["device_code"], headers={},
                         form={"client_id": harness.public.client_id})
    assert token.status == 200, token.text


def test_client_without_the_grant_type(harness: Harness) -> None:
    client, secret = harness.store.add_client(grant_types=["authorization_code"])
    response = harness.device_authorization({}, headers=harness.basic(client.client_id, secret))
    assert response.status == 400 and response.json()["error"] == "unauthorized_client"


def test_device_code_in_query_is_refused(harness: Harness) -> None:
    from authgate.core.http import Request

    request = Request.build(
        "POST", ISSUER + "/oauth/token?device_code=x",
        form={"grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
        headers=harness.basic(),
    )
    assert harness.server.create_token_response(request).status == 400
