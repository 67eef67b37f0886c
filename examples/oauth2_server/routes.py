"""The pages and OAuth routes of the example provider."""

from __future__ import annotations

import time

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from werkzeug.security import gen_salt

from authgate.flask.oauth2 import current_token
from authgate.oauth2 import OAuth2Error

from .models import OAuth2Client, User, db
from .oauth2 import authorization, require_oauth

bp = Blueprint("home", __name__)


def current_user():
    if "id" in session:
        return db.session.get(User, session["id"])
    return None


def split_by_crlf(value):
    return [v for v in value.splitlines() if v]


@bp.route("/", methods=("GET", "POST"))
def home():
    if request.method == "POST":
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        user = User.query.filter_by(username=username).first()
        if user is None and request.form.get("action") == "signup" and username and password:
            user = User(username=username)
            user.set_password(password)
            db.session.add(user)
            db.session.commit()
        elif user is None or not user.check_password(password):
            return render_template("home.html", user=None, clients=[],
                                   error="Wrong username or password."), 400
        session.clear()
        session["id"] = user.id
        next_page = request.args.get("next", "")
        if next_page.startswith("/") and not next_page.startswith("//"):
            return redirect(next_page)
        return redirect("/")
    user = current_user()
    clients = OAuth2Client.query.filter_by(user_id=user.id).all() if user else []
    return render_template("home.html", user=user, clients=clients, error=None)


@bp.route("/logout", methods=("POST",))
def logout():
    session.clear()
    return redirect("/")


@bp.route("/create_client", methods=("GET", "POST"))
def create_client():
    user = current_user()
    if not user:
        return redirect("/")
    if request.method == "GET":
        return render_template("create_client.html")
    form = request.form
    client = OAuth2Client(client_id=gen_salt(24), client_id_issued_at=int(time.time()),
                          user_id=user.id)
    client.set_client_metadata({
        "client_name": form["client_name"],
        "client_uri": form.get("client_uri", ""),
        "grant_types": split_by_crlf(form.get("grant_type", "")),
        "redirect_uris": split_by_crlf(form.get("redirect_uri", "")),
        "response_types": split_by_crlf(form.get("response_type", "")),
        "scope": form.get("scope", ""),
        "token_endpoint_auth_method": form.get("token_endpoint_auth_method",
                                               "client_secret_basic"),
    })
    secret = None
    if form.get("token_endpoint_auth_method") != "none":
        secret = gen_salt(48)
        client.client_secret = secret
    db.session.add(client)
    db.session.commit()
    return render_template("client_created.html", client=client, secret=secret)


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize():
    user = current_user()
    if not user:
        return redirect(url_for("home.home", next=request.full_path))
    if request.method == "GET":
        try:
            grant = authorization.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return authorization.handle_error_response(error)
        client = grant.client
        scope = client.get_allowed_scope(grant.request.scope)
        return render_template("authorize.html", user=user, grant=grant, client=client,
                               scopes=scope.split())
    if request.form.get("confirm") == "yes":
        return authorization.create_authorization_response(grant_user=user)
    return authorization.create_authorization_response(grant_user=None)


@bp.route("/oauth/token", methods=["POST"])
def issue_token():
    return authorization.create_token_response()


@bp.route("/oauth/revoke", methods=["POST"])
def revoke_token():
    return authorization.create_endpoint_response("revocation")


@bp.route("/api/me")
@require_oauth("profile")
def api_me():
    user = current_token.user
    if user is None:  # a client_credentials token acts for the client, not a user
        return jsonify(error="no_user", error_description="This token has no user."), 403
    return jsonify(id=user.id, username=user.username)
