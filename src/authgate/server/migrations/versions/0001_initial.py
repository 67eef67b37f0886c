"""The initial schema: users, OAuth 2 and OAuth 1 records, keys, consents, audit.

Written out by hand (not generated at run time) so the schema a database gets
never depends on the models of whatever version happens to be installed.
Hashed and encrypted columns are plain strings here: the hashing and the
encryption happen in Python, above the database.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _user_id(nullable: bool = True) -> sa.Column[int]:
    return sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"),
                     nullable=nullable)


def _index(table: str, column: str, unique: bool = False) -> None:
    op.create_index(f"ix_{table}_{column}", table, [column], unique=unique)


def upgrade() -> None:
    op.create_table(
        "user", _id(),
        sa.Column("username", sa.String(80), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
    )
    op.create_table(
        "oauth2_client", _id(), _user_id(),
        sa.Column("client_id", sa.String(48), nullable=False),
        sa.Column("client_secret", sa.String(120), nullable=True),
        sa.Column("client_id_issued_at", sa.Integer(), nullable=False),
        sa.Column("client_secret_expires_at", sa.Integer(), nullable=False),
        sa.Column("client_metadata", sa.Text(), nullable=True),
    )
    _index("oauth2_client", "client_id", unique=True)
    _index("oauth2_client", "user_id")
    op.create_table(
        "oauth2_code", _id(), _user_id(nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(48), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=True),
        sa.Column("response_type", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=True),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("code_challenge", sa.Text(), nullable=True),
        sa.Column("code_challenge_method", sa.String(48), nullable=True),
    )
    _index("oauth2_code", "code", unique=True)
    _index("oauth2_code", "user_id")
    op.create_table(
        "oauth2_token", _id(), _user_id(),
        sa.Column("client_id", sa.String(48), nullable=False),
        sa.Column("token_type", sa.String(40), nullable=False),
        sa.Column("access_token", sa.String(64), nullable=False, unique=True),
        sa.Column("refresh_token", sa.String(64), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("access_token_revoked_at", sa.Integer(), nullable=True),
        sa.Column("refresh_token_revoked_at", sa.Integer(), nullable=True),
        sa.Column("expires_in", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(80), nullable=True),
    )
    _index("oauth2_token", "refresh_token", unique=True)
    _index("oauth2_token", "family")
    _index("oauth2_token", "user_id")
    op.create_table(
        "signing_key", _id(),
        sa.Column("kid", sa.String(64), nullable=False, unique=True),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.Column("retire_after", sa.Float(), nullable=True),
    )
    op.create_table(
        "consent", _id(), _user_id(nullable=False),
        sa.Column("client_id", sa.String(48), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.Integer(), nullable=False),
        sa.UniqueConstraint("user_id", "client_id"),
    )
    _index("consent", "user_id")
    op.create_table(
        "initial_access_token", _id(),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.Integer(), nullable=True),
    )
    op.create_table(
        "audit_event", _id(),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(120), nullable=True),
        sa.Column("client_id", sa.String(48), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    _index("audit_event", "at")
    _index("audit_event", "kind")
    op.create_table(
        "oauth1_client", _id(),
        sa.Column("client_name", sa.String(120), nullable=False),
        _user_id(),
        sa.Column("client_id", sa.String(48), nullable=False),
        sa.Column("client_secret", sa.String(255), nullable=True),
        sa.Column("default_redirect_uri", sa.Text(), nullable=False),
        sa.Column("rsa_public_key", sa.Text(), nullable=True),
    )
    _index("oauth1_client", "client_id", unique=True)
    _index("oauth1_client", "user_id")
    op.create_table(
        "oauth1_temporary_credential", _id(), _user_id(),
        sa.Column("client_id", sa.String(48), nullable=False),
        sa.Column("oauth_token", sa.String(84), nullable=False),
        sa.Column("oauth_token_secret", sa.String(255), nullable=False),
        sa.Column("oauth_verifier", sa.String(84), nullable=True),
        sa.Column("oauth_callback", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
    )
    _index("oauth1_temporary_credential", "client_id")
    _index("oauth1_temporary_credential", "oauth_token", unique=True)
    _index("oauth1_temporary_credential", "user_id")
    op.create_table(
        "oauth1_token_credential", _id(), _user_id(),
        sa.Column("client_id", sa.String(48), nullable=False),
        sa.Column("oauth_token", sa.String(84), nullable=False),
        sa.Column("oauth_token_secret", sa.String(255), nullable=False),
    )
    _index("oauth1_token_credential", "client_id")
    _index("oauth1_token_credential", "oauth_token", unique=True)
    _index("oauth1_token_credential", "user_id")
    op.create_table(
        "oauth1_nonce", _id(),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("timestamp", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(48), nullable=False),
        sa.Column("oauth_token", sa.String(84), nullable=False),
        sa.UniqueConstraint("client_id", "oauth_token", "timestamp", "nonce"),
    )
    _index("oauth1_nonce", "timestamp")
    op.create_table(
        "device_code", _id(),
        sa.Column("device_code_hash", sa.String(64), nullable=False),
        sa.Column("user_code", sa.String(16), nullable=False),
        sa.Column("client_id", sa.String(48), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=True),
        sa.Column("last_poll", sa.Float(), nullable=True),
    )
    _index("device_code", "device_code_hash", unique=True)
    _index("device_code", "user_code", unique=True)
    _index("device_code", "client_id")


def downgrade() -> None:
    for table in ("device_code", "oauth1_nonce", "oauth1_token_credential",
                  "oauth1_temporary_credential", "oauth1_client", "audit_event",
                  "initial_access_token", "consent", "signing_key", "oauth2_token",
                  "oauth2_code", "oauth2_client", "user"):
        op.drop_table(table)
