"""Face search (`senri.search.faces`) on scikit-image's two face photos (astronaut, camera).

Two identities only: this checks the plumbing (detect, describe, upsert with metadata, search,
persist) and that an altered copy finds its own photo first, not face recognition accuracy.
Needs the cached ``faces/retinaface`` and ``faces/embed`` models (unit tests never download).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from senri.errors import ModelUnavailableError
from senri.indexes.vectors.collection import FaissCollection
from senri.indexes.vectors.collections import CollectionError
from senri.models.photos import sample_photo
from senri.models.registry import resolve
from senri.search.faces import (
    FACE_DIM,
    SAME_PERSON,
    face_collection,
    face_detector,
    index_faces,
    search_faces,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def detector() -> Any:
    for name in ("faces/retinaface", "faces/embed"):
        try:
            resolve(name, fetch_missing=False)
        except ModelUnavailableError as exc:
            pytest.fail(f"{exc} (unit tests never download)")
    return face_detector()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("people")
    (root / "crew").mkdir()
    for name, sub in (("astronaut.png", "crew"), ("camera.png", "."), ("coffee.png", ".")):
        cv2.imwrite(str(root / sub / name), sample_photo(name)[:, :, ::-1])
    (root / "broken.jpg").write_bytes(b"not an image")
    return root


@pytest.fixture(scope="module")
def indexed(detector: Any, folder: Path) -> tuple[FaissCollection, int, list[str]]:
    collection = FaissCollection(FACE_DIM, "cosine")
    done, problems = index_faces(folder, collection, detector=detector)
    return collection, done, problems


def altered(image: np.ndarray) -> np.ndarray:
    """A smaller, cropped, brightened, re-encoded copy."""
    h, w = image.shape[:2]
    crop = image[h // 20 : h - h // 10, w // 10 : w - w // 20]
    small = cv2.resize(crop, (crop.shape[1] * 3 // 5, crop.shape[0] * 3 // 5))
    bright = np.clip(small.astype(np.int16) + 25, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", bright[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])


def test_index_faces_stores_one_item_per_face(
    indexed: tuple[FaissCollection, int, list[str]],
) -> None:
    collection, done, problems = indexed
    assert done == len(collection) >= 2
    assert any(p.startswith("coffee.png") and "no face" in p for p in problems)
    assert any(p.startswith("broken.jpg") for p in problems)
    item = collection.get("crew/astronaut.png#0")
    assert item is not None and item.vector.shape == (FACE_DIM,)
    meta = item.metadata
    assert meta["source"] == "crew/astronaut.png" and str(meta["path"]).endswith("astronaut.png")
    x0, y0, x1, y1 = (float(v) for v in str(meta["box"]).split(","))
    assert 0 <= x0 < x1 <= 512 and 0 <= y0 < y1 <= 512 and float(meta["face_score"]) >= 0.7


@pytest.mark.parametrize(
    ("photo", "source"), [("astronaut.png", "crew/astronaut.png"), ("camera.png", "camera.png")]
)
def test_search_finds_the_same_person_first(
    detector: Any,
    indexed: tuple[FaissCollection, int, list[str]],
    photo: str,
    source: str,
) -> None:
    collection, _, _ = indexed
    (first, *_) = search_faces(altered(sample_photo(photo)), collection, k=2, detector=detector)
    top = first.hits[0]
    assert top.metadata["source"] == source
    assert top.score >= SAME_PERSON
    assert len(first.hits) == 2 and first.hits[1].score < top.score
    answer = first.as_dict()
    assert answer["hits"][0]["same_person"] is True and answer["hits"][1]["same_person"] is False
    assert len(answer["box"]) == 4


def test_no_face_gives_no_results(
    detector: Any, indexed: tuple[FaissCollection, int, list[str]]
) -> None:
    collection, _, _ = indexed
    assert search_faces(sample_photo("coffee.png"), collection, detector=detector) == []
    with pytest.raises(ValueError, match="k must be"):
        search_faces(sample_photo("coffee.png"), collection, k=0, detector=detector)


def test_named_collection_persists(
    indexed: tuple[FaissCollection, int, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SENRI_HOME", str(tmp_path))
    with pytest.raises(CollectionError):
        face_collection("staff")
    named = face_collection("staff", create=True)
    source, _, _ = indexed
    item = source.get("camera.png#0")
    assert item is not None
    named.upsert([item.id], item.vector[None, :], [dict(item.metadata)])
    named.save()
    again = face_collection("staff")
    assert len(again) == 1 and again.get("camera.png#0") is not None


def test_an_image_collection_is_not_opened_as_faces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENRI_HOME", str(tmp_path))
    images = FaissCollection(8, "cosine", tmp_path / "collections" / "stickers")
    images.upsert(["a"], np.ones((1, 8), np.float32))
    images.save()
    with pytest.raises(CollectionError, match="not 1024-d"):
        face_collection("stickers")


def test_cli_and_api_face_search(
    detector: Any, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`senri index faces` then `senri faces` and POST /faces/search find the same person."""
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from senri.api.app import create_app
    from senri.cli import app

    for name in ("faces/retinaface", "faces/embed"):  # keep the cached models, move collections
        override = "SENRI_MODEL_" + name.replace("/", "_").upper()
        monkeypatch.setenv(override, str(resolve(name, fetch_missing=False)))
    monkeypatch.setenv("SENRI_HOME", str(tmp_path))
    runner = CliRunner()
    built = runner.invoke(app, ["index", "faces", str(folder), "--collection", "crew"])
    assert built.exit_code == 0, built.output
    assert "indexed 2 faces" in built.output and "broken.jpg" in built.output
    query = tmp_path / "query.jpg"
    cv2.imwrite(str(query), altered(sample_photo("astronaut.png"))[:, :, ::-1])
    found = runner.invoke(app, ["faces", str(query), "--collection", "crew", "--json"])
    assert found.exit_code == 0, found.output
    assert '"id": "crew/astronaut.png#0"' in found.output
    client = TestClient(create_app())
    ok, buf = cv2.imencode(".jpg", altered(sample_photo("astronaut.png"))[:, :, ::-1])
    assert ok
    reply = client.post(
        "/faces/search",
        data={"collection": "crew", "k": "1"},
        files={"image": ("q.jpg", buf.tobytes(), "image/jpeg")},
    )
    assert reply.status_code == 200, reply.text
    (face,) = reply.json()["faces"]
    assert face["hits"][0]["id"] == "crew/astronaut.png#0" and face["hits"][0]["same_person"]
    missing = client.post(
        "/faces/search",
        data={"collection": "nobody"},
        files={"image": ("q.jpg", buf.tobytes(), "image/jpeg")},
    )
    assert missing.status_code == 404
    not_image = client.post(
        "/faces/search",
        data={"collection": "crew"},
        files={"image": ("q.jpg", b"plain text", "image/jpeg")},
    )
    assert not_image.status_code == 415
