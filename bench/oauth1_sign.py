"""Client-side OAuth 1.0a HMAC-SHA1 signing (RFC 5849 §3.4), stdlib only, for the bench.

Written separately from authgate's verifier on purpose: a driver that
shared the server's code could agree with a bug in it. The W4 driver signs
resource requests with it; the ``authgate serve`` seed also signs the
three-legged flow's two POSTs (``oauth_callback`` at initiate, the temporary
token and ``oauth_verifier`` at the token endpoint).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from urllib.parse import quote


def _escape(value: str) -> str:
    return quote(value, safe="~-._")


def authorization_header(method: str, url: str, *, client_key: str, client_secret: str,
                         token: str | None, token_secret: str = "", nonce: str | None = None,
                         timestamp: int | None = None,
                         extra: Mapping[str, str] | None = None) -> str:
    """The ``Authorization: OAuth ...`` value for a request without query or body parameters.

    ``url`` must already be the base string URI (lower-case scheme and host,
    no default port, no query). ``token`` None leaves ``oauth_token`` out (the
    initiate request); ``extra`` adds protocol parameters such as
    ``oauth_callback`` or ``oauth_verifier``, signed like the others.
    """
    params = {
        "oauth_consumer_key": client_key,
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
    }
    if token is not None:
        params["oauth_token"] = token
    params["oauth_version"] = "1.0"  # after the token: W4's header bytes stay as they were
    params.update(extra or {})
    normalized = "&".join(f"{_escape(k)}={_escape(v)}" for k, v in sorted(params.items()))
    base = "&".join((method.upper(), _escape(url), _escape(normalized)))
    key = f"{_escape(client_secret)}&{_escape(token_secret)}".encode()
    params["oauth_signature"] = base64.b64encode(
        hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()
    return "OAuth " + ", ".join(f'{_escape(k)}="{_escape(v)}"' for k, v in params.items())
