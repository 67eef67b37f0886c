"""Hostile input: each case gets the RFC 5849 §3.2 status and error, and changes nothing."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from authgate.core.http import Request
from authgate.core.oauth1 import (
    BUILTIN_SIGNATURE_METHODS,
    InvalidNonceError,
    InvalidTokenError,
    MissingRequiredParameterError,
)
from authgate.core.oauth1.encoding import build_authorization_header
from tests.oauth1.harness import CLIENT_ID, SERVER, FakeClient, Harness, error_of

NOTHING_WRITTEN = ("create_temporary_credential", "create_token_credential",
                   "create_authorization_verifier", "delete_temporary_credential")


def assert_nothing_written(h: Harness) -> None:
    assert {name: h.registry.calls[name] for name in NOTHING_WRITTEN} == dict.fromkeys(
        NOTHING_WRITTEN, 0)


def assert_nonce_unused(h: Harness, nonce: str, timestamp: int | None = None) -> None:
    """The nonce of a refused request can still be used by a correct one."""
    response = h.initiate(nonce=nonce, timestamp=timestamp)
    assert response.status == 200, response.text


def _with_extra(request: Request, query: str) -> Request:
    """The same signed request with ``query`` appended to its URI."""
    uri = request.uri + ("&" if "?" in request.uri else "?") + query
    return Request.build(request.method, uri, headers=dict(request.headers.items()),
                         body=request.body, remote_addr=request.remote_addr)


def test_duplicated_protocol_parameter_in_one_place(clock) -> None:
    h = Harness(clock)
    request = h.sign("/initiate", placement="query", callback_uri="oob", nonce="n-dup")
    doubled = Request.build("POST", request.uri + "&oauth_nonce=n-dup")
    assert error_of(h.server.create_temporary_credential_response(doubled)) == (
        400, "duplicated_oauth_protocol_parameter")
    assert_nothing_written(h)
    assert_nonce_unused(h, "n-dup")


def test_protocol_parameter_in_two_places(clock) -> None:
    h = Harness(clock)
    request = h.sign("/initiate", callback_uri="oob", nonce="n-two")
    moved = _with_extra(request, "oauth_nonce=n-two")
    assert error_of(h.server.create_temporary_credential_response(moved)) == (
        400, "duplicated_oauth_protocol_parameter")
    assert_nothing_written(h)
    assert_nonce_unused(h, "n-two")


def test_duplicate_in_the_header_itself(clock) -> None:
    h = Harness(clock)
    header = build_authorization_header([("oauth_consumer_key", CLIENT_ID),
                                         ("oauth_consumer_key", CLIENT_ID)])
    request = Request.build("POST", SERVER + "/initiate", headers={"Authorization": header})
    assert error_of(h.server.create_temporary_credential_response(request)) == (
        400, "duplicated_oauth_protocol_parameter")


@pytest.mark.parametrize("missing", ["oauth_consumer_key", "oauth_nonce", "oauth_timestamp",
                                     "oauth_signature", "oauth_signature_method",
                                     "oauth_callback"])
def test_missing_parameter(clock, missing: str) -> None:
    h = Harness(clock)
    request = h.sign("/initiate", placement="query", callback_uri="oob")
    query = [(k, v) for k, v in request.query.items_list() if k != missing]
    stripped = Request.build("POST", SERVER + "/initiate?" + urlencode(query))
    status, error = error_of(h.server.create_temporary_credential_response(stripped))
    assert (status, error) == (400, "missing_required_parameter")
    assert_nothing_written(h)


def test_missing_verifier_at_token_endpoint(clock) -> None:
    h = Harness(clock)
    temporary = h.temporary()
    h.authorize(temporary["oauth_token"])
    request = h.sign("/token", resource_owner_key=temporary["oauth_token"],
                     resource_owner_secret=temporary["oauth_token_secret"])
    assert error_of(h.server.create_token_response(request)) == (400, "missing_required_parameter")
    assert not h.tokens


def test_authorization_without_token_is_missing_parameter(clock) -> None:
    h = Harness(clock)
    with pytest.raises(MissingRequiredParameterError):
        h.server.check_authorization_request(Request.build("GET", SERVER + "/authorize"))


@pytest.mark.parametrize("method", ["HMAC-SHA256", "RSA-SHA1", "NONSENSE"])
def test_unsupported_signature_method(clock, method: str) -> None:
    h = Harness(clock)  # HMAC-SHA1 alone is enabled
    request = h.sign("/initiate", callback_uri="oob", signature_method="HMAC-SHA1")
    header = request.headers["authorization"].replace('"HMAC-SHA1"', f'"{method}"')
    forged = Request.build("POST", request.uri, headers={"Authorization": header})
    assert error_of(h.server.create_temporary_credential_response(forged)) == (
        400, "unsupported_signature_method")
    assert_nothing_written(h)


def test_plaintext_needs_tls_unless_loopback(clock) -> None:
    h = Harness(clock, enabled=("PLAINTEXT",))
    remote = h.initiate(signature_method="PLAINTEXT", remote_addr="203.0.113.9", nonce="pt")
    assert error_of(remote) == (400, "insecure_transport")
    assert_nothing_written(h)
    assert h.initiate(signature_method="PLAINTEXT", remote_addr="::1").status == 200
    tls = h.initiate(signature_method="PLAINTEXT", remote_addr="203.0.113.9",
                     base="https://server.example")
    assert tls.status == 200


def test_bad_signature(clock) -> None:
    h = Harness(clock)
    response = h.initiate(client_secret="not-the-secret", nonce="n-bad")
    assert error_of(response) == (401, "invalid_signature")
    assert response.header("WWW-Authenticate") == 'OAuth realm=""'
    assert_nothing_written(h)
    assert_nonce_unused(h, "n-bad")


def test_unknown_client_does_the_same_work(clock) -> None:
    calls: list[str | None] = []

    def counting(request):
        calls.append(request.client_secret)
        return BUILTIN_SIGNATURE_METHODS["HMAC-SHA1"](request)

    h = Harness(clock, methods={"HMAC-SHA1": counting})
    response = h.initiate(client_id="nobody", nonce="n-unknown")
    assert error_of(response) == (401, "invalid_client")
    assert len(calls) == 1 and calls[0]  # verified against a stand-in secret
    assert_nothing_written(h)
    assert h.initiate().status == 200
    assert len(calls) == 2


def test_unknown_temporary_credential_does_the_same_work(clock) -> None:
    calls: list[str | None] = []

    def counting(request):
        calls.append(request.token_secret)
        return BUILTIN_SIGNATURE_METHODS["HMAC-SHA1"](request)

    h = Harness(clock, methods={"HMAC-SHA1": counting})
    response = h.exchange({"oauth_token": "made-up", "oauth_token_secret": "x"}, "v")
    assert error_of(response) == (401, "invalid_token")
    assert len(calls) == 1 and calls[0]
    assert_nothing_written(h)


def test_temporary_credential_of_another_client_is_unknown(clock) -> None:
    h = Harness(clock)
    h.clients["other"] = FakeClient("other", "other-secret")
    temporary = h.temporary()
    verifier = h.authorize(temporary["oauth_token"])
    stolen = h.exchange(temporary, verifier, client_id="other", client_secret="other-secret")
    assert error_of(stolen) == (401, "invalid_token")
    assert not h.tokens
    assert h.exchange(temporary, verifier).status == 200


def test_used_temporary_credential_and_verifier_replay(clock) -> None:
    h = Harness(clock)
    temporary = h.temporary()
    verifier = h.authorize(temporary["oauth_token"])
    assert h.exchange(temporary, verifier).status == 200
    replay = h.exchange(temporary, verifier)
    assert error_of(replay) == (401, "invalid_token")
    assert len(h.tokens) == 1
    with pytest.raises(InvalidTokenError):
        h.server.check_authorization_request(
            Request.build("GET", f"{SERVER}/authorize?oauth_token={temporary['oauth_token']}"))


def test_wrong_verifier(clock) -> None:
    h = Harness(clock)
    temporary = h.temporary()
    verifier = h.authorize(temporary["oauth_token"])
    wrong = h.exchange(temporary, "not-" + verifier, nonce="n-verifier")
    assert error_of(wrong) == (401, "invalid_verifier")
    assert not h.tokens and h.registry.calls["delete_temporary_credential"] == 0
    assert h.exchange(temporary, verifier, nonce="n-verifier").status == 200


def test_unauthorized_temporary_credential_has_no_valid_verifier(clock) -> None:
    h = Harness(clock)
    temporary = h.temporary()
    assert error_of(h.exchange(temporary, "")) == (400, "missing_required_parameter")
    assert error_of(h.exchange(temporary, "guess")) == (401, "invalid_verifier")
    assert not h.tokens


def test_nonce_replay(clock) -> None:
    h = Harness(clock)
    request = h.sign("/initiate", callback_uri="oob", nonce="once")
    assert h.server.create_temporary_credential_response(request).status == 200
    again = h.server.create_temporary_credential_response(request)
    assert error_of(again) == (401, "invalid_nonce")
    assert h.registry.calls["create_temporary_credential"] == 1


def test_nonce_replay_on_a_resource(clock) -> None:
    h = Harness(clock)
    credentials = h.token_credentials()
    request = h.sign("/photos", "GET", resource_owner_key=credentials["oauth_token"],
                     resource_owner_secret=credentials["oauth_token_secret"])
    h.resource.validate(request)
    with pytest.raises(InvalidNonceError):
        h.resource.validate(request)


def test_same_nonce_is_fine_with_another_timestamp(clock) -> None:
    h = Harness(clock)
    assert h.initiate(nonce="shared").status == 200
    clock.advance(1)
    assert h.initiate(nonce="shared").status == 200


@pytest.mark.parametrize("skew", [-601, 601])
def test_timestamp_outside_the_window(clock, skew: int) -> None:
    h = Harness(clock)
    stale = int(clock()) + skew
    response = h.initiate(timestamp=stale, nonce="n-stale")
    assert error_of(response) == (401, "invalid_timestamp")
    assert_nothing_written(h)
    clock.advance(skew)  # the same request is fine once the clocks agree
    assert_nonce_unused(h, "n-stale", stale)


def test_timestamp_at_the_edge_of_the_window(clock) -> None:
    h = Harness(clock)
    assert h.initiate(timestamp=int(clock()) - 600).status == 200


def test_malformed_timestamp(clock) -> None:
    h = Harness(clock)
    request = h.sign("/initiate", placement="query", callback_uri="oob")
    forged = Request.build("POST", request.uri.replace(
        f"oauth_timestamp={int(clock())}", "oauth_timestamp=soon"))
    assert error_of(h.server.create_temporary_credential_response(forged))[0] == 400


@pytest.mark.parametrize("callback", ["https://evil.example/cb", "https://client.example/other",
                                      "http://client.example/cb", "https://client.example/cb#x",
                                      "not a uri"])
def test_callback_not_the_registered_one(clock, callback: str) -> None:
    h = Harness(clock)
    response = h.initiate(callback_uri=callback, nonce="n-cb")
    assert error_of(response) == (400, "invalid_callback")
    assert_nothing_written(h)
    assert_nonce_unused(h, "n-cb")


def test_registered_callback_may_carry_its_own_query(clock) -> None:
    h = Harness(clock)
    assert h.initiate(callback_uri="https://client.example/cb?state=1").status == 200


def test_client_without_registered_callback_gets_oob_only(clock) -> None:
    h = Harness(clock)
    h.clients[CLIENT_ID].redirect_uri = ""
    assert error_of(h.initiate()) == (400, "invalid_callback")
    assert h.initiate(callback_uri="oob").status == 200


def test_bad_content_type(clock) -> None:
    h = Harness(clock)
    request = h.sign("/initiate", callback_uri="oob")
    as_json = Request.build("POST", request.uri, headers={
        "Authorization": request.headers["authorization"], "Content-Type": "application/json"},
        body=b'{"oauth_verifier": "x"}')
    assert error_of(h.server.create_temporary_credential_response(as_json)) == (
        400, "invalid_request")
    assert_nothing_written(h)


def test_get_is_not_allowed_at_initiate(clock) -> None:
    h = Harness(clock)
    response = h.server.create_temporary_credential_response(h.sign("/initiate", "GET",
                                                                    callback_uri="oob"))
    assert response.status == 405
    assert_nothing_written(h)


def test_wrong_oauth_version(clock) -> None:
    h = Harness(clock)
    request = h.sign("/initiate", callback_uri="oob")
    header = request.headers["authorization"].replace('oauth_version="1.0"', 'oauth_version="2.0"')
    forged = Request.build("POST", request.uri, headers={"Authorization": header})
    assert error_of(h.server.create_temporary_credential_response(forged)) == (
        400, "unsupported_parameter")


def test_malformed_header(clock) -> None:
    h = Harness(clock)
    forged = Request.build("POST", SERVER + "/initiate",
                           headers={"Authorization": 'OAuth oauth_consumer_key=unquoted'})
    assert error_of(h.server.create_temporary_credential_response(forged)) == (
        400, "invalid_request")


def test_error_description_is_translated_when_a_catalog_has_it(clock) -> None:
    from authgate.core import i18n
    i18n.register_catalog("xx", {"The signature is invalid.": "Signatur kaputt."})
    h = Harness(clock)
    request = h.sign("/initiate", callback_uri="oob", client_secret="wrong")
    request = Request.build("POST", request.uri, headers={
        "Authorization": request.headers["authorization"], "Accept-Language": "xx"})
    body = h.server.create_temporary_credential_response(request).text
    assert "Signatur+kaputt." in body
