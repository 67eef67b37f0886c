"""``/create_client``: a signed-in user registers an OAuth 2 client.

Every field is checked before anything is stored, and each problem is shown
next to its field. The rules are the command line's (``admin``) plus what a
web form adds: redirect URIs one a line, response types that must agree with
the grant types, and ``implicit`` / ``password`` only when ticked on purpose
(the form never pre-ticks them, and the NMOS profile does not offer them).
The client secret is shown once, on the page answering the POST, which is
``no-store``; it is kept only as a digest, so no page can show it again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import flask

from authgate.server import admin
from authgate.server.app import state
from authgate.server.views.common import bp, current_user, login_required, no_store

__all__ = ["AUTH_METHODS", "ClientForm", "grant_choices"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_LABELS = {
    "authorization_code": "Authorization code (with PKCE): sign-in through a browser",
    "refresh_token": "Refresh token: stay signed in",
    "client_credentials": "Client credentials: the client acts for itself",
    DEVICE_GRANT: "Device code: TVs and devices without a browser",
    "implicit": "Implicit (not recommended: tokens travel in the browser's address)",
    "password": "Password (not recommended: the client sees the user's password)",
}
RESPONSE_FOR_GRANT = {"authorization_code": "code", "implicit": "token"}
AUTH_METHODS = {
    "client_secret_basic": "Client secret, HTTP Basic",
    "client_secret_post": "Client secret, in the form body",
    "none": "None: a public client (native or browser app, PKCE)",
}
MAX_REDIRECTS = 20


def grant_choices() -> list[tuple[str, str]]:
    supported = state().oauth2.server.metadata()["grant_types_supported"]
    return [(g, GRANT_LABELS.get(g, g)) for g in supported]


class ClientForm:
    """The posted fields, and what is wrong with each."""

    def __init__(self, client_name: str = "", client_uri: str = "", redirect_uris: str = "",
                 grant_types: list[str] | None = None, response_types: list[str] | None = None,
                 scope: str = "", auth_method: str = "client_secret_basic") -> None:
        self.client_name = client_name.strip()
        self.client_uri = client_uri.strip()
        self.redirect_text = redirect_uris
        self.redirect_uris = [line.strip() for line in redirect_uris.splitlines()
                              if line.strip()]
        self.grant_types = list(dict.fromkeys(grant_types or []))
        self.response_types = list(dict.fromkeys(response_types or []))
        self.scope = " ".join(scope.split())
        self.auth_method = auth_method
        self.errors: dict[str, str] = {}

    @classmethod
    def posted(cls, form: Any) -> ClientForm:
        return cls(form.get("client_name", ""), form.get("client_uri", ""),
                   form.get("redirect_uris", ""), form.getlist("grant_types"),
                   form.getlist("response_types"), form.get("scope", ""),
                   form.get("token_endpoint_auth_method", "client_secret_basic"))

    @classmethod
    def blank(cls) -> ClientForm:
        """The first rendering: the code grant with refresh tokens, the first scope."""
        scopes = state().settings.scopes
        scope = "profile" if "profile" in scopes else (scopes[0] if scopes else "")
        return cls(grant_types=["authorization_code", "refresh_token"],
                   response_types=["code"], scope=scope)

    def _check_uri(self, uri: str, field: str, what: str) -> None:
        try:
            admin.validate_redirect_uri(uri)
        except ValueError:
            parts = urlsplit(uri)
            if parts.scheme == "http" and not state().settings.insecure_transport:
                self.errors[field] = f"{what} must use https (plain http only on loopback)."
            else:
                self.errors[field] = f"{what} must be an absolute URI without a fragment."
            return
        if field == "client_uri" and urlsplit(uri).scheme not in ("http", "https"):
            self.errors[field] = f"{what} must be an https address."

    def validate(self) -> bool:
        settings = state().settings
        if not self.client_name or len(self.client_name) > admin.MAX_NAME or \
                any(ord(c) < 32 for c in self.client_name):
            self.errors["client_name"] = f"Give a name of 1 to {admin.MAX_NAME} characters."
        if self.client_uri:
            self._check_uri(self.client_uri, "client_uri", "The address")
        offered = {g for g, _ in grant_choices()}
        if not self.grant_types:
            self.errors["grant_types"] = "Choose at least one grant type."
        elif unknown := [g for g in self.grant_types if g not in offered]:
            self.errors["grant_types"] = "Not offered by this server: " + ", ".join(unknown) + "."
        elif self.auth_method == "none" and "client_credentials" in self.grant_types:
            self.errors["grant_types"] = "Client credentials need a confidential client."
        implied = [RESPONSE_FOR_GRANT[g] for g in self.grant_types if g in RESPONSE_FOR_GRANT]
        if bad := [r for r in self.response_types if r not in RESPONSE_FOR_GRANT.values()]:
            self.errors["response_types"] = "Unknown response type: " + ", ".join(bad) + "."
        elif self.response_types and set(self.response_types) != set(implied):
            self.errors["response_types"] = (
                "Response type “code” goes with the authorization code grant, "
                "“token” with the implicit grant, and each grant needs its response type.")
        if len(self.redirect_uris) > MAX_REDIRECTS:
            self.errors["redirect_uris"] = f"At most {MAX_REDIRECTS} redirect URIs."
        for uri in self.redirect_uris:
            self._check_uri(uri, "redirect_uris", f"“{uri[:200]}”")
            if "redirect_uris" in self.errors:
                break
        if not self.redirect_uris and implied and "redirect_uris" not in self.errors:
            self.errors["redirect_uris"] = "This grant type needs at least one redirect URI."
        if not self.scope:
            self.errors["scope"] = "Name at least one scope."
        elif unknown := [s for s in self.scope.split() if s not in settings.scopes]:
            self.errors["scope"] = "Not a scope of this server: " + ", ".join(unknown) + "."
        if self.auth_method not in AUTH_METHODS:
            self.errors["token_endpoint_auth_method"] = "Choose one of the methods listed."
        return not self.errors


@bp.route("/create_client", methods=["GET", "POST"])
@login_required
def create_client() -> Any:
    user = current_user()
    assert user is not None
    context = {"grants": grant_choices(), "auth_methods": AUTH_METHODS,
               "scopes": state().settings.scopes}
    if flask.request.method == "GET":
        return flask.render_template("create_client.html", form=ClientForm.blank(), **context)
    form = ClientForm.posted(flask.request.form)
    if form.validate():
        try:
            info = admin.create_oauth2_client(
                form.client_name, form.grant_types, form.redirect_uris, form.scope,
                form.auth_method, client_uri=form.client_uri,
                response_types=form.response_types or None, owner_id=user.id, via="web")
        except ValueError as exc:  # a rule of admin's the form did not foresee
            form.errors["form"] = str(exc).capitalize() + "."
        else:
            page = flask.render_template("client_created.html", info=info)
            return no_store(flask.make_response(page))
    return flask.render_template("create_client.html", form=form, **context), 400
