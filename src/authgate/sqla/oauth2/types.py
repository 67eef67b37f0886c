"""Column types that keep OAuth 2.0 credentials out of the database in clear.

A leaked database backup or a read-only SQL injection must not hand out
working codes and tokens (RFC 9700 §4.14, RFC 6819 §5.1.4.1.3). Codes and
tokens are high-entropy random strings, so their SHA-256 is a sufficient
stored form and stays indexable for exact lookups.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from authgate.core.security import token_digest

__all__ = ["HashedToken"]


class HashedToken(TypeDecorator[str]):
    """A string column holding the hex SHA-256 digest of the value bound to it.

    Hashing happens at bind time, so both ``Model(code=plain)`` and
    ``select(Model).filter_by(code=plain)`` work with the clear value and only
    the digest reaches the database. Reading the column gives the digest.
    The flip side: never bind the digest itself (it would be hashed again);
    assigning a value read from the column back to it breaks the record.
    """

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return token_digest(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    @property
    def python_type(self) -> type[str]:
        return str
