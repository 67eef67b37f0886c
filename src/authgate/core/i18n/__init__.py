"""Translations of ``error_description`` messages.

Messages are written in English in the code and looked up here by their
English text, so a missing translation falls back to readable English. The
catalogs are JSON files next to this module (``de.json``, ``fr.json``); add a
language by dropping a ``<tag>.json`` there, or at run time with
:func:`register_catalog`. The language is negotiated per request from
``Accept-Language`` (RFC 9110 §12.5.4), so one server answers every client in
its own language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["available_languages", "negotiate", "register_catalog", "translate"]

_catalogs: dict[str, dict[str, str]] = {}
_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    for entry in resources.files(__name__).iterdir():
        if entry.name.endswith(".json"):
            tag = entry.name[:-5].lower()
            _catalogs.setdefault(tag, {}).update(json.loads(entry.read_text("utf-8")))
    _loaded = True


def register_catalog(language: str, messages: Mapping[str, str]) -> None:
    """Add or extend the catalog of ``language`` (a tag such as ``es`` or ``pt-br``)."""
    _load_builtin()
    _catalogs.setdefault(language.lower(), {}).update(messages)
    negotiate.cache_clear()


def available_languages() -> list[str]:
    _load_builtin()
    return ["en", *sorted(_catalogs)]


@lru_cache(maxsize=256)
def negotiate(accept_language: str | None) -> str | None:
    """Pick the catalog best matching an ``Accept-Language`` header, or None for English."""
    if not accept_language:
        return None
    _load_builtin()
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        if tag == "*" or tag.startswith("en"):
            return None
        if tag in _catalogs:
            return tag
        primary = tag.split("-", 1)[0]
        if primary in _catalogs:
            return primary
    return None


def translate(
    message: str, accept_language: str | None = None, params: Mapping[str, Any] | None = None
) -> str:
    """Translate ``message`` for ``accept_language`` and fill in its ``{named}`` params."""
    language = negotiate(accept_language)
    text = _catalogs.get(language, {}).get(message, message) if language else message
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return message.format(**params)
    return text
