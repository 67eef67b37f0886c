"""The IS-10 helpers of authgate.core.oauth2.nmos, with no HTTP."""

from __future__ import annotations

import pytest

from authgate.core.oauth2.errors import InvalidScopeError
from authgate.core.oauth2.jwt import TokenContext
from authgate.core.oauth2.nmos import (
    access_claim,
    api_from_path,
    audience_permitted,
    check_client_credentials_scope,
    client_credentials_scope_allowed,
    default_audience,
    format_access_rights,
    grantable_scope,
    make_get_extra_claims,
    parse_access_rights,
    path_matches,
    relative_path,
    request_permitted,
    x_nmos_claims,
)

RW = frozenset({"read", "write"})
R = frozenset({"read"})


# -- access rights -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "rights"), [
    ("registration query:read", {"registration": RW, "query": R}),
    ("connection:write", {"connection": RW}),           # write implies read
    ("node:read node:write", {"node": RW}),
    ("events, channelmapping:read", {"events": RW, "channelmapping": R}),
    ("", {}),
])
def test_parse_strings(text: str, rights: dict[str, frozenset[str]]) -> None:
    assert parse_access_rights(text) == rights


def test_parse_mappings_and_none() -> None:
    assert parse_access_rights({"registration": {"read", "write"}, "query": ["read"]}) == {
        "registration": RW, "query": R}
    assert parse_access_rights({"query": []}) == {}
    assert parse_access_rights(None) == {}


