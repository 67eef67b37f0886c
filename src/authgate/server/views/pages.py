"""The server's web pages, gathered on one blueprint (``pages``).

The views live by subject: :mod:`.account` (sign-up, sign-in, sign-out),
:mod:`.home` (your clients, the applications you authorized, revoke),
:mod:`.clients` (``/create_client``) and :mod:`.consent` (the consent pages
and ``/activate``). Importing them here registers their routes.
"""

from __future__ import annotations

from authgate.server.views import account, clients, consent, home
from authgate.server.views.common import bp, current_user

__all__ = ["account", "bp", "clients", "consent", "current_user", "home"]
