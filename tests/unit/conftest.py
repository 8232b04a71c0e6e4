"""Fixtures shared by unit tests that run cached models."""

from __future__ import annotations

import pytest

from senri.engine.operator import Device
from senri.errors import ModelUnavailableError
from senri.models.vision_cards import resolve_vision
from senri.operators.embed import ImageEmbedder


@pytest.fixture(scope="module")
def embedder() -> ImageEmbedder:
    """The cached ``image/embed`` model (unit tests never download it)."""
    try:
        resolve_vision("image/embed", fetch_missing=False)
    except ModelUnavailableError as exc:
        pytest.fail(f"{exc} (unit tests never download)")
    return ImageEmbedder.load(Device("cpu"), threads=2)
