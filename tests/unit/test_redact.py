"""`vision.redact` hides faces and number plates, and `/frames` shows them only to `sensitive`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from senri.api.app import create_app
from senri.api.auth import KeyRing
from senri.api.guard import Guard
from senri.ask.frame import Media, MediaIndex
from senri.engine.operator import Device
from senri.models import onnx
from senri.models.photos import sample_photo
from senri.operators.faces import RetinaFace
from senri.operators.ocr import TextReader
from senri.operators.redact import Redact, pixelate
from senri.records import Frame

pytestmark = pytest.mark.unit
PLATE = (300, 420, 500, 470)  # x1, y1, x2, y2 of a white plate drawn on the astronaut photo
FACE = (178, 57, 273, 177)  # where RetinaFace finds the astronaut's face (score 0.999)


def scene() -> np.ndarray:
    """scikit-image's astronaut with a number plate: a face and a plate in one picture."""
    image = sample_photo("astronaut.png")
    x1, y1, x2, y2 = PLATE
    cv2.rectangle(image, (x1, y1), (x2, y2), (255, 255, 255), -1)
    cv2.putText(image, "KA05 MX 1234", (x1 + 8, y1 + 35), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2)
    return image


@pytest.fixture(scope="module")
def faces() -> RetinaFace:
    """A detector more eager (0.1) than the redactor's, to show nothing face-like is left."""
    return RetinaFace(onnx.load("faces/retinaface", Device("cpu")), min_score=0.1)


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader.load(Device("cpu"))


def plate_read(reader: TextReader, image: np.ndarray) -> bool:
    return any("KA05" in line.text.replace(" ", "") for line in reader.read(image))


def overlaps(box: np.ndarray, truth: tuple[int, int, int, int]) -> bool:
    return bool(box[0] < truth[2] and truth[0] < box[2] and box[1] < truth[3] and truth[1] < box[3])


def test_faces_and_plates_are_found_then_unreadable(faces: RetinaFace, reader: TextReader) -> None:
    image = scene()
    assert len(faces.detect([image])[0].scores) >= 1 and plate_read(reader, image)  # before
    op = Redact()
    op.setup(Device("cpu"))
    regions = op.regions(image)
    assert any(overlaps(b, FACE) for b in regions) and any(overlaps(b, PLATE) for b in regions)
    (out,) = op.process([Frame("cam1", 3, 10.0, 1.0, image)])
    assert (out.stream_id, out.seq, out.ts, out.pts) == ("cam1", 3, 10.0, 1.0)
    assert len(faces.detect([out.image])[0].scores) == 0
    assert not plate_read(reader, out.image)
    unchanged = np.ones(image.shape[:2], bool)
    for x1, y1, x2, y2 in regions:  # pixels well away from every region are untouched
        unchanged[max(0, int(y1) - 40) : int(y2) + 40, max(0, int(x1) - 40) : int(x2) + 40] = False
    assert unchanged.mean() > 0.5
    assert np.array_equal(out.image[unchanged], image[unchanged])


def test_pixelate_makes_blocks_and_stays_inside_the_image() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (100, 120, 3), dtype=np.uint8)
    out = pixelate(image, np.array([[90, 80, 130, 130]], np.float32), cells=4, margin=0.0)
    assert out.shape == image.shape and np.array_equal(out[:80], image[:80])
    block = out[80:100, 90:120]
    assert len(np.unique(block.reshape(-1, 3), axis=0)) <= 4 * 4  # a coarse mosaic, not noise
    assert np.array_equal(pixelate(image, np.zeros((0, 4), np.float32), cells=4, margin=0.1), image)
    with pytest.raises(ValueError, match="hide nothing"):
        Redact(faces=False, text=False)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaIndex:
    """Two seconds of video of the scene, as a camera would have archived it."""
    path = tmp_path_factory.mktemp("media") / "cam1.mp4"
    image = scene()
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 512, 512, "yuv420p"
        stream.options = {"qscale": "2"}
        for _ in range(10):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return MediaIndex({"cam1": Media(path, 100.0)})


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeyRing, str, str]:
    ring = KeyRing(tmp_path_factory.mktemp("keys") / "keys.json")
    plain = ring.create("viewer", ["read"])
    trusted = ring.create("investigator", ["read", "sensitive"])
    ring.save()
    return ring, plain, trusted


@pytest.fixture(scope="module")
def client(media: MediaIndex, keys: tuple[KeyRing, str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(media=media, guard=Guard(keys[0]))) as c:
        yield c


def frame(client: TestClient, key: str | None = None) -> np.ndarray:
    headers = {"X-API-Key": key} if key else {}
    r = client.get("/frames/cam1.jpg", params={"t": 100.8, "max_side": 512}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["vary"] == "Authorization, X-API-Key"
    return cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]


def test_only_a_sensitive_key_sees_faces_and_plates(
    client: TestClient,
    keys: tuple[KeyRing, str, str],
    faces: RetinaFace,
    reader: TextReader,
) -> None:
    _, plain, trusted = keys
    seen = frame(client, trusted)
    assert len(faces.detect([seen])[0].scores) >= 1 and plate_read(reader, seen)
    hidden = frame(client, plain)
    assert len(faces.detect([hidden])[0].scores) == 0 and not plate_read(reader, hidden)
    r = client.get("/frames/cam1.jpg", params={"t": 100.8}, headers={"X-API-Key": plain})
    assert r.headers["cache-control"].startswith("private")  # no shared cache mixes them up


def test_a_server_without_keys_redacts_when_told(
    media: MediaIndex, faces: RetinaFace, reader: TextReader
) -> None:
    with TestClient(create_app(media=media, redact=True)) as c:
        hidden = frame(c)
    assert len(faces.detect([hidden])[0].scores) == 0 and not plate_read(reader, hidden)
    with TestClient(create_app(media=media)) as c:
        seen = frame(c)
    assert len(faces.detect([seen])[0].scores) >= 1 and plate_read(reader, seen)


def test_cli_serve_offers_redaction(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from senri.cli import app as cli

    r = CliRunner().invoke(cli, ["serve", "--help"], terminal_width=200)
    assert "--redact" in r.output and "sensitive" in r.output
