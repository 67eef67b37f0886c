"""Conversions between Flask's request/response and the core's immutable values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import parse_qsl

import flask
from werkzeug.datastructures import EnvironHeaders
from werkzeug.sansio.request import Request as SansioRequest
from werkzeug.wrappers import Request as WerkzeugRequest

from authgate.core.http import Headers, Params, Request, Response, media_type

__all__ = ["FORM_MEDIA_TYPES", "request_url", "to_core_request", "to_flask_response"]

FORM_MEDIA_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_ENVIRON_KEY = "authgate.core_request"
_NO_PARAMS = Params()


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
    headers = _headers(req)
    content_type = media_type(headers.get("content-type"))
    form = _form(req, content_type)
    body = req.get_data(cache=True) if content_type == "application/json" else b""
    core = req.environ[_ENVIRON_KEY] = Request(
        method=req.method,
        uri=request_url(req),
        headers=headers,
        query=_query(req),
        form=form,
        body=body,
        remote_addr=req.remote_addr,
        is_secure=req.is_secure,
    )
    return core


def _form(req: Any, content_type: str | None) -> Params:
    """The form parameters of a urlencoded or multipart body; none for any other body."""
    if content_type not in FORM_MEDIA_TYPES:
        return _NO_PARAMS
    if content_type == "application/x-www-form-urlencoded" and type(req) is flask.Request \
            and "form" not in req.__dict__ and "_cached_data" not in req.__dict__ \
            and flask.has_app_context() and not flask.current_app.debug:
        return Params(_load_urlencoded(req))
    return Params(req.form.items(multi=True))


def _load_urlencoded(req: flask.Request) -> list[tuple[str, str]]:
    """Parse a urlencoded body as ``req.form`` would, and leave ``req.form`` set to it.

    Werkzeug's form loading builds a parser object and reads four size limits
    through the application context, of which only ``max_content_length``
    applies to a urlencoded body (``req.stream`` enforces it, answering 413):
    a sixth of a token request's cost beyond the bare Flask POST, for one
    ``parse_qsl`` call. This is that call, with werkzeug's arguments and its
    silence on an undecodable body (no parameters), for Flask's own request
    class outside debug mode (where Flask swaps in a ``files`` that explains
    itself); a subclass, a body already read through ``get_data``, or a form
    already parsed take werkzeug's path.
    """
    stream = req.stream
    try:
        items = parse_qsl(stream.read().decode(), keep_blank_values=True,
                          errors="werkzeug.url_quote")
    except ValueError:
        items = []
    storage = req.parameter_storage_class
    req.__dict__.update(stream=stream, form=storage(items), files=storage())
    return items


def _query(req: Any) -> Params:
    """The query parameters; none to parse (most requests) skips werkzeug's parser."""
    if not req.environ.get("QUERY_STRING") and type(req).args is SansioRequest.args:
        return _NO_PARAMS
    return Params(req.args.items(multi=True))


_BODY_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def _headers(req: Any) -> Headers:
    """The request's headers, read straight from the WSGI environ when asked for.

    The same names and values as werkzeug's ``EnvironHeaders`` (``HTTP_*`` keys
    and the non-empty body headers). A request class with its own ``headers``
    keeps them.
    """
    given = req.headers
    if type(given) is not EnvironHeaders or given.environ is not req.environ:
        return Headers(given.items())
    return _EnvironHeaders(req.environ)


class _EnvironHeaders(Headers):
    """Headers over a WSGI environ, looked up one name at a time.

    An endpoint reads one to three headers (``Authorization``, ``Content-Type``,
    ``Accept-Language``), while the environ holds every header and the
    server's own keys: a lookup goes straight to ``HTTP_<NAME>``, and the full
    map is built only for iteration. The environ is the request's own and, as
    for werkzeug's ``EnvironHeaders``, is not expected to change under it.
    """

    __slots__ = ("_environ",)

    def __init__(self, environ: dict[str, Any]) -> None:  # nothing to copy: read on demand
        self._environ = environ

    def __getitem__(self, key: str) -> str:
        name = key.lower() if isinstance(key, str) else ""
        if not name or "_" in name:  # werkzeug's names never hold one: no such header
            raise KeyError(key)
        environ_key = name.upper().replace("-", "_")
        if environ_key in _BODY_HEADERS:
            value = self._environ.get(environ_key)
            if not value:
                raise KeyError(key)
            return cast(str, value)
        return cast(str, self._environ["HTTP_" + environ_key])

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def _full(self) -> dict[str, str]:
        try:
            return self._map
        except AttributeError:
            pass
        found: dict[str, str] = {}
        for key, value in self._environ.items():
            if key[:5] == "HTTP_":
                if key != "HTTP_CONTENT_TYPE" and key != "HTTP_CONTENT_LENGTH":
                    found.setdefault(key[5:].replace("_", "-").lower(), value)
            elif key in _BODY_HEADERS and value:
                found.setdefault(_BODY_HEADERS[key], value)
        self._map = found
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._full())

    def __len__(self) -> int:
        return len(self._full())

    def __repr__(self) -> str:
        self._full()
        return super().__repr__()


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
    # A Content-Type among the headers replaces Flask's default one; without one, the
    # default (text/html) applies, as for any Flask response.
    return flask.Response(response.body, status=response.status, headers=list(response.headers))
