"""Fixtures: ``authgate serve`` as a subprocess, once per module (see ``served.py``)."""

from __future__ import annotations

from tests.e2e.server.served import served

__all__ = ["served"]
