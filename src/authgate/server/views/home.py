"""Home: the signed-in user's clients and the applications they authorized, with revoke.

Revoking an application forgets the remembered consent (so the consent page
comes back next time) and ends every grant the user gave it at once: access
and refresh tokens are marked revoked, so the server's own resources
(``/api/me``) refuse them on the next request, and unused authorization codes
are deleted. Outside resource servers that check JWTs on their own keep
accepting an access token until it expires (an hour at most by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flask
from sqlalchemy import delete, or_, select, update

from authgate.server.app import state
from authgate.server.models import (
    Consent,
    OAuth1Client,
    OAuth1TokenCredential,
    OAuth2AuthorizationCode,
    OAuth2Client,
    OAuth2Token,
    User,
)
from authgate.server.views.common import bp, current_user, error_page, login_required
from authgate.server.views.scopes import scope_items

__all__ = ["Authorization", "authorizations_of", "revoke_authorization"]


@dataclass(frozen=True)
class Authorization:
    """One row of "applications you authorized"."""

    kind: str  # "oauth2" or "oauth1"
    client_id: str
    client_name: str
    scopes: list[tuple[str, str]]
    granted_at: int | None


def authorizations_of(user: User) -> list[Authorization]:
    session = state().db.session
    found: list[Authorization] = []
    rows = session.execute(
        select(Consent, OAuth2Client)
        .outerjoin(OAuth2Client, OAuth2Client.client_id == Consent.client_id)
        .where(Consent.user_id == user.id).order_by(Consent.granted_at.desc())).all()
    for consent, client in rows:
        name = (client.client_name if client is not None else "") or consent.client_id
        found.append(Authorization("oauth2", consent.client_id, name,
                                   scope_items(consent.scopes), consent.granted_at))
    oauth1 = session.execute(
        select(OAuth1TokenCredential.client_id, OAuth1Client.client_name)
        .outerjoin(OAuth1Client, OAuth1Client.client_id == OAuth1TokenCredential.client_id)
        .where(OAuth1TokenCredential.user_id == user.id).distinct()).all()
    for client_id, name in oauth1:
        found.append(Authorization("oauth1", client_id, name or client_id, [], None))
    return found


def revoke_authorization(user: User, kind: str, client_id: str) -> bool:
    """End what ``user`` granted ``client_id``; False (and nothing changed) if nothing was."""
    session = state().db.session
    now = int(state().settings.clock())
    if kind == "oauth1":
        result = session.execute(delete(OAuth1TokenCredential).where(
            OAuth1TokenCredential.user_id == user.id,
            OAuth1TokenCredential.client_id == client_id))
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]
    consent = session.execute(select(Consent).filter_by(
        user_id=user.id, client_id=client_id)).scalar_one_or_none()
    if consent is None:
        return False
    session.delete(consent)
    session.execute(
        update(OAuth2Token)
        .where(OAuth2Token.user_id == user.id, OAuth2Token.client_id == client_id,
               or_(OAuth2Token.access_token_revoked_at.is_(None),
                   OAuth2Token.refresh_token_revoked_at.is_(None)))
        .values(access_token_revoked_at=now, refresh_token_revoked_at=now))
    session.execute(delete(OAuth2AuthorizationCode).where(
        OAuth2AuthorizationCode.user_id == user.id,
        OAuth2AuthorizationCode.client_id == client_id))
    session.commit()
    return True


@bp.get("/")
def home() -> Any:
    user = current_user()
    if user is None:
        return flask.render_template("welcome.html")
    clients = state().db.session.execute(
        select(OAuth2Client).where(OAuth2Client.user_id == user.id)
        .order_by(OAuth2Client.client_id_issued_at.desc())).scalars().all()
    return flask.render_template("home.html", user=user, clients=clients,
                                 authorizations=authorizations_of(user),
                                 revoked=flask.request.args.get("revoked"))


@bp.post("/authorizations/revoke")
@login_required
def revoke() -> Any:
    user = current_user()
    assert user is not None
    kind = flask.request.form.get("kind", "oauth2")
    client_id = flask.request.form.get("client_id", "")[:48]
    if kind not in ("oauth2", "oauth1") or not revoke_authorization(user, kind, client_id):
        return error_page("not_found", "You have not authorized this application.", 404)
    state().audit.record("authorization.revoked", actor=user.username, client_id=client_id,
                         protocol=kind)
    return flask.redirect(flask.url_for("pages.home", revoked=client_id), 303)
