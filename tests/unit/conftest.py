"""Fixtures shared by unit tests that run cached models."""

from __future__ import annotations

from typing import Any

import pytest

from senri.ask.frame import FramePerception, MediaIndex
from senri.engine.operator import Device
from senri.engine.session import GraphSession
from senri.errors import ModelUnavailableError
from senri.models.registry import resolve
from senri.operators.embed import ImageEmbedder
from senri.records import ImageItem
from senri.worlds import street


@pytest.fixture(scope="module")
def embedder() -> ImageEmbedder:
    """The cached ``image/embed`` model (unit tests never download it)."""
    try:
        resolve("image/embed", fetch_missing=False)
    except ModelUnavailableError as exc:
        pytest.fail(f"{exc} (unit tests never download)")
    return ImageEmbedder.load(Device("cpu"), threads=2)


@pytest.fixture(scope="module")
def embed_graph(embedder: ImageEmbedder) -> GraphSession:
    """A one-node ``vision.embed`` graph, as `senri.search.similar.image_embedder` builds it,
    whose operator holds the module's already-loaded model."""
    session = GraphSession.of(
        {"embed": {"op": "vision.embed", "from": "images"}}, inputs={"images": ImageItem}
    )
    session.operator("embed").model = embedder  # setup() keeps a model already there
    return session.setup()


StreetFixture = tuple[street.StreetWorld, dict[str, Any]]


@pytest.fixture(scope="session")
def street_world(tmp_path_factory: pytest.TempPathFactory) -> StreetFixture:
    """The street world of real photo cutouts (seed 7) and its truth, generated once."""
    w = street.generate(tmp_path_factory.mktemp("street"), seed=7)
    return w, street.load_truth(w.truth)


@pytest.fixture(scope="session")
def street_media(street_world: StreetFixture) -> MediaIndex:
    """Where the street world's video lies, for frames and thumbnails."""
    w, truth = street_world
    return MediaIndex({street.STREAM_ID: (w.video, truth["start_time"])})


@pytest.fixture(scope="session")
def frame_perception() -> FramePerception:
    """The vision operators that describe one picture, from the model cache."""
    try:
        return FramePerception.load()
    except ModelUnavailableError as exc:
        pytest.fail(f"{exc} (unit tests never download)")
