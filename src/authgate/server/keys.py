"""Signing keys in the database, and the in-memory key set each worker signs with.

The database is the truth; every worker keeps a :class:`KeyRing`, a
``KeySet`` it reloads at most every ``reload_interval`` seconds (60 by
default). So ``authgate rotate-keys``, run in another process, reaches every
worker within a minute without a restart, and a busy server does not read the
keys table on every token.

Because a worker may still sign with the previous key for up to one reload
interval after the new key's ``not_before``, the old key is kept published
for the token lifetime *plus* that interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from authgate.core.oauth2.jwt import KeySet, SigningKey, VerificationKey
from authgate.server.crypto import KeyCipher
from authgate.server.models import SigningKeyRecord

__all__ = ["KeyRing", "ensure_signing_key", "load_keyset", "rotate_keys"]

log = logging.getLogger(__name__)


def _to_key(record: SigningKeyRecord, cipher: KeyCipher) -> SigningKey:
    pem = cipher.decrypt(record.private_pem, record.kid)
    key = SigningKey.from_pem(pem, record.alg, created_at=record.created_at)
    key = key.replace(not_before=record.not_before, retire_after=record.retire_after)
    if key.kid != record.kid:
        raise ValueError(f"stored key {record.kid} has thumbprint {key.kid}")
    return key


def _to_record(key: SigningKey, cipher: KeyCipher) -> SigningKeyRecord:
    return SigningKeyRecord(kid=key.kid, alg=key.alg,
                            private_pem=cipher.encrypt(key.to_pem(), key.kid),
                            created_at=key.created_at, not_before=key.not_before,
                            retire_after=key.retire_after)


def load_keyset(session: Session, cipher: KeyCipher) -> KeySet:
    records = session.scalars(select(SigningKeyRecord)).all()
    return KeySet(_to_key(r, cipher) for r in records)


def ensure_signing_key(session: Session, cipher: KeyCipher, alg: str, now: float) -> bool:
    """Create the first key if there is none; True if one was made.

    Called on every start; concurrent first starts are kept apart by the
    caller's start-up lock and, failing that, by the unique ``kid``.
    """
    if session.scalars(select(SigningKeyRecord.id).limit(1)).first() is not None:
        return False
    session.add(_to_record(SigningKey.generate(alg, created_at=now), cipher))
    session.commit()
    log.info("created the first %s signing key", alg)
    return True


def rotate_keys(session: Session, cipher: KeyCipher, alg: str, now: float, *,
                not_before_delay: float, max_token_lifetime: float) -> tuple[SigningKey,
                                                                             list[str]]:
    """Add a key signing from ``now + not_before_delay``; retire and prune the others.

    Returns the new key and the ``kid``s deleted because no live token can
    carry them any more.
    """
    keys = load_keyset(session, cipher)
    new_key = SigningKey.generate(alg, created_at=now, not_before=now + not_before_delay)
    keys.rotate(new_key, max_token_lifetime=max_token_lifetime)
    gone = [k.kid for k in keys.prune(now)]
    by_kid = {r.kid: r for r in session.scalars(select(SigningKeyRecord)).all()}
    for key in keys:
        record = by_kid.get(key.kid)
        if record is None:
            session.add(_to_record(key, cipher))
        else:
            record.retire_after = key.retire_after
    if gone:
        session.execute(delete(SigningKeyRecord).where(SigningKeyRecord.kid.in_(gone)))
    session.commit()
    return new_key, gone


class KeyRing:
    """The worker's view of the keys: signs, publishes and resolves ``kid``s.

    ``session_factory`` opens a short-lived Session for each reload, so the
    ring never holds a request's Session. It is the ``keys`` callable of the
    library's ``JWTAccessTokenGenerator`` and the key resolver of its
    validator.
    """

    def __init__(self, session_factory: Callable[[], Session], cipher: KeyCipher, *,
                 clock: Callable[[], float], reload_interval: float = 60.0) -> None:
        self._session_factory = session_factory
        self._cipher = cipher
        self._clock = clock
        self.reload_interval = reload_interval
        self.publish_interval = min(1.0, reload_interval)
        self._keyset = KeySet()
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<KeyRing {self._keyset!r}>"

    def reload(self) -> KeySet:
        """Read the keys now (tests, and the first use)."""
        with self._session_factory() as session:
            keyset = load_keyset(session, self._cipher)
        self._keyset, self._loaded_at = keyset, self._clock()
        return keyset

    def keyset(self) -> KeySet:
        loaded = self._loaded_at
        if loaded is None or self._clock() - loaded >= self.reload_interval:
            with self._lock:  # one reload per worker at a time; others use the old set
                if self._loaded_at == loaded:
                    self.reload()
        return self._keyset

    def __call__(self) -> SigningKey:
        return self.keyset().active_at(self._clock())

    def jwks(self) -> dict[str, Any]:
        """The published keys, reread at most every ``publish_interval`` seconds (not 60):
        a key that ``authgate rotate-keys`` adds in another process is published at once."""
        loaded = self._loaded_at
        if loaded is None or self._clock() - loaded >= self.publish_interval:
            with self._lock:
                if self._loaded_at == loaded:
                    self.reload()
        return self._keyset.jwks(self._clock())

    def resolve_key(self, kid: str) -> VerificationKey | None:
        return self.keyset().resolve_key(kid)
