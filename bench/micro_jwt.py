"""Sign and verify cost per JWS algorithm, for authgate's JWT access tokens.

Run: ``.venv/bin/python bench/micro_jwt.py [iterations]``. Prints, asserts nothing.
The verify column is the whole validator (header rules, key lookup, signature,
claims), which is what a resource server pays per request.
"""

from __future__ import annotations

import sys
import time

from authgate.core.oauth2.jwt import (
    SUPPORTED_ALGORITHMS,
    JWTAccessTokenGenerator,
    JWTAccessTokenValidator,
    KeySet,
    SigningKey,
)

ISSUER = "https://auth.example.com"


def per_call_us(fn, iterations: int) -> float:
    fn()  # warm up
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - start) / iterations * 1e6


def cases() -> list[tuple[str, object, object, int]]:
    """(alg, sign, verify, token bytes) per algorithm; ``bench.micro`` times these too."""
    found = []
    for alg in SUPPORTED_ALGORITHMS:
        keys = KeySet([SigningKey.generate(alg, created_at=0)])
        gen = JWTAccessTokenGenerator(ISSUER, keys, default_audience="api")
        validator = JWTAccessTokenValidator(ISSUER, "api", keys.jwks(time.time()))

        def sign(gen: JWTAccessTokenGenerator = gen) -> str:
            return gen.generate(client_id="bench-client", grant_type="authorization_code",
                                user_id="alice", scope="profile email", expires_in=3600)

        token = sign()
        found.append((alg, sign, lambda v=validator, t=token: v.validate(t), len(token)))
    return found


def main(iterations: int = 500) -> None:
    print(f"{'alg':<7}{'sign µs':>10}{'verify µs':>12}{'token bytes':>13}")
    for alg, sign, verify, size in cases():
        sign_us = per_call_us(sign, iterations)
        verify_us = per_call_us(verify, iterations)
        print(f"{alg:<7}{sign_us:>10.1f}{verify_us:>12.1f}{size:>13}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
