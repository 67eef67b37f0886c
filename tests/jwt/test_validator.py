"""The validator against good tokens and against every hostile shape we could think of."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from authgate.core.oauth2.jwt import (
    InvalidJWTError,
    JWTAccessTokenValidator,
    KeySet,
    SigningKey,
)
from authgate.core.oauth2.jwt.jwk import b64url_encode

from .conftest import ISSUER, NOW, forge, good_claims

AUD = "https://rs.example.test"


@pytest.fixture
def validator(keyset: KeySet, clock) -> JWTAccessTokenValidator:
    return JWTAccessTokenValidator(ISSUER, AUD, keyset, clock=clock, leeway=0)


def rejects(validator: JWTAccessTokenValidator, token: Any, reason: str | None = None) -> None:
    with pytest.raises(InvalidJWTError) as info:
        validator.validate(token)
    assert info.value.description == InvalidJWTError.description
    if reason is not None:
        assert info.value.reason == reason


def test_accepts_good_token_every_alg(validator: JWTAccessTokenValidator, any_key) -> None:
    result = validator.validate(forge(any_key))
    assert result.sub == "alice" and result.client_id == "client-1"
    assert result.scope == "profile email" and result.scopes == frozenset({"profile", "email"})
    assert result.exp == int(NOW) + 600 and result.iat == int(NOW)
    assert result.iss == ISSUER and result.aud == (AUD,)
    assert result["jti"] == "jti-1234567890" and "scope" in result and result.get("nope") is None
    with pytest.raises(TypeError):
        result.claims["sub"] = "mallory"  # type: ignore[index]


# --- the header ---------------------------------------------------------------------------

def test_alg_none(validator, rsa_key) -> None:
    token = forge(rsa_key, header={"alg": "none"}, sign=lambda _: b"")
    rejects(validator, token.rsplit(".", 1)[0] + ".", "malformed token")
    rejects(validator, forge(rsa_key, header={"alg": "none"}, sign=lambda _: b"x"),
            "alg not allowed")
    rejects(validator, forge(rsa_key, header={"alg": "NONE"}, sign=lambda _: b"x"),
            "alg not allowed")


def test_hs256_with_rsa_public_key_as_secret(validator, rsa_key) -> None:
    secret = rsa_key.public_pem()
    token = forge(rsa_key, header={"alg": "HS256"},
                  sign=lambda data: hmac.new(secret, data, hashlib.sha256).digest())
    rejects(validator, token, "alg not allowed")


def test_hs256_refused_even_if_asked_for(keyset) -> None:
    with pytest.raises(ValueError):
        JWTAccessTokenValidator(ISSUER, AUD, keyset, algorithms=["HS256", "RS256"])


def test_alg_outside_configured_allow_list(keyset, clock, session_keys) -> None:
    only_rs512 = JWTAccessTokenValidator(ISSUER, AUD, keyset, algorithms=["RS512"], clock=clock)
    rejects(only_rs512, forge(session_keys["RS256"]), "alg not allowed")
    assert only_rs512.validate(forge(session_keys["RS512"])).sub == "alice"


def test_unknown_kid(validator, rsa_key) -> None:
    rejects(validator, forge(rsa_key, header={"kid": "who-is-this"}), "unknown kid")


def test_missing_kid(validator, rsa_key) -> None:
    rejects(validator, forge(rsa_key, header={"kid": None}), "missing kid")
    rejects(validator, forge(rsa_key, header={"kid": 7}), "missing kid")


def test_kid_of_another_key_type(validator, session_keys) -> None:
    # An RS256 token that points at the EC key, and the other way round.
    rejects(validator, forge(session_keys["RS256"], header={"kid": session_keys["ES256"].kid}),
            "alg does not fit the key")
    rejects(validator, forge(session_keys["ES256"], header={"kid": session_keys["EdDSA"].kid}),
            "alg does not fit the key")
    rejects(validator, forge(session_keys["EdDSA"], header={"kid": session_keys["RS256"].kid}),
            "alg does not fit the key")


def test_jwk_alg_pins_the_algorithm(rsa_key: SigningKey, clock) -> None:
    # The JWKS says this RSA key is for RS512; an RS256 token with it must fail.
    as_rs512 = SigningKey.from_pem(rsa_key.to_pem(), "RS512")
    jwks = {"keys": [as_rs512.public_jwk()]}
    validator = JWTAccessTokenValidator(ISSUER, AUD, jwks, clock=clock)
    rejects(validator, forge(rsa_key), "alg does not fit the key")
    assert validator.validate(forge(as_rs512)).sub == "alice"


def test_jwks_without_alg_still_pins_by_kty(rsa_key: SigningKey, clock) -> None:
    jwk = {k: v for k, v in rsa_key.public_jwk().items() if k != "alg"}
    validator = JWTAccessTokenValidator(ISSUER, AUD, {"keys": [jwk]}, clock=clock)
    assert validator.validate(forge(rsa_key)).sub == "alice"
    rejects(validator, forge(rsa_key, header={"alg": "ES256"}), "alg does not fit the key")


@pytest.mark.parametrize("name", ["jwk", "jku", "x5u", "x5c"])
def test_key_injection_headers(validator, session_keys, name: str) -> None:
    attacker = SigningKey.generate("ES256")
    values = {"jwk": attacker.public_jwk(), "jku": "https://evil.test/jwks",
              "x5u": "https://evil.test/cert", "x5c": ["MIIB..."]}
    # Signed by the attacker's own key, and even by the real key: both refused.
    rejects(validator, forge(attacker, header={name: values[name],
                                               "kid": session_keys["ES256"].kid}))
    rejects(validator, forge(session_keys["ES256"], header={name: values[name]}),
            "embedded or remote key in header")


def test_crit_refused(validator, rsa_key) -> None:
    rejects(validator, forge(rsa_key, header={"crit": ["exp"], "exp": 1}),
            "unsupported critical header")
    rejects(validator, forge(rsa_key, header={"crit": ["b64"], "b64": False}),
            "unsupported critical header")


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwt2", "application/jwt", 5])
def test_typ_must_be_at_jwt(validator, rsa_key, typ: Any) -> None:
    rejects(validator, forge(rsa_key, header={"typ": typ}), "typ is not at+jwt")


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_typ_spellings_accepted(validator, rsa_key, typ: str) -> None:
    assert validator.validate(forge(rsa_key, header={"typ": typ})).sub == "alice"


# --- the claims ---------------------------------------------------------------------------

def test_wrong_iss(validator, rsa_key) -> None:
    rejects(validator, forge(rsa_key, good_claims(iss="https://evil.test")), "wrong iss")
    rejects(validator, forge(rsa_key, good_claims(iss=ISSUER + "/")), "wrong iss")
    rejects(validator, forge(rsa_key, good_claims(iss=None)), "wrong iss")


def test_aud(validator, rsa_key, keyset, clock) -> None:
    rejects(validator, forge(rsa_key, good_claims(aud="https://other.test")), "wrong aud")
    rejects(validator, forge(rsa_key, good_claims(aud=None)), "wrong aud")
    rejects(validator, forge(rsa_key, good_claims(aud=[])), "wrong aud")
    rejects(validator, forge(rsa_key, good_claims(aud=7)), "malformed aud")
    rejects(validator, forge(rsa_key, good_claims(aud=[AUD, 7])), "malformed aud")
    assert validator.validate(forge(rsa_key, good_claims(aud=["x", AUD]))).aud == ("x", AUD)
    several = JWTAccessTokenValidator(ISSUER, ["https://one", AUD], keyset, clock=clock)
    assert several.validate(forge(rsa_key)).sub == "alice"
    unchecked = JWTAccessTokenValidator(ISSUER, None, keyset, clock=clock)
    assert unchecked.validate(forge(rsa_key, good_claims(aud=None))).aud == ()


def test_expiry_with_the_clock(keyset, rsa_key, clock) -> None:
    strict = JWTAccessTokenValidator(ISSUER, AUD, keyset, clock=clock, leeway=0)
    lenient = JWTAccessTokenValidator(ISSUER, AUD, keyset, clock=clock, leeway=10)
    token = forge(rsa_key)
    clock.advance(599)
    assert strict.validate(token).sub == "alice"
    clock.advance(1)
    rejects(strict, token, "expired")
    assert lenient.validate(token).sub == "alice"
    clock.advance(10)
    rejects(lenient, token, "expired")


def test_nbf_and_iat_in_the_future(validator, rsa_key, keyset, clock) -> None:
    rejects(validator, forge(rsa_key, good_claims(nbf=int(NOW) + 60)), "not yet valid")
    rejects(validator, forge(rsa_key, good_claims(iat=int(NOW) + 60)), "issued in the future")
    lenient = JWTAccessTokenValidator(ISSUER, AUD, keyset, clock=clock, leeway=30)
    assert lenient.validate(forge(rsa_key, good_claims(nbf=int(NOW) + 20))).sub == "alice"


@pytest.mark.parametrize("name", ["exp", "iat"])
def test_time_claims_required_and_numeric(validator, rsa_key, name: str) -> None:
    rejects(validator, forge(rsa_key, good_claims(**{name: None})), f"missing {name}")
    rejects(validator, forge(rsa_key, good_claims(**{name: "1900000000"})),
            f"{name} is not a number")
    rejects(validator, forge(rsa_key, good_claims(**{name: True})), f"{name} is not a number")


@pytest.mark.parametrize("name", ["sub", "client_id", "jti"])
def test_required_string_claims(validator, rsa_key, name: str) -> None:
    rejects(validator, forge(rsa_key, good_claims(**{name: None})), f"missing {name}")
    rejects(validator, forge(rsa_key, good_claims(**{name: ""})), f"missing {name}")
    rejects(validator, forge(rsa_key, good_claims(**{name: 12})), f"missing {name}")


def test_scope_optional_but_a_string(validator, rsa_key) -> None:
    result = validator.validate(forge(rsa_key, good_claims(scope=None)))
    assert result.scope == "" and result.scopes == frozenset()
    rejects(validator, forge(rsa_key, good_claims(scope=["a"])), "malformed scope")


def test_leeway_bounds(keyset) -> None:
    for bad in (-1, 31, 3600):
        with pytest.raises(ValueError):
            JWTAccessTokenValidator(ISSUER, AUD, keyset, leeway=bad)


# --- the envelope -------------------------------------------------------------------------

def test_tampered_payload(validator, rsa_key) -> None:
    token = forge(rsa_key)
    other = forge(rsa_key, good_claims(sub="admin"))
    head, _, sig = token.split(".")
    rejects(validator, f"{head}.{other.split('.')[1]}.{sig}", "bad signature")


def test_signature_from_another_key(validator, session_keys) -> None:
    stranger = SigningKey.generate("ES256")
    token = forge(session_keys["ES256"], sign=stranger.sign)
    rejects(validator, token, "bad signature")


def test_truncated_and_garbage(validator, rsa_key) -> None:
    token = forge(rsa_key)
    rejects(validator, token[:-4], "bad signature")
    rejects(validator, token.rsplit(".", 1)[0], "malformed token")
    for junk in ["", "garbage", "a.b.c", "..", "a.b.c.d", token + "=", token + "!",
                 token.replace(".", "..", 1), "é.é.é", "x" * 20000, token + "." + token]:
        rejects(validator, junk, "malformed token")
    rejects(validator, token.encode(), "malformed token")
    rejects(validator, None, "malformed token")


def _sign_raw(key: SigningKey, header: bytes, payload: bytes) -> str:
    signing_input = f"{b64url_encode(header)}.{b64url_encode(payload)}"
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"


def test_duplicate_members_refused(validator, rsa_key) -> None:
    header = json.dumps({"alg": "RS256", "kid": rsa_key.kid, "typ": "at+jwt"}).encode()
    payload = json.dumps(good_claims()).encode()[:-1] + b', "sub": "admin"}'
    rejects(validator, _sign_raw(rsa_key, header, payload), "malformed claims")
    dup_header = header[:-1] + b', "alg": "none"}'
    rejects(validator, _sign_raw(rsa_key, dup_header, json.dumps(good_claims()).encode()),
            "malformed token")


def test_claims_must_be_an_object(validator, rsa_key) -> None:
    header = json.dumps({"alg": "RS256", "kid": rsa_key.kid, "typ": "at+jwt"}).encode()
    for payload in (b"[1, 2]", b'"text"', b"\xff\xfe", b'{"exp": NaN}'):
        rejects(validator, _sign_raw(rsa_key, header, payload), "malformed claims")


def test_error_message_is_for_logs_only(validator, rsa_key) -> None:
    with pytest.raises(InvalidJWTError) as info:
        validator.validate(forge(rsa_key, good_claims(iss="x")))
    assert str(info.value) == "wrong iss"
    assert "iss" not in info.value.description


# --- key resolvers ------------------------------------------------------------------------

def test_callable_resolver(session_keys, clock) -> None:
    by_kid = {k.kid: k.public_jwk() for k in session_keys.values()}
    calls: list[str] = []

    def lookup(kid: str) -> dict[str, str] | None:
        calls.append(kid)
        return by_kid.get(kid)

    validator = JWTAccessTokenValidator(ISSUER, AUD, lookup, clock=clock)
    for key in session_keys.values():
        assert validator.validate(forge(key)).sub == "alice"
        assert validator.validate(forge(key)).sub == "alice"
    rejects(validator, forge(session_keys["RS256"], header={"kid": "nope"}), "unknown kid")
    assert len(calls) == 9


def test_callable_resolver_cannot_swap_keys(session_keys, clock) -> None:
    # A resolver answering with some other key's JWK is not trusted for this kid.
    other = session_keys["RS512"].public_jwk()
    validator = JWTAccessTokenValidator(ISSUER, AUD, lambda kid: other, clock=clock)
    rejects(validator, forge(session_keys["RS256"]), "unknown kid")


def test_jwks_skips_unusable_keys(session_keys, clock) -> None:
    enc = {**session_keys["RS256"].public_jwk(), "use": "enc"}
    wrong_ops = {**session_keys["ES256"].public_jwk(), "key_ops": ["encrypt"]}
    junk = [{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}, {"kid": "x"}, "nope",
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
            {**session_keys["EdDSA"].public_jwk(), "alg": "RS256"}]
    jwks = {"keys": [enc, wrong_ops, *junk, session_keys["RS512"].public_jwk()]}
    validator = JWTAccessTokenValidator(ISSUER, AUD, jwks, clock=clock)
    assert validator.validate(forge(session_keys["RS512"])).sub == "alice"
    for alg in ("RS256", "ES256", "EdDSA"):
        rejects(validator, forge(session_keys[alg]), "unknown kid")
    rejects(validator, forge(session_keys["RS256"], header={"alg": "HS256", "kid": "hmac"}),
            "alg not allowed")


def test_bad_resolver_type() -> None:
    with pytest.raises(TypeError):
        JWTAccessTokenValidator(ISSUER, AUD, 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        JWTAccessTokenValidator(ISSUER, AUD, {"nokeys": []})


# --- the cache of verified tokens ---------------------------------------------------------

class _CountingKeys:
    """A KeySet whose keys can be dropped (as a JWKS refresh would drop them)."""

    def __init__(self, keyset: KeySet) -> None:
        self.keyset, self.dropped = keyset, set()

    def resolve_key(self, kid: str) -> Any:
        return None if kid in self.dropped else self.keyset.resolve_key(kid)


def test_a_verified_token_is_not_verified_again(keyset, clock, rsa_key, monkeypatch) -> None:
    from authgate.core.oauth2.jwt import validator as module

    token = forge(rsa_key)  # signed before verification is counted
    checks: list[bytes] = []
    real = module.ALGORITHM_OBJECTS["RS256"]

    class Counting:
        def verify(self, data: bytes, key: Any, signature: bytes) -> bool:
            checks.append(data)
            return bool(real.verify(data, key, signature))

    monkeypatch.setitem(module.ALGORITHM_OBJECTS, "RS256", Counting())
    validator = JWTAccessTokenValidator(ISSUER, AUD, keyset, clock=clock, leeway=0)
    first = validator.validate(token)
    assert validator.validate(token) is first and len(checks) == 1
    # The same claims under a broken signature are a different string: verified, refused.
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    rejects(validator, tampered, "bad signature")
    rejects(validator, tampered, "bad signature")  # failures are never remembered
    assert len(checks) == 3


def test_a_remembered_token_still_expires(keyset, clock, rsa_key) -> None:
    validator = JWTAccessTokenValidator(ISSUER, AUD, keyset, clock=clock, leeway=0)
    token = forge(rsa_key)
    assert validator.validate(token).sub == "alice"
    clock.advance(600)
    rejects(validator, token, "expired")


def test_a_remembered_token_ends_with_its_key(keyset, clock, rsa_key) -> None:
    keys = _CountingKeys(keyset)
    validator = JWTAccessTokenValidator(ISSUER, AUD, keys, clock=clock, leeway=0)
    token = forge(rsa_key)
    assert validator.validate(token).sub == "alice"
    keys.dropped.add(rsa_key.kid)  # the key left the JWKS
    rejects(validator, token, "unknown kid")


def test_the_cache_is_bounded_and_can_be_off(keyset, clock, rsa_key) -> None:
    small = JWTAccessTokenValidator(ISSUER, AUD, keyset, clock=clock, leeway=0, cache_size=3)
    tokens = [forge(rsa_key, claims=good_claims(jti=f"jti-{i:012d}")) for i in range(5)]
    for token in tokens:
        small.validate(token)
    assert len(small._verified) == 3 and set(small._verified) == set(tokens[2:])
    off = JWTAccessTokenValidator(ISSUER, AUD, keyset, clock=clock, leeway=0, cache_size=0)
    off.validate(tokens[0])
    assert not off._verified
    with pytest.raises(ValueError):
        JWTAccessTokenValidator(ISSUER, AUD, keyset, cache_size=-1)
