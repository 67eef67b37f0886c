"""The signed request: protocol parameters collected from the three places (RFC 5849 §3.5).

A client may put its ``oauth_*`` parameters in the ``Authorization`` header,
in a form body or in the query, but each in exactly one place; everything
from the three sources (minus ``realm`` from the header and the signature
itself) is signed (§3.4.1.3.1). :func:`collect` turns a core HTTP request into
an :class:`OAuth1Request` and refuses the ambiguous cases up front, so no
later step has to wonder which value counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from authgate.core.http import Request
from authgate.core.oauth1.encoding import parse_authorization_header
from authgate.core.oauth1.errors import DuplicatedOAuthProtocolParameterError

__all__ = ["FORM_MEDIA_TYPE", "OAuth1Request", "collect"]

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class OAuth1Request:
    """An HTTP request with its OAuth 1 parameters sorted out.

    ``params`` are every parameter that enters the signature base string;
    ``oauth_params`` the protocol ones by name. Authentication produces a new
    value with ``client``, ``credential`` and the secrets filled in (through
    :meth:`with_credentials`), which is what signature methods receive.
    """

    method: str
    uri: str
    params: tuple[tuple[str, str], ...] = ()
    oauth_params: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    signature: str | None = None
    realm: str | None = None
    is_secure: bool = False
    remote_addr: str | None = None
    accept_language: str | None = None
    client: Any = None
    credential: Any = None
    client_secret: str | None = field(default=None, repr=False)
    token_secret: str | None = field(default=None, repr=False)
    rsa_public_key: str | None = field(default=None, repr=False)

    @property
    def client_id(self) -> str | None:
        return self.oauth_params.get("oauth_consumer_key")

    @property
    def token(self) -> str | None:
        return self.oauth_params.get("oauth_token")

    @property
    def signature_method(self) -> str | None:
        return self.oauth_params.get("oauth_signature_method")

    @property
    def timestamp(self) -> str | None:
        return self.oauth_params.get("oauth_timestamp")

    @property
    def nonce(self) -> str | None:
        return self.oauth_params.get("oauth_nonce")

    @property
    def callback(self) -> str | None:
        return self.oauth_params.get("oauth_callback")

    @property
    def verifier(self) -> str | None:
        return self.oauth_params.get("oauth_verifier")

    def with_credentials(
        self,
        *,
        client: Any,
        client_secret: str | None,
        rsa_public_key: str | None,
        credential: Any = None,
        token_secret: str | None = None,
    ) -> OAuth1Request:
        # Spelled out rather than dataclasses.replace, which costs several times more
        # on every authenticated request; a new field must be added here too.
        return OAuth1Request(
            method=self.method,
            uri=self.uri,
            params=self.params,
            oauth_params=self.oauth_params,
            signature=self.signature,
            realm=self.realm,
            is_secure=self.is_secure,
            remote_addr=self.remote_addr,
            accept_language=self.accept_language,
            client=client,
            credential=credential,
            client_secret=client_secret,
            token_secret=token_secret,
            rsa_public_key=rsa_public_key,
        )


def collect(request: Request) -> OAuth1Request:
    """Gather the parameters of ``request`` (§3.4.1.3.1) and check their placement (§3.5).

    The body counts only when it is ``application/x-www-form-urlencoded``; a
    protocol parameter repeated within one place, or found in two places, is
    refused with 400.
    """
    headers = request.headers
    header = parse_authorization_header(headers.get("authorization")) or []
    realm = next((value for name, value in header if name == "realm"), None)
    sources: tuple[tuple[tuple[str, str], ...], ...] = (
        tuple((n, v) for n, v in header if n != "realm"),
        request.form.items_list() if request.content_type == FORM_MEDIA_TYPE else (),
        request.query.items_list(),
    )
    oauth_params: dict[str, str] = {}
    for pairs in sources:
        here: set[str] = set()
        for name, value in pairs:
            if not name.startswith("oauth_"):
                continue
            if name in here or name in oauth_params:
                raise DuplicatedOAuthProtocolParameterError(name)
            here.add(name)
            oauth_params[name] = value
    params = tuple(
        (name, value) for pairs in sources for name, value in pairs if name != "oauth_signature"
    )
    return OAuth1Request(
        method=request.method.upper(),
        uri=request.uri,
        params=params,
        oauth_params=MappingProxyType(oauth_params),
        signature=oauth_params.get("oauth_signature"),
        realm=realm,
        is_secure=request.is_secure,
        remote_addr=request.remote_addr,
        accept_language=headers.get("accept-language"),
    )
