"""Immutable HTTP values: the only I/O shape the protocol core knows.

The web glue (``authgate.flask``) turns a framework request into a
:class:`Request` and renders the :class:`Response` the core returns. Keeping
both frozen means no step of a flow can quietly change what a later step sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Headers", "Params", "Request", "Response", "json_response", "redirect_response"]


class Params(Mapping[str, str]):
    """An immutable multi-valued parameter list (query string or form body).

    ``params[name]`` and ``get`` return the first value; protocol code that must
    reject repeated parameters (RFC 6749 §3.1, §3.2) asks :meth:`is_repeated`.
    """

    __slots__ = ("_first", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(items)
        first: dict[str, str] = {}
        for key, value in self._items:
            first.setdefault(key, value)
        self._first = first

    @classmethod
    def parse(cls, text: str) -> Params:
        """Parse ``application/x-www-form-urlencoded`` text, keeping blank values."""
        return cls(parse_qsl(text, keep_blank_values=True))

    def __getitem__(self, key: str) -> str:
        return self._first[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def __repr__(self) -> str:
        return f"Params({list(self._first)!r})"

    def getall(self, key: str) -> list[str]:
        return [value for name, value in self._items if name == key]

    def is_repeated(self, key: str) -> bool:
        seen = 0
        for name, _ in self._items:
            if name == key:
                seen += 1
                if seen > 1:
                    return True
        return False

    def items_list(self) -> tuple[tuple[str, str], ...]:
        return self._items


class Headers(Mapping[str, str]):
    """Case-insensitive, immutable request headers."""

    __slots__ = ("_map",)

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        mapping: dict[str, str] = {}
        for key, value in pairs:
            mapping.setdefault(key.lower(), value)
        self._map = mapping

    def __getitem__(self, key: str) -> str:
        return self._map[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._map

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __repr__(self) -> str:
        redacted = {k: ("<redacted>" if k in {"authorization", "cookie"} else v)
                    for k, v in self._map.items()}
        return f"Headers({redacted!r})"


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the core sees it.

    ``uri`` is the absolute request URI (scheme, host, path and query); ``query``
    and ``form`` are already parsed, ``form`` only for urlencoded or multipart
    bodies (``content_type`` says which). ``remote_addr`` feeds rate limits.
    """

    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    query: Params = field(default_factory=Params)
    form: Params = field(default_factory=Params)
    body: bytes = b""
    remote_addr: str | None = None
    is_secure: bool = False

    @classmethod
    def build(
        cls,
        method: str,
        uri: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        form: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | str = b"",
        remote_addr: str | None = "127.0.0.1",
    ) -> Request:
        """Build a request from plain values (tests, non-Flask callers).

        A ``form`` given as pairs is encoded as an urlencoded body unless a
        ``Content-Type`` is given; a raw ``body`` of that type is parsed.
        """
        hdrs = Headers(headers)
        raw = body.encode() if isinstance(body, str) else body
        parts = urlsplit(uri)
        if form is not None:
            pairs = list(form.items()) if isinstance(form, Mapping) else list(form)
            form_params = Params(pairs)
            if "content-type" not in hdrs:
                hdrs = Headers([*hdrs.items(), ("Content-Type",
                                                "application/x-www-form-urlencoded")])
        elif raw and media_type(hdrs.get("content-type")) == "application/x-www-form-urlencoded":
            form_params = Params.parse(raw.decode("utf-8", "replace"))
        else:
            form_params = Params()
        return cls(
            method=method.upper(),
            uri=uri,
            headers=hdrs,
            query=Params.parse(parts.query),
            form=form_params,
            body=raw,
            remote_addr=remote_addr,
            is_secure=parts.scheme == "https",
        )

    @property
    def content_type(self) -> str | None:
        """The media type of the body, lower-cased, without parameters."""
        return media_type(self.headers.get("content-type"))

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def host(self) -> str:
        return urlsplit(self.uri).hostname or ""


def media_type(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(";", 1)[0].strip().lower() or None


@dataclass(frozen=True, slots=True)
class Response:
    """What the core answers: status, headers and a body, nothing else."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


NO_STORE: tuple[tuple[str, str], ...] = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def json_response(
    status: int,
    data: Mapping[str, Any],
    headers: Iterable[tuple[str, str]] = (),
    *,
    no_store: bool = True,
) -> Response:
    """A JSON response; token and error responses are never cached (RFC 6749 §5.1)."""
    body = json.dumps(data, separators=(",", ":")).encode()
    base = (("Content-Type", "application/json"), *(NO_STORE if no_store else ()))
    return Response(status, (*base, *headers), body)


def redirect_response(location: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(302, (("Location", location), *NO_STORE, *headers))