@pytest.mark.parametrize("bad", ["regstration", "query:admin", "Query", "x y:z"])
def test_parse_refuses_unknown_names_and_levels(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_access_rights(bad)


def test_parse_refuses_a_string_of_levels() -> None:
    with pytest.raises(ValueError):
        parse_access_rights({"query": "read"})  # type: ignore[dict-item]


def test_parse_accepts_other_apis_when_asked() -> None:
    assert parse_access_rights("streamcompatibility", apis=None) == {"streamcompatibility": RW}
    assert parse_access_rights("manifest:read", apis=[*("manifest",)]) == {"manifest": R}


def test_format_is_canonical_and_round_trips() -> None:
    rights = {"query": {"read"}, "registration": {"write"}, "node": set()}
    text = format_access_rights(rights)
    assert text == "query:read registration"
    assert format_access_rights(parse_access_rights(text)) == text


def test_grantable_scope_keeps_only_held_apis() -> None:
    rights = parse_access_rights("registration query:read")
    assert grantable_scope("query connection registration query", rights) == (
        "query registration")
    assert grantable_scope(None, rights) == ""


# -- claims --------------------------------------------------------------------------

def test_access_claim() -> None:
    assert access_claim({"read"}) == {"read": ["*"]}
    assert access_claim({"write"}) == {"read": ["*"], "write": ["*"]}


def test_claims_only_for_the_granted_scope() -> None:
    rights = parse_access_rights("registration query:read connection")
    assert x_nmos_claims(rights, "query registration profile") == {
        "x-nmos-query": {"read": ["*"]},
        "x-nmos-registration": {"read": ["*"], "write": ["*"]},
    }
    assert x_nmos_claims(rights, "node") == {}
    assert x_nmos_claims(rights, None) == {}


def _ctx(user_id: str | None, scope: str | None, user: object = None) -> TokenContext:
    grant = "authorization_code" if user_id else "client_credentials"
    return TokenContext("client-1", grant, user_id, scope, ["*.example.com"], None, user)


def test_get_extra_claims_for_users_and_clients() -> None:
    class User:
        access_rights = "connection:read query"

    get_extra_claims = make_get_extra_claims(lambda ctx: ctx.user.access_rights)
    assert get_extra_claims(_ctx("alice", "connection registration", User())) == {
        "x-nmos-connection": {"read": ["*"]}}
    assert get_extra_claims(_ctx(None, "registration events")) == {
        "x-nmos-registration": {"read": ["*"], "write": ["*"]},
        "x-nmos-events": {"read": ["*"], "write": ["*"]},
    }
    assert make_get_extra_claims(lambda ctx: None)(_ctx("bob", "query")) == {}


def test_get_extra_claims_with_the_generator() -> None:
    from authgate.core.oauth2.jwt import (
        JWTAccessTokenGenerator,
        JWTAccessTokenValidator,
        KeySet,
        SigningKey,
    )

    keys = KeySet([SigningKey.generate("ES256")])
    generator = JWTAccessTokenGenerator(
        "https://auth.example.com", keys, default_audience=default_audience(
            "https://auth.example.com"),
        get_extra_claims=make_get_extra_claims(lambda ctx: "query:read"))
    token = generator.generate(client_id="c", grant_type="authorization_code", user_id="u",
                               scope="query", expires_in=60)
    claims = JWTAccessTokenValidator("https://auth.example.com", None, keys).validate(token)
    assert claims.aud == ("*.example.com",)
    assert claims["x-nmos-query"] == {"read": ["*"]}


def test_client_credentials_scopes() -> None:
    assert client_credentials_scope_allowed("registration events")
    assert client_credentials_scope_allowed("")
    assert client_credentials_scope_allowed(None)
    assert not client_credentials_scope_allowed("registration query")
    check_client_credentials_scope("events")
    with pytest.raises(InvalidScopeError):
        check_client_credentials_scope("connection")


# -- audience ------------------------------------------------------------------------

@pytest.mark.parametrize(("issuer", "aud"), [
    ("https://auth.studio.example.com", ["*.studio.example.com"]),
    ("https://auth.example.com:8443/nmos", ["*.example.com"]),
    ("http://127.0.0.1:4999", ["127.0.0.1"]),
    ("http://localhost:4999", ["localhost"]),
    ("http://[::1]:4999", ["::1"]),
])
def test_default_audience(issuer: str, aud: list[str]) -> None:
    assert default_audience(issuer) == aud


@pytest.mark.parametrize(("aud", "ours", "ok"), [
    (["*.example.com"], ["node1.example.com"], True),
    (["*.example.com"], ["https://node1.example.com:8080/x-nmos"], True),
    (["*.example.com"], ["example.com"], False),
    (["*.example.com"], ["node1.example.com.evil.test"], False),
    (["*.example.com"], ["node1.exampleXcom"], False),          # the dot is literal
    (["https://*.example.com"], ["NODE1.Example.COM"], True),
    (["node1.example.com"], ["https://node1.example.com"], True),
    (["node2.example.com"], ["node1.example.com"], False),
    (["*"], ["anything.test"], True),
    ([], ["node1.example.com"], False),
    ([""], ["node1.example.com"], False),
    (["10.0.0.5"], ["http://10.0.0.5:8080"], True),
])
def test_audience_permitted(aud: list[str], ours: list[str], ok: bool) -> None:
    assert audience_permitted(aud, ours) is ok


# -- paths and methods ---------------------------------------------------------------

@pytest.mark.parametrize(("path", "api", "relative"), [
    ("/x-nmos/connection/v1.1/single/senders/abc", "connection", "single/senders/abc"),
    ("/x-nmos/connection/v1.1/single/senders/abc/", "connection", "single/senders/abc/"),
    ("/x-nmos/connection/v1.1/", "connection", ""),
    ("/x-nmos/connection/v1.1", "connection", ""),
    ("/x-nmos/connection/", "connection", ""),
    ("/x-nmos/", "connection", ""),
    ("/x-nmos", "connection", ""),
    ("/x-nmos/node/v1.3/self", "connection", None),
    ("/mount/x-nmos/query/v1.3/nodes", "query", "nodes"),
])
def test_relative_path(path: str, api: str, relative: str | None) -> None:
    assert relative_path(path, api) == relative


def test_api_from_path() -> None:
    assert api_from_path("/x-nmos/connection/v1.1/single") == "connection"
    assert api_from_path("/x-nmos/channelmapping/") == "channelmapping"
    assert api_from_path("/x-nmos/") is None
    assert api_from_path("/api/me") is None


@pytest.mark.parametrize(("patterns", "path", "ok"), [
    (["*"], "single/senders/abc", True),
    (["single/senders/*"], "single/senders/abc", True),
    (["single/senders/*"], "single/senders/abc/staged", True),
    (["single/senders/*"], "single/receivers/abc", False),
    (["single/senders/abc"], "single/senders/abc/", True),     # trailing slash
    (["single/senders/abc/"], "single/senders/abc", True),
    (["single/senders/abc"], "single/senders/abcd", False),
    (["single/*/abc"], "single/receivers/abc", True),
    (["single.senders"], "singleXsenders", False),              # no regex meta
    ([""], "x", False),
    ("*", "x", False),                                          # not a list: malformed
    ([None, 3], "x", False),
])
def test_path_matches(patterns: object, path: str, ok: bool) -> None:
    assert path_matches(patterns, path) is ok


CLAIMS = {"x-nmos-connection": {"read": ["*"], "write": ["single/senders/*"]}}
SENDER = "/x-nmos/connection/v1.1/single/senders/abc/staged"
RECEIVER = "/x-nmos/connection/v1.1/single/receivers/abc/staged"


@pytest.mark.parametrize(("method", "path", "ok"), [
    ("GET", SENDER, True), ("HEAD", SENDER, True), ("OPTIONS", SENDER, True),
    ("PATCH", SENDER, True), ("POST", SENDER, True), ("PUT", SENDER, True),
    ("DELETE", SENDER, True), ("GET", RECEIVER, True), ("PATCH", RECEIVER, False),
    ("get", SENDER, True), ("BREW", RECEIVER, False),
    ("GET", "/x-nmos/connection/v1.1/", True), ("POST", "/x-nmos/connection/v1.1/", False),
    ("PATCH", "/x-nmos/connection/v1.1/single/senders/x/../../receivers/abc", False),
    ("GET", "/x-nmos/connection/v1.1/single/./senders", False),
])
def test_request_permitted(method: str, path: str, ok: bool) -> None:
    assert request_permitted(CLAIMS, {"connection"}, "connection", method, path) is ok


def test_read_only_claim_and_missing_claim() -> None:
    read_only = {"x-nmos-query": {"read": ["*"]}}
    assert request_permitted(read_only, {"query"}, "query", "GET", "/x-nmos/query/v1.3/nodes")
    assert not request_permitted(read_only, {"query"}, "query", "POST",
                                 "/x-nmos/query/v1.3/subscriptions")
    # With the scope but no claim: base paths only (IS-10 resource servers).
    assert request_permitted({}, {"query"}, "query", "GET", "/x-nmos/query/v1.3/")
    assert not request_permitted({}, {"query"}, "query", "GET", "/x-nmos/query/v1.3/nodes")
    assert not request_permitted({}, set(), "query", "GET", "/x-nmos/query/v1.3/")
    assert not request_permitted({"x-nmos-query": ["*"]}, {"query"}, "query", "GET",
                                 "/x-nmos/query/v1.3/nodes")  # malformed claim
