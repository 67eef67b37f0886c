"""Conversions between Flask's request/response and the core's immutable values."""

from __future__ import annotations

import flask
from werkzeug.wrappers import Request as WerkzeugRequest

from authgate.core.http import Headers, Params, Request, Response, media_type

__all__ = ["FORM_MEDIA_TYPES", "to_core_request", "to_flask_response"]

FORM_MEDIA_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def to_core_request(request: WerkzeugRequest | None = None) -> Request:
    """The current (or given) request as a core :class:`Request`.

    Only urlencoded and multipart bodies become ``form``: other bodies are not
    read, so a JSON body cannot smuggle parameters in. A JSON body is passed
    as raw ``body`` bytes, for the endpoints that take JSON (RFC 7591).
    """
    req = request if request is not None else flask.request
    content_type = media_type(req.headers.get("Content-Type"))
    form = Params(req.form.items(multi=True)) if content_type in FORM_MEDIA_TYPES else Params()
    body = req.get_data(cache=True) if content_type == "application/json" else b""
    return Request(
        method=req.method,
        uri=req.url,
        headers=Headers(req.headers.items()),
        query=Params(req.args.items(multi=True)),
        form=form,
        body=body,
        remote_addr=req.remote_addr,
        is_secure=req.is_secure,
    )


def to_flask_response(response: Response) -> flask.Response:
    result = flask.Response(response.body, status=response.status)
    for name, value in response.headers:
        if name.lower() == "content-type":
            result.headers["Content-Type"] = value
        else:
            result.headers.add(name, value)
    return result
