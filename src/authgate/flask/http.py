"""Conversions between Flask's request/response and the core's immutable values."""

from __future__ import annotations

import re
from typing import Any, cast

import flask
from werkzeug.datastructures import EnvironHeaders
from werkzeug.sansio.request import Request as SansioRequest
from werkzeug.wrappers import Request as WerkzeugRequest

from authgate.core.http import Headers, Params, Request, Response, media_type

__all__ = ["FORM_MEDIA_TYPES", "request_url", "to_core_request", "to_flask_response"]

FORM_MEDIA_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_ENVIRON_KEY = "authgate.core_request"


def to_core_request(request: WerkzeugRequest | None = None) -> Request:
    """The current (or given) request as a core :class:`Request`.

    Only urlencoded and multipart bodies become ``form``: other bodies are not
    read, so a JSON body cannot smuggle parameters in. A JSON body is passed
    as raw ``body`` bytes, for the endpoints that take JSON (RFC 7591).

    The value is kept in the WSGI environ, so a view that asks twice (the
    consent grant, then the authorization response) builds it once.
    """
    req = request if request is not None else flask.request._get_current_object()  # type: ignore[attr-defined]
    cached = req.environ.get(_ENVIRON_KEY)
    if cached is not None:
        return cast(Request, cached)
    content_type = media_type(req.headers.get("Content-Type"))
    form = Params(req.form.items(multi=True)) if content_type in FORM_MEDIA_TYPES else Params()
    body = req.get_data(cache=True) if content_type == "application/json" else b""
    core = req.environ[_ENVIRON_KEY] = Request(
        method=req.method,
        uri=request_url(req),
        headers=_headers(req),
        query=Params(req.args.items(multi=True)),
        form=form,
        body=body,
        remote_addr=req.remote_addr,
        is_secure=req.is_secure,
    )
    return core


_BODY_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def _headers(req: Any) -> Headers:
    """The request's headers, read straight from the WSGI environ.

    The same names and values as werkzeug's ``EnvironHeaders`` (``HTTP_*`` keys
    and the non-empty body headers), without its title-casing that ``Headers``
    would only lower-case again. A request class with its own ``headers`` keeps
    them.
    """
    given = req.headers
    if type(given) is not EnvironHeaders or given.environ is not req.environ:
        return Headers(given.items())
    found: dict[str, str] = {}
    for key, value in req.environ.items():
        if key[:5] == "HTTP_":
            if key != "HTTP_CONTENT_TYPE" and key != "HTTP_CONTENT_LENGTH":
                found.setdefault(key[5:].replace("_", "-").lower(), value)
        elif key in _BODY_HEADERS and value:
            found.setdefault(_BODY_HEADERS[key], value)
    return Headers.of_lowercase(found)


# What werkzeug's URL rebuilding leaves as it is: no percent sign (so nothing for its
# IRI conversion to decode) and nothing ``quote`` would escape in each part.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.~!$&'()*+,/:;=@-]*")
_PLAIN_QUERY = re.compile(rb"[A-Za-z0-9_.~!$&'()*+,/:;=?@-]*")
_PLAIN_HOST = re.compile(r"[a-z0-9.-]+(?::[1-9][0-9]{0,4})?")


def request_url(req: Any, *, query: bool = True) -> str:
    """``req.url`` (``req.base_url`` with ``query=False``), built directly in the common case.

    Werkzeug quotes each part, then converts the whole to an IRI (parse, unquote,
    IDNA-decode, unparse): a few µs on every request, for URLs that are plain
    ASCII with nothing escaped, where the conversion only lower-cases the host.
    Anything else (percent escapes, non-ASCII, IDNA or IPv6 hosts), or a request
    class with its own ``url`` / ``base_url``, takes werkzeug's (or its) own path,
    so the result is always exactly the property's. ``req.host`` still validates
    the host against ``trusted_hosts``.
    """
    name = "url" if query else "base_url"
    if getattr(type(req), name) is not getattr(SansioRequest, name):
        return cast(str, getattr(req, name))
    host = req.host.lower()
    root, path = req.root_path, req.path
    raw_query = req.query_string if query else b""
    if not (_PLAIN_HOST.fullmatch(host) and "xn--" not in host
            and _PLAIN_PATH.fullmatch(root) and _PLAIN_PATH.fullmatch(path)
            and _PLAIN_QUERY.fullmatch(raw_query)):
        return cast(str, getattr(req, name))
    url = f"{req.scheme}://{host}{root.rstrip('/')}/{path.lstrip('/')}"
    return f"{url}?{raw_query.decode('ascii')}" if raw_query else url


def to_flask_response(response: Response) -> flask.Response:
    result = flask.Response(response.body, status=response.status)
    for name, value in response.headers:
        if name.lower() == "content-type":
            result.headers["Content-Type"] = value
        else:
            result.headers.add(name, value)
    return result
