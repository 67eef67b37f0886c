"""Signing keys: generation, PEM round trips, thumbprint kids, public JWKs, key set timing."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authgate.core.oauth2.jwt import KeySet, NoSigningKeyError, SigningKey, jwks_document
from authgate.core.oauth2.jwt.jwk import jwk_thumbprint, verification_key_from_jwk

from .conftest import NOW

HOUR = 3600.0


def test_rfc7638_rsa_vector() -> None:
    # RFC 7638 §3.1: the published example key and its thumbprint.
    jwk = {
        "kty": "RSA",
        "e": "AQAB",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
            "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
            "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
            "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert jwk_thumbprint({**jwk, "kid": "2011-04-29", "alg": "RS256"}) == jwk_thumbprint(jwk)


def test_rfc8037_ed25519_vector() -> None:
    # RFC 8037 Appendix A.3.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_kid_is_stable_across_pem_round_trip(any_key: SigningKey) -> None:
    again = SigningKey.from_pem(any_key.to_pem(), any_key.alg)
    assert again.kid == any_key.kid
    assert again.public_jwk() == any_key.public_jwk()
    assert SigningKey.from_pem(any_key.to_pem().decode()).kid == any_key.kid


def test_encrypted_pem_round_trip(rsa_key: SigningKey) -> None:
    pem = rsa_key.to_pem(password=b"hunter22")
    assert b"ENCRYPTED" in pem
    assert SigningKey.from_pem(pem, password=b"hunter22").kid == rsa_key.kid


def test_from_pem_defaults_alg_by_key_type(session_keys: dict[str, SigningKey]) -> None:
    assert SigningKey.from_pem(session_keys["RS512"].to_pem()).alg == "RS256"
    assert SigningKey.from_pem(session_keys["RS512"].to_pem(), "RS512").alg == "RS512"
    assert SigningKey.from_pem(session_keys["ES256"].to_pem()).alg == "ES256"
    assert SigningKey.from_pem(session_keys["EdDSA"].to_pem()).alg == "EdDSA"


def test_public_jwk_members(session_keys: dict[str, SigningKey]) -> None:
    rsa_jwk = session_keys["RS256"].public_jwk()
    assert set(rsa_jwk) == {"kty", "kid", "use", "alg", "n", "e"}
    assert rsa_jwk["e"] == "AQAB" and rsa_jwk["use"] == "sig" and rsa_jwk["alg"] == "RS256"
    ec_jwk = session_keys["ES256"].public_jwk()
    assert set(ec_jwk) == {"kty", "kid", "use", "alg", "crv", "x", "y"}
    assert ec_jwk["crv"] == "P-256" and len(ec_jwk["x"]) == len(ec_jwk["y"]) == 43
    ok_jwk = session_keys["EdDSA"].public_jwk()
    assert set(ok_jwk) == {"kty", "kid", "use", "alg", "crv", "x"}
    assert ok_jwk["kty"] == "OKP" and ok_jwk["crv"] == "Ed25519" and ok_jwk["alg"] == "EdDSA"


def test_public_jwk_parses_back(any_key: SigningKey) -> None:
    parsed = verification_key_from_jwk(any_key.public_jwk())
    assert parsed.kid == any_key.kid and parsed.alg == any_key.alg
    assert parsed.allows(any_key.alg)


def test_public_jwk_never_carries_private_members(any_key: SigningKey) -> None:
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(any_key.public_jwk())


def test_repr_hides_key_material(any_key: SigningKey) -> None:
    text = repr(any_key) + repr(KeySet([any_key]))
    assert any_key.kid in text
    jwk = any_key.public_jwk()
    material = jwk.get("n", "")[:20] or jwk["x"]
    assert "PRIVATE" not in text and material not in text


def test_alg_must_fit_key() -> None:
    with pytest.raises(ValueError):
        SigningKey(ec.generate_private_key(ec.SECP256R1()), "RS256")
    with pytest.raises(ValueError):
        SigningKey(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ValueError):
        SigningKey.generate("HS256")


def test_short_rsa_refused() -> None:
    with pytest.raises(ValueError):
        SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(ValueError):
        SigningKey.generate("RS256", rsa_bits=1024)


def test_rs512_with_3072_bits() -> None:
    key = SigningKey.generate("RS512", rsa_bits=3072)
    assert isinstance(key.public_key, rsa.RSAPublicKey) and key.public_key.key_size == 3072


def test_key_published_before_it_signs(session_keys: dict[str, SigningKey], clock) -> None:
    old = session_keys["RS256"].replace(not_before=NOW - HOUR)
    keys = KeySet([old])
    new = session_keys["RS512"].replace(not_before=NOW + 2 * HOUR)  # IS-10: 2 h ahead
    keys.rotate(new, max_token_lifetime=HOUR)

    assert [k["kid"] for k in keys.jwks(NOW)["keys"]] == [old.kid, new.kid]
    assert keys.active_at(NOW).kid == old.kid
    assert keys.active_at(NOW + 2 * HOUR - 1).kid == old.kid
    assert keys.active_at(NOW + 2 * HOUR).kid == new.kid

    # The old key's last token expires one lifetime after the new key takes over.
    assert keys.find(old.kid).retire_after == NOW + 3 * HOUR  # type: ignore[union-attr]
    assert old.kid in {k["kid"] for k in keys.jwks(NOW + 3 * HOUR - 1)["keys"]}
    assert [k["kid"] for k in keys.jwks(NOW + 3 * HOUR)["keys"]] == [new.kid]
    assert jwks_document(keys, NOW + 3 * HOUR) == keys.jwks(NOW + 3 * HOUR)

    retired = keys.find(old.kid)
    assert keys.prune(NOW + 3 * HOUR) == [retired]
    assert len(keys) == 1 and old.kid not in keys


def test_no_active_key_until_not_before(rsa_key: SigningKey) -> None:
    keys = KeySet([rsa_key.replace(not_before=NOW + 60)])
    with pytest.raises(NoSigningKeyError):
        keys.active_at(NOW)
    assert keys.active_at(NOW + 60).kid == rsa_key.kid
    assert len(keys.published(NOW)) == 1


def test_retired_key_does_not_sign(rsa_key: SigningKey) -> None:
    keys = KeySet([rsa_key.replace(not_before=NOW - 10, retire_after=NOW)])
    with pytest.raises(NoSigningKeyError):
        keys.active_at(NOW)


def test_keyset_basics(session_keys: dict[str, SigningKey]) -> None:
    keys = KeySet(session_keys.values())
    assert len(keys) == 4 and session_keys["ES256"].kid in keys
    with pytest.raises(ValueError):
        keys.add(session_keys["ES256"])
    assert keys.find("nope") is None and keys.resolve_key("nope") is None
    assert keys.resolve_key(session_keys["ES256"].kid) == session_keys["ES256"].verification_key()
    keys.remove(session_keys["ES256"].kid)
    assert session_keys["ES256"].kid not in keys and len(list(keys)) == 3
    with pytest.raises(KeyError):
        keys.replace(session_keys["ES256"])
    keys.replace(session_keys["RS256"].replace(retire_after=NOW))
    assert keys.find(session_keys["RS256"].kid).retire_after == NOW  # type: ignore[union-attr]
