"""What every page shares: the blueprint, the signed-in user, safe redirects, error pages.

The pages live in several modules (:mod:`.account`, :mod:`.home`,
:mod:`.clients`, :mod:`.consent`) that all add their routes to the one
``pages`` blueprint defined here, so endpoint names (``pages.login``) stay
the same whichever module a view sits in.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from authgate.server.app import state
from authgate.server.models import User, load_user

__all__ = ["SESSION_USER", "bp", "current_user", "error_page", "login_required", "no_store",
           "safe_next"]

bp = flask.Blueprint("pages", __name__)
SESSION_USER = "user_id"
View = TypeVar("View", bound=Callable[..., Any])


def current_user() -> User | None:
    """The user of this browser session, looked up afresh so a deleted user is signed out."""
    cached = flask.g.get("authgate_user", False)
    if cached is not False:
        return cast("User | None", cached)
    user_id = flask.session.get(SESSION_USER)
    user = load_user(state().db.session, user_id) if isinstance(user_id, int) else None
    flask.g.authgate_user = user
    return user


def safe_next(value: str | None) -> str:
    """A path on this server, or home.

    Browsers treat ``//host``, ``/\\host`` and a path with a tab or newline
    inside as leaving the site, so only a plain ``/path`` is followed.
    """
    if (not value or not value.startswith("/") or value.startswith(("//", "/\\"))
            or any(ord(c) < 33 or c == "\\" for c in value[:2]) or len(value) > 2000
            or any(ord(c) < 32 or ord(c) == 127 for c in value)):
        return flask.url_for("pages.home")
    return value


def login_required(view: View) -> View:
    """Send anonymous visitors to ``/login``, coming back here afterwards."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            target = flask.request.full_path.rstrip("?")
            return flask.redirect(flask.url_for("pages.login", next=target))
        return view(*args, **kwargs)

    return cast(View, wrapper)


def error_page(error: str, description: str | None, status: int,
               headers: dict[str, str] | None = None) -> flask.Response:
    response = flask.make_response(
        flask.render_template("error.html", error=error, description=description,
                              user=current_user()), status)
    response.headers.update(headers or {})
    return response


def no_store(response: flask.Response) -> flask.Response:
    """For pages that show a secret: no cache on the way may keep a copy."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.app_context_processor
def _page_context() -> dict[str, Any]:
    return {"current_user": current_user}


@bp.app_template_filter("isotime")
def _isotime(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@bp.app_template_filter("humantime")
def _humantime(seconds: float) -> str:
    return time.strftime("%d %b %Y, %H:%M UTC", time.gmtime(seconds))


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _http_error(error: HTTPException) -> flask.Response:
    """People get a page; programs that ask for JSON get the OAuth error shape."""
    status = error.code or 500
    code = "not_found" if status == 404 else "method_not_allowed"
    accept = flask.request.accept_mimetypes
    if accept.best_match(["text/html", "application/json"]) == "application/json":
        response = flask.jsonify(error=code, error_description=error.description)
        response.status_code = status
    else:
        response = error_page(code, "There is no such page here." if status == 404
                              else "This page does not take that kind of request.", status)
    allow = dict(error.get_headers()).get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> flask.Response:
    # Forged, missing or expired: the same page, and nothing was done.
    return error_page("invalid_csrf_token",
                      "This form has expired or did not come from this site. "
                      "Go back, reload the page and try again.", 400)
