"""Advertising the running server over DNS-SD, once per server, not once per worker.

gunicorn forks workers that come and go; an advertisement made in a worker
would be withdrawn (goodbye packets) whenever that worker is recycled, and
made N times with N workers. So the advertiser lives in the arbiter: started
in gunicorn's ``when_ready`` hook, after the socket is bound, and stopped in
``on_exit``. ``authgate serve`` installs the hooks itself; with a plain
``gunicorn 'authgate.server:create_app()'`` add
``-c python:authgate.server.gunicorn_conf`` to get the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from authgate.server.config import Settings
from authgate.server.nmos.advertise import Advertiser

__all__ = ["advertiser_for", "gunicorn_hooks"]

log = logging.getLogger(__name__)


def advertiser_for(settings: Settings) -> Advertiser | None:
    """The advertiser ``AUTHGATE_ADVERTISE=1`` asks for: the issuer's scheme, host and port."""
    if not settings.advertise:
        return None
    return Advertiser.for_issuer(settings.issuer, priority=settings.advertise_priority)


def gunicorn_hooks(settings: Settings) -> dict[str, Callable[..., None]]:
    """``when_ready`` / ``on_exit`` hooks that run the advertiser in the arbiter."""
    advertiser = advertiser_for(settings)
    if advertiser is None:
        return {}

    def when_ready(arbiter: Any) -> None:
        try:
            advertiser.start()
        except OSError as exc:  # no multicast here: serve anyway, say why
            log.error("DNS-SD advertisement failed: %s", exc)

    def on_exit(arbiter: Any) -> None:
        advertiser.stop()

    return {"when_ready": when_ready, "on_exit": on_exit}
