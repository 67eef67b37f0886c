"""The mixins: what they store, and the core interface they answer."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import ForeignKey, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from authgate.core.oauth2.models import AuthorizationCode as CodeProtocol
from authgate.core.oauth2.models import Client as ClientProtocol
from authgate.core.oauth2.models import Token as TokenProtocol
from authgate.core.security import hash_secret, token_digest
from authgate.sqla.oauth2 import (
    OAuth2AuthorizationCodeMixin,
    OAuth2TokenMixin,
    SQLAlchemyStore,
    rotate_refresh_token,
)
from tests.sqla_oauth2.support import REDIRECT, AuthorizationCode, Client, Token, User


def make_client(**metadata) -> Client:
    client = Client(client_id="c1", client_secret="s3cret")
    client.set_client_metadata(metadata)
    return client


# -- client -------------------------------------------------------------------------------
def test_client_secret_is_hashed_when_assigned():
    client = make_client()
    assert client.client_secret == hash_secret("s3cret")
    client.client_secret = "other"
    assert client.client_secret == hash_secret("other")
    client.client_secret = None
    assert client.client_secret is None


def test_stored_secret_form_is_kept_not_hashed_again():
    client = make_client()
    copy = Client(client_id="c2", client_secret=client.client_secret)
    assert copy.client_secret == hash_secret("s3cret")


def test_only_the_hash_reaches_the_database(sql):
    client = make_client()
    sql.session.add(client)
    sql.session.commit()
    with sql.engine.connect() as conn:
        stored = conn.execute(text(f"SELECT client_secret FROM {Client.__tablename__}")).scalar()
    assert stored == hash_secret("s3cret")
    assert sql.store.query_client("c1").check_client_secret("s3cret")


def test_check_client_secret_in_constant_time_and_refuses_expired():
    client = make_client()
    assert client.check_client_secret("s3cret") and not client.check_client_secret("s3cre")
    client.client_secret_expires_at = int(time.time()) - 1
    assert not client.check_client_secret("s3cret")
    client.client_secret_expires_at = int(time.time()) + 3600
    assert client.check_client_secret("s3cret")
    client.client_secret = None
    assert not client.check_client_secret("s3cret")


def test_client_repr_redacts_the_secret():
    client = make_client()
    assert "redacted" in repr(client) and client.client_secret not in repr(client)


def test_client_metadata_properties_and_defaults():
    client = make_client()
    assert client.client_metadata == {}
    assert client.token_endpoint_auth_method == "client_secret_basic"
    assert client.redirect_uris == client.grant_types == client.response_types == []
    assert client.contacts == [] and client.jwks == {} and client.scope == ""
    metadata = {
        "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"], "response_types": ["code"],
        "client_name": "Demo", "client_uri": "https://c.example", "logo_uri": "https://l",
        "contacts": ["a@c.example"], "tos_uri": "https://t", "policy_uri": "https://p",
        "jwks_uri": "https://j", "jwks": {"keys": []}, "software_id": "sw",
        "software_version": "1.0", "scope": "profile",
    }
    client.set_client_metadata(metadata)
    assert client.client_metadata == metadata
    for name, value in metadata.items():
        assert getattr(client, name) == value, name
    client.client_metadata["scope"] = "changed"  # a copy: no silent write-back
    assert client.scope == "profile"


def test_metadata_members_follow_every_new_value(sql):
    """Members are read from a parse kept with its string: a new value, assigned or
    refreshed from the database after another process changed it, is read anew."""
    client, _ = sql.add_client(client_id="meta", scope="profile",
                               grant_types=["client_credentials"])
    assert client.scope == "profile" and client.grant_types == ["client_credentials"]
    client.grant_types.append("password")  # a copy: the kept parse is not changed
    assert client.grant_types == ["client_credentials"]
    client.set_client_metadata({"scope": "email", "grant_types": ["authorization_code"]})
    assert client.scope == "email" and client.check_grant_type("authorization_code")
    sql.session.commit()
    with sql.engine.begin() as conn:
        conn.execute(text(f"UPDATE {Client.__tablename__} SET client_metadata = "
                          """'{"scope": "openid"}' WHERE client_id = 'meta'"""))
    sql.session.commit()
    assert sql.store.query_client("meta") is client
    assert client.scope == "openid" and client.grant_types == []


def test_client_answers_the_core_interface():
    client = make_client(redirect_uris=[REDIRECT], scope="profile email",
                         grant_types=["authorization_code"], response_types=["code"],
                         token_endpoint_auth_method="client_secret_post")
    assert isinstance(client, ClientProtocol)
    assert client.get_client_id() == "c1"
    assert client.get_default_redirect_uri() == REDIRECT
    assert client.get_allowed_scope("email admin profile") == "email profile"
    assert client.get_allowed_scope(None) == ""
    assert client.check_redirect_uri(REDIRECT)
    assert not client.check_redirect_uri(REDIRECT + "/more")
    assert not client.check_redirect_uri(REDIRECT.upper())
    for endpoint in ("token", "revocation", "introspection"):
        assert client.check_endpoint_auth_method("client_secret_post", endpoint)
        assert not client.check_endpoint_auth_method("client_secret_basic", endpoint)
    assert client.check_response_type("code") and not client.check_response_type("token")
    assert client.check_grant_type("authorization_code")
    assert not client.check_grant_type("password")


def test_default_redirect_uri_only_when_unambiguous():
    assert make_client().get_default_redirect_uri() is None
    two = make_client(redirect_uris=[REDIRECT, "https://client.example/other"])
    assert two.get_default_redirect_uri() is None


def test_loopback_redirect_ignores_only_the_port():
    client = make_client(redirect_uris=["http://127.0.0.1/cb"])
    assert client.check_redirect_uri("http://127.0.0.1:51234/cb")
    assert not client.check_redirect_uri("http://127.0.0.1:51234/other")
    assert not client.check_redirect_uri("http://evil.example/cb")


# -- authorization code ------------------------------------------------------------------------
def test_code_is_hashed_on_insert_and_on_lookup(sql):
    user = sql.add_user("alice", "pw")
    sql.session.add(AuthorizationCode(code="plain-code", client_id="c1", user_id=user.id,
                                      redirect_uri=REDIRECT, scope="profile", nonce="n"))
    sql.session.commit()
    with sql.engine.connect() as conn:
        stored = conn.execute(text(f"SELECT code FROM {AuthorizationCode.__tablename__}"))
        assert stored.scalars().all() == [token_digest("plain-code")]
    record = sql.session.execute(
        select(AuthorizationCode).filter_by(code="plain-code")).scalar_one()
    assert record.code == token_digest("plain-code")
    assert isinstance(record, CodeProtocol)
    assert record.get_redirect_uri() == REDIRECT and record.get_scope() == "profile"
    assert record.get_nonce() == "n" and record.response_type == "code"
    assert abs(record.get_auth_time() - time.time()) < 60
    assert not record.is_expired()
    record.auth_time = int(time.time()) - record.EXPIRES_IN - 1
    assert record.is_expired()
    assert "plain-code" not in repr(record) and record.code not in repr(record)


# -- token ------------------------------------------------------------------------------------
def test_token_methods():
    now = int(time.time())
    token = Token(client_id="c1", access_token="a", refresh_token="r", scope="profile",
                  issued_at=now, expires_in=60, family="f", token_type="Bearer", user_id=7)
    assert isinstance(token, TokenProtocol)
    assert token.check_client(make_client()) and token.get_scope() == "profile"
    assert token.get_expires_in() == 60 and token.get_expires_at() == now + 60
    assert token.get_family() == "f" and not token.is_expired()
    assert not token.is_revoked() and token.is_refresh_token_active()
    assert token.introspection_claims() == {
        "client_id": "c1", "token_type": "Bearer", "scope": "profile",
        "exp": now + 60, "iat": now, "sub": "7"}
    token.issued_at = now - 120
    assert token.is_expired()
    token.access_token_revoked_at = now
    assert token.is_revoked() and not token.is_refresh_token_active()
    assert "redacted" in repr(token)


def test_zero_revocation_time_of_older_schemas_means_live(sql):
    user = sql.add_user("alice", "pw")
    sql.session.add(Token(client_id="c1", access_token="a" * 40, refresh_token="r" * 40,
                          access_token_revoked_at=0, refresh_token_revoked_at=0,
                          expires_in=60, user_id=user.id))
    sql.session.commit()
    record = sql.store.query_refresh_token("r" * 40)
    assert not record.is_revoked()
    assert rotate_refresh_token(sql.session, record) is True
    assert rotate_refresh_token(sql.session, record) is False


class OtherBase(DeclarativeBase):
    pass


class UserlessToken(OtherBase, OAuth2TokenMixin):
    __tablename__ = "userless_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)


class UserlessCode(OtherBase, OAuth2AuthorizationCodeMixin):
    __tablename__ = "userless_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("userless_tokens.id"))


def test_a_token_model_without_user_id():
    token = UserlessToken(client_id="c1", access_token="a", issued_at=0, expires_in=1,
                          token_type="Bearer", scope="")
    assert token.introspection_claims() == {
        "client_id": "c1", "token_type": "Bearer", "exp": 1, "iat": 0}


def test_store_requires_user_id_columns(sql):
    with pytest.raises(TypeError, match="user_id"):
        SQLAlchemyStore(sql.session, Client, UserlessToken, AuthorizationCode, User)
    with pytest.raises(TypeError, match="user_id"):
        SQLAlchemyStore(sql.session, Client, Token, UserlessCode, User)
