"""The OAuth 2.0 view of one HTTP request.

:class:`OAuth2Request` is frozen: a grant that learns who the client or the
user is makes a new value with :meth:`OAuth2Request.with_` rather than writing
into a shared bag. Hooks receive it with the attributes Authlib's hooks read
(``client``, ``user``, ``scope``, ``redirect_uri``, ``data`` ...).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from authgate.core.http import Headers, Params, Request
from authgate.core.oauth2.errors import InvalidRequestError

__all__ = ["OAuth2Request", "collect_params"]

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

# Credentials that must never travel in a URL (RFC 6749 §2.3.1, §3.2, RFC 9700 §4.3).
SECRET_PARAMETERS = frozenset(
    {"client_secret", "password", "code", "refresh_token", "code_verifier", "client_assertion",
     "device_code", "token"}
)


def collect_params(params: Params) -> dict[str, str]:
    """First values of ``params``, refusing repeats and treating empty values as absent.

    RFC 6749 §3.1 and §3.2: parameters sent without a value are omitted, and
    request and response parameters must not be included more than once.
    """
    collected: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in params.items_list():
        if name in seen:
            raise InvalidRequestError("Parameter '{name}' is repeated.", params={"name": name})
        seen.add(name)
        if value != "":
            collected[name] = value
    return collected


@dataclass(frozen=True, slots=True)
class OAuth2Request:
    """An OAuth 2.0 request: its parameters, and what validation has learnt so far."""

    http: Request
    data: dict[str, str] = field(default_factory=dict)
    client: Any = None
    user: Any = None
    scope: str | None = None
    redirect_uri: str | None = None
    credential: Any = None
    auth_method: str | None = None
    token_family: str | None = None

    @classmethod
    def from_query(cls, http: Request) -> OAuth2Request:
        return cls(http=http, data=collect_params(http.query))

    @classmethod
    def from_query_and_form(cls, http: Request) -> OAuth2Request:
        """Authorization endpoint: GET puts parameters in the query, POST may add the form."""
        data = collect_params(http.query)
        if http.method == "POST" and http.content_type in FORM_TYPES:
            for name, value in collect_params(http.form).items():
                if name in data:
                    raise InvalidRequestError(
                        "Parameter '{name}' is repeated.", params={"name": name}
                    )
                data[name] = value
        return cls(http=http, data=data, scope=data.get("scope"),
                   redirect_uri=data.get("redirect_uri"))

    @classmethod
    def from_form(cls, http: Request) -> OAuth2Request:
        """Token-style endpoints: POST with a form body, secrets never in the query."""
        if http.method != "POST":
            raise InvalidRequestError("The request must use the POST method.")
        if http.content_type not in FORM_TYPES:
            raise InvalidRequestError(
                "The request body must be application/x-www-form-urlencoded."
            )
        leaked = SECRET_PARAMETERS.intersection(http.query)
        if leaked:
            raise InvalidRequestError(
                "Parameter '{name}' must not be sent in the query string.",
                params={"name": sorted(leaked)[0]},
            )
        data = collect_params(http.form)
        return cls(http=http, data=data, scope=data.get("scope"),
                   redirect_uri=data.get("redirect_uri"))

    def with_(self, **changes: Any) -> OAuth2Request:
        return dataclasses.replace(self, **changes)

    # Authlib-compatible views ------------------------------------------------
    @property
    def headers(self) -> Headers:
        return self.http.headers

    @property
    def method(self) -> str:
        return self.http.method

    @property
    def uri(self) -> str:
        return self.http.uri

    @property
    def form(self) -> Params:
        return self.http.form

    @property
    def args(self) -> Params:
        return self.http.query

    @property
    def client_id(self) -> str | None:
        return self.data.get("client_id")

    @property
    def response_type(self) -> str | None:
        return self.data.get("response_type")

    @property
    def grant_type(self) -> str | None:
        return self.data.get("grant_type")

    @property
    def state(self) -> str | None:
        return self.data.get("state")

    @property
    def languages(self) -> str | None:
        return self.http.headers.get("accept-language")

    def __repr__(self) -> str:
        shown = {k: ("<redacted>" if k in SECRET_PARAMETERS else v) for k, v in self.data.items()}
        return f"OAuth2Request({self.http.method} {self.http.path}, {shown})"
