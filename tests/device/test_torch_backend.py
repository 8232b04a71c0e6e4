"""The catalog's models on the torch backend agree with ONNX Runtime, through the operators'
own pre- and post-processing, on real photos.

Bounds (float32 torch on the CPU against ONNX Runtime's CPU provider):
- detector: the same labels, each box matched with IoU >= 0.99, scores within 1e-3;
- embeddings (image, face): cosine >= 0.999;
- OCR: the same text read; face detector: boxes IoU >= 0.99;
- sounds (YAMNet, quantised): output levels within 3 of the ONNX spec, under 1 on average.
`scripts/gpu_check.sh` runs this file with SENRI_TEST_DEVICE=cuda on a GPU, in float16.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.unit

from senri.device import Device  # noqa: E402
from senri.errors import DeviceError, ModelError  # noqa: E402
from senri.models import onnx  # noqa: E402
from senri.models.photos import sample_photo  # noqa: E402

DEVICE = Device.parse(os.environ.get("SENRI_TEST_DEVICE", "cpu"))
ON_GPU = DEVICE.kind == "cuda"
PHOTOS = ["astronaut.png", "coffee.png", "chelsea.png", "motorcycle_left.png", "horse.png"]
CPU = Device("cpu")


def _pair(name: str, **kw: Any) -> tuple[Any, Any]:
    """(ONNX Runtime on the CPU, torch on the test device) sessions of one card."""
    torch.set_num_threads(2)
    return onnx.load(name, CPU, threads=2, **kw), onnx.load(name, DEVICE, backend="torch")


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    lt, rb = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(rb - lt, 0, None)))
    union = float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2])) - inter
    return inter / union


@pytest.mark.parametrize("name", ["detector/coco", "detector/nanodet"])
def test_detector_boxes_and_labels_match(name: str) -> None:
    from senri.operators.detect import CenterNet
    from senri.operators.nanodet import NanoDet

    kind = NanoDet if name == "detector/nanodet" else CenterNet
    ref, dut = _pair(name)
    images = [sample_photo(p) for p in PHOTOS]
    found = 0
    for (b0, s0, c0), (b1, s1, c1) in zip(
        kind(ref).detect(images), kind(dut).detect(images), strict=True
    ):
        assert sorted(c0.tolist()) == sorted(c1.tolist())
        for box, score, cls in zip(b0, s0, c0, strict=True):
            same = [i for i in range(len(b1)) if c1[i] == cls]
            best = max(same, key=lambda i: _iou(box, b1[i]))
            assert _iou(box, b1[best]) >= (0.98 if ON_GPU else 0.99)
            assert abs(float(s1[best]) - float(score)) < (1e-2 if ON_GPU else 1e-3)
            found += 1
    assert found >= 5  # the photos hold a person, a cup, a cat, a motorcycle, a horse


def test_resizing_on_the_device_finds_what_opencv_resizing_finds() -> None:
    """The GPU path resizes frames on the device with OpenCV's INTER_AREA weights as matrices
    and decodes the heads there; the detections must not change: same labels, boxes IoU >=
    0.99, scores within 5e-3 (seen in float32: IoU 0.997 at worst and 0.0015; OpenCV rounds
    its uint8 output, the device does not). Photos of several sizes, one 600x400 (one side
    grows, one shrinks), and a 1080p frame (shrunk 3.75x and 2.1x). With torch's own
    ``mode="area"`` resize the worst IoU was 0.973."""
    import cv2

    from senri.operators.detect import CenterNet

    ref, dut = _pair("detector/coco")
    images = [sample_photo(p) for p in PHOTOS]
    images.append(cv2.resize(sample_photo("motorcycle_left.png"), (1920, 1080)))
    for image, (b0, s0, c0), (b1, s1, c1) in zip(
        images,
        CenterNet(ref).detect(images),
        CenterNet(dut, resize_on_device=True).detect(images),
        strict=True,
    ):
        strong = s0 >= 0.35  # near the 0.3 floor a box may cross it either way
        assert set(c0[strong].tolist()) <= set(c1.tolist()), image.shape
        for box, score, cls in zip(b0[strong], s0[strong], c0[strong], strict=True):
            best = max((i for i in range(len(b1)) if c1[i] == cls), key=lambda i: _iou(box, b1[i]))
            assert _iou(box, b1[best]) >= 0.99 and abs(float(s1[best]) - float(score)) < 5e-3


def test_image_embeddings_match() -> None:
    from senri.operators.embed import ImageEmbedder

    ref, dut = _pair("image/embed")
    images = [sample_photo(p) for p in PHOTOS]
    a, b = ImageEmbedder(ref).embed(images), ImageEmbedder(dut).embed(images)
    cosine = (a * b).sum(axis=1)
    assert cosine.min() >= 0.999, cosine
    assert (a @ a.T)[0, 1:].max() < 0.99  # different photos stay apart: the check can fail


def test_face_detection_and_descriptors_match() -> None:
    from senri.operators.faces import FaceRes, RetinaFace

    det_ref, det_dut = _pair("faces/retinaface")
    image = sample_photo("astronaut.png")
    (f0,) = RetinaFace(det_ref).detect([image])
    (f1,) = RetinaFace(det_dut).detect([image])
    assert len(f0.boxes) == len(f1.boxes) >= 1
    for a, b in zip(f0.boxes, f1.boxes, strict=True):
        assert _iou(a, b) >= 0.99
    emb_ref, emb_dut = _pair("faces/embed")
    t0 = FaceRes(emb_ref).describe(image, f0.boxes, f0.landmarks)
    t1 = FaceRes(emb_dut).describe(image, f0.boxes, f0.landmarks)
    assert float((t0.embeddings * t1.embeddings).sum(axis=1).min()) >= 0.999
    np.testing.assert_allclose(t1.age, t0.age, atol=0.5)


def test_faces_batched_on_the_device_are_the_faces_opencv_batching_finds() -> None:
    """RetinaFace's batch built on the device (resized with OpenCV's INTER_AREA weights, mean
    taken off there) against the host's cv2 batch: the same faces, boxes IoU >= 0.99, scores
    within 5e-3. One batch of four sizes: 512x512 (not resized), the cameraman in grey, the
    astronaut enlarged to 1080p and the two side by side at 1280x720 (both shrunk)."""
    import cv2

    from senri.operators.faces import RetinaFace, as_rgb

    ref, dut = _pair("faces/retinaface")
    astronaut, cameraman = sample_photo("astronaut.png"), as_rgb(sample_photo("camera.png"))
    pair = cv2.resize(np.hstack([astronaut, cameraman]), (1280, 720))
    images = [astronaut, sample_photo("camera.png"), cv2.resize(astronaut, (1920, 1080)), pair]
    want = RetinaFace(ref).detect(images)
    got = RetinaFace(dut, resize_on_device=True).detect(images)
    assert [len(f.boxes) for f in want] == [len(f.boxes) for f in got]
    assert sum(len(f.boxes) for f in want) >= 5  # one face each, two side by side
    for a, b in zip(want, got, strict=True):
        for box, score in zip(a.boxes, a.scores, strict=True):
            best = max(range(len(b.boxes)), key=lambda i: _iou(box, b.boxes[i]))
            assert _iou(box, b.boxes[best]) >= 0.99
            assert abs(float(b.scores[best]) - float(score)) < 5e-3


def test_ocr_reads_the_same_text() -> None:
    from senri.operators.ocr import TextReader

    ref = TextReader.load(CPU)
    dut = TextReader(
        onnx.load("ocr/det", DEVICE, backend="torch"), onnx.load("ocr/rec", DEVICE, backend="torch")
    )
    image = sample_photo("page.png")
    want = [ln.text for ln in ref.read(image)]
    assert want  # the photo has text: an empty read would make this check vacuous
    assert [ln.text for ln in dut.read(image)] == want


def test_quantised_sound_model_matches_the_onnx_spec_level_for_level() -> None:
    """YAMNet is a QDQ graph: the torch plan follows the ONNX spec (DequantizeLinear, float op,
    QuantizeLinear with round-half-even), as ONNX Runtime does with its optimiser off. A float
    summed in another order can flip a rounding tie, and the flip travels through 27 layers:
    outputs may move a few levels (ORT's own basic optimisations move them by up to 5)."""
    import onnxruntime as ort

    from senri.models.registry import resolve
    from senri.operators.sounds import AudioSetModel

    path = resolve("sounds/audioset") / "model.onnx"
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ref = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    dut = onnx.load("sounds/audioset", DEVICE, file="model.onnx", backend="torch")
    model = AudioSetModel("sounds/audioset", CPU)
    t = np.arange(96)[:, None] / 96.0
    f = np.arange(64)[None, :] / 64.0
    patches = [np.sin(2 * np.pi * (3 * t + 5 * f)) * 2 - 1, np.linspace(-4, 2, 96 * 64)]
    for patch in patches:
        quant = np.round(np.reshape(patch, (96, 64)) / model.in_scale + model.in_zero)
        feed = {"audio": np.clip(quant, 0, 255).astype(np.uint8)[None, None]}
        (want,), (got,) = ref.run(None, feed), dut.run(None, feed)
        assert got.dtype == want.dtype == np.uint8
        levels = np.abs(got.astype(int) - want.astype(int))
        assert levels.max() <= (5 if ON_GPU else 3)  # a rounding tie flipped deep in the graph
        assert levels.mean() < (2 if ON_GPU else 1)
        assert len(np.unique(want)) > 10  # a real spread of class scores, not a constant


def test_dialect_classifiers_match() -> None:
    """The dialect CNN (log-mel windows in; it ends in a Flatten) and the head over Whisper
    states: logits within 1e-4 in float32, 0.05 on a GPU (seen in float16 on the CPU with
    these inputs: 0.010 and 0.022), and the same top class wherever ONNX Runtime's margin is
    clear."""
    from senri.operators.dialect import windows
    from senri.operators.melspec import log_mel

    rng = np.random.default_rng(3)
    t = np.arange(16_000 * 4) / 16_000
    sweep = 0.3 * np.sin(2 * np.pi * (150 + 200 * t) * t) * (1 + np.sin(2 * np.pi * 3 * t))
    sound = (sweep + rng.normal(0, 0.02, t.size)).astype(np.float32)
    feeds = {
        "dialect/lre": {"logmel": windows(log_mel(sound), 248)},
        # pooled Whisper base states: per-feature means spread ~0.85, within-feature ~0.2
        "dialect/whisper": {
            "states": (rng.normal(0.5, 0.85, 1024) + rng.normal(0, 0.2, (16, 1024))).astype(
                np.float32
            )
        },
    }
    for name, feed in feeds.items():
        ref, dut = _pair(name)
        (want,), (got,) = ref.run(None, feed), dut.run(None, feed)
        assert np.abs(got - want).max() < (0.05 if ON_GPU else 1e-4), name
        top2 = np.sort(want, axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 0.1
        assert clear.sum() >= len(want) // 2, name  # the check below is not vacuous
        np.testing.assert_array_equal(got.argmax(1)[clear], want.argmax(1)[clear])


def test_an_unsupported_graph_is_refused_with_its_op() -> None:
    with pytest.raises(ModelError, match="no If"):
        onnx.load("vad/silero", CPU, backend="torch")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_an_error_not_a_fallback() -> None:
    with pytest.raises(DeviceError, match=r"cuda:0 was asked for, but torch sees 0 GPU"):
        onnx.load("detector/coco", Device("cuda"))


@pytest.mark.skipif(
    os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia"),
    reason="this machine has an NVIDIA driver",
)
def test_auto_picks_the_cpu_without_importing_torch_where_no_driver_is_loaded() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from senri.device import Device; print(Device.auto(), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["cpu", "False"]
