"""NanoDet (``detector/nanodet``): the GFL decoder on hand-built heads, the converted graph
against TFJS, and the real model on scikit-image's photos through `vision.detect`.

The weights must already be in the cache (``senri models fetch detector/nanodet``; sockets are
blocked here). ``tests/fixtures/vision/nanodet_astronaut_tfjs.npz`` holds the heads
(``PartitionedCall/Add_29``, ``_33``, ``_37``) of ``tfjs_reference.js`` (``@tensorflow/tfjs``
4.22, pure-JS CPU backend, shape ``1,3,416,416``) on ``preprocess(astronaut[:416, 48:464])``:
3,000 random values and the 50 strongest class logits with all bins of their cells, and
``decode(min_score=0.1, iou=1.0)`` of the whole heads as (x1, y1, x2, y2, score, class).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from senri.engine.operator import Device
from senri.errors import ModelUnavailableError
from senri.models import onnx
from senri.models.cards import COCO_LABELS
from senri.models.photos import sample_photo
from senri.models.registry import resolve
from senri.operators.detect import DetectObjects
from senri.operators.nanodet import BINS, CLASSES, MEAN_BGR, STD_BGR, NanoDet, decode, preprocess
from senri.records import Frame

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vision"
BOXES = Path(__file__).parent.parent.parent / "senri" / "evaluation" / "data" / "vision_boxes.json"
SIDE = 416


def heads() -> list[np.ndarray]:
    """Empty heads for strides 8, 16, 32: every class logit -10, every bin logit 0."""
    out = []
    for cells in (52, 26, 13):
        head = np.zeros((cells, cells, CLASSES + 4 * BINS), np.float32)
        head[:, :, :CLASSES] = -10
        out.append(head)
    return out


def put(head: np.ndarray, x: int, y: int, cls: int, logit: float, bins: tuple[float, ...]) -> None:
    """One object at cell (x, y): a class logit, and each side's distance in strides (a value
    halfway between two bins splits the probability between them)."""
    head[y, x, cls] = logit
    for side, dist in enumerate(bins):
        lo = int(dist)
        logits = np.full(BINS, -50.0, np.float32)
        logits[lo] = 0
        if dist != lo:
            logits[lo + 1] = 0  # equal odds: expectation lo + 0.5
        head[y, x, CLASSES + side * BINS : CLASSES + (side + 1) * BINS] = logits


def sigmoid(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


# -- the decoder ---------------------------------------------------------------------------------


def test_decoder_places_boxes_from_cell_centres_and_bin_expectations() -> None:
    h8, h16, h32 = heads()
    put(h8, 10, 5, 0, 3.0, (2, 3, 4, 5))  # centre (84, 44): box (68, 20, 116, 84)
    put(h8, 11, 5, 0, 1.0, (2, 3, 4, 5))  # the same person one cell right, weaker: suppressed
    put(h8, 10, 5, 56, 0.5, (2, 3, 4, 5))  # a chair on the same spot: another class, kept
    put(h16, 3, 20, 2, 2.0, (1.5, 0, 2.5, 10))  # stride 16, centre (56, 328)
    put(h32, 0, 12, 79, 4.0, (0.5, 0.5, 0.5, 0.5))  # stride 32, last row: centre (16, 400)
    h8[30, 30, 5] = -0.9  # sigmoid 0.289: under min_score
    boxes, scores, classes = decode([h8, h16, h32], min_score=0.3)
    assert classes.tolist() == [79, 0, 2, 56]
    np.testing.assert_allclose(scores, [sigmoid(4), sigmoid(3), sigmoid(2), sigmoid(0.5)], 1e-6)
    np.testing.assert_allclose(
        boxes,
        [[0, 384, 32, 416], [68, 20, 116, 84], [32, 328, 96, 488], [68, 20, 116, 84]],
        atol=1e-3,
    )
    assert boxes.dtype == np.float32 and scores.dtype == np.float32 and classes.dtype == np.int64


def test_decoder_takes_heads_in_any_order_and_keeps_the_strongest() -> None:
    h8, h16, h32 = heads()
    for i in range(8):  # eight apart, one per class: NMS keeps them all
        put(h8, 4 * i, 40, i, float(i), (1, 1, 1, 1))
    put(h32, 6, 6, 0, 9.0, (3, 3, 3, 3))
    want = decode([h8, h16, h32], min_score=0.3, top_k=3)
    got = decode([h32, h8, h16], min_score=0.3, top_k=3)
    for a, b in zip(want, got, strict=True):
        np.testing.assert_array_equal(a, b)
    assert want[2].tolist() == [0, 7, 6]  # the stride-32 object, then the two strongest


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((52, 52, CLASSES + 4 * BINS), (0, 4)),
        ((52, 52, CLASSES + 4 * 8), "124 channels; got 112"),
    ],
)
def test_decoder_on_empty_and_wrong_heads(shape: tuple[int, ...], expected: object) -> None:
    head = np.full(shape, -10, np.float32)
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            decode([head], min_score=0.3)
    else:
        boxes, scores, classes = decode([head], min_score=0.3)
        assert boxes.shape == expected and scores.shape == classes.shape == (0,)


class FakeSession:
    """Hands back fixed heads for every image and keeps the batch it was given."""

    def __init__(self, heads: list[np.ndarray]) -> None:
        self.heads, self.batch = heads, np.zeros(0)

    def get_inputs(self) -> list[Any]:
        return [type("Input", (), {"name": "input_1"})]

    def get_outputs(self) -> list[Any]:
        return [type("Output", (), {"name": f"head{i}"}) for i in range(len(self.heads))]

    def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.batch = feeds["input_1"]
        n = len(self.batch)
        return [np.repeat(self.heads[int(name[-1])][None], n, axis=0) for name in names]


def test_boxes_come_back_in_each_frames_pixels_from_bgr_normalised_input() -> None:
    h8, h16, h32 = heads()
    put(h8, 10, 5, 0, 3.0, (2, 3, 4, 5))  # (68, 20, 116, 84) in the 416 input
    put(h32, 12, 12, 0, 3.0, (1, 1, 1, 1))  # (368, 368, 432, 432): past the edge, clipped
    session = FakeSession([h8, h16, h32])
    red = np.zeros((208, 832, 3), np.uint8)
    red[:, :, 0] = 255
    wide, small = NanoDet(session).detect([red, np.zeros((104, 104), np.uint8)])
    assert session.batch.shape == (2, 3, SIDE, SIDE) and session.batch.dtype == np.float32
    bgr = np.array([0, 0, 255])  # blue and green are 0, red is 255
    np.testing.assert_allclose(session.batch[0, :, 0, 0], (bgr - MEAN_BGR) / STD_BGR)
    np.testing.assert_allclose(wide[0], [[136, 10, 232, 42], [736, 184, 832, 208]], atol=1e-3)
    np.testing.assert_allclose(small[0], [[17, 5, 29, 21], [92, 92, 104, 104]], atol=1e-3)
    assert NanoDet(session).detect([]) == []


# -- the converted model -------------------------------------------------------------------------


def model() -> Path:
    try:
        return resolve("detector/nanodet", fetch_missing=False)
    except ModelUnavailableError as exc:
        pytest.fail(f"{exc} (unit tests never download)")


@pytest.fixture(scope="module")
def nanodet() -> NanoDet:
    return NanoDet(onnx.session(model(), Device("cpu"), threads=2))


def test_converted_nanodet_matches_the_tfjs_reference(nanodet: NanoDet) -> None:
    ref = np.load(FIXTURES / "nanodet_astronaut_tfjs.npz")
    # An exact crop (no resampling), so both runtimes see the same input.
    x = preprocess(np.ascontiguousarray(sample_photo("astronaut.png")[:416, 48:464]))
    out = nanodet.session.run(nanodet.outputs, {nanodet.input: x[None]})
    assert [h.shape for h in out] == [(1, n, n, 124) for n in (52, 26, 13)]
    flat = np.concatenate([h.ravel() for h in out])
    # Logits up to ~10 in float32 on two runtimes; measured 1.2e-5.
    np.testing.assert_allclose(flat[ref["heads_index"]], ref["heads"], atol=1e-4)
    boxes, scores, classes = decode([h[0] for h in out], min_score=0.3, iou=1.0)
    expected = ref["detections"][ref["detections"][:, 4] >= 0.3]  # 19, the next at 0.28
    np.testing.assert_allclose(boxes, expected[:, :4], atol=1e-2)
    np.testing.assert_allclose(scores, expected[:, 4], atol=1e-5)
    np.testing.assert_array_equal(classes, expected[:, 5].astype(int))
    assert COCO_LABELS[int(classes[0])] == "person"


def iou(a: np.ndarray, b: np.ndarray) -> float:
    lt, rb = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(rb - lt, 0, None)))
    return inter / (float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2])) - inter)


def test_vision_detect_with_nanodet_finds_the_person_and_the_motorcycle(nanodet: NanoDet) -> None:
    truth = {e["file"]: e["objects"] for e in json.loads(BOXES.read_text())["images"]}
    op = DetectObjects(model="detector/nanodet")
    op.model = nanodet  # share the module's session; setup() would load the same file
    wanted = {"astronaut.png": "person", "motorcycle_left.png": "motorcycle"}
    frames = [Frame("cam", i, float(i), float(i), sample_photo(n)) for i, n in enumerate(wanted)]
    for (name, label), fd in zip(wanted.items(), op.process(frames), strict=True):
        box = next(o["box"] for o in truth[name] if o["label"] == label)
        dets = fd.detections
        assert dets.data["label"][0] == label and dets.confidence[0] > 0.6
        assert iou(dets.xyxy[0], np.asarray(box, np.float64)) >= 0.5
        # measured: person 0.73 (IoU 0.97), motorcycle 0.79 (IoU 0.83)


def test_vision_detect_takes_only_the_detectors_it_can_decode() -> None:
    assert DetectObjects(model="detector/nanodet").labels == COCO_LABELS
    with pytest.raises(ValueError, match="decodes detector/coco or detector/nanodet"):
        DetectObjects(model="faces/embed")
