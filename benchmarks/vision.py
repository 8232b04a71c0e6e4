"""Vision on CPU: COCO detector frames/s raw vs in the runtime, faces, OCR and attributes per image.

For each batch size it prints frames/s of `vision.detect` (``detector/coco``, 512x512 input)
  - raw:     a plain loop calling the operator's model (`CenterNet.detect`: resize, one
             ONNX Runtime call per batch, numpy decode) on batches of the same frames,
  - runtime: `vision.detect` inside `LocalRuntime` at the same batch size, fed from an
             in-memory source (flow time; model loading excluded, as in raw),
and the ratio runtime/raw. Then the mean time per image of face detection (RetinaFace, and
with gender/age/embedding), OCR (PP-OCR detection + recognition on a rendered plate), and the
two attribute operators on the detector's output. The frames are scikit-image's sample photos
(read from the installed package with cv2), cycled. Only the CPU path is measured here.

Run: `python benchmarks/vision.py` (about a minute on 2 busy cores; `--runs 3 --frames 64` for
steadier numbers, `--batches 1 8` to skip the big batch). The "in process()" column is the
share of the runtime's flow time spent inside the operator: near 100% means a low runtime/raw
comes from the model running slower (other load on the cores), not from the runtime.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from senri.engine.memory import memory_runtime
from senri.engine.operator import Device, OperatorRegistry
from senri.models import onnx
from senri.models.photos import sample_photo
from senri.models.registry import resolve
from senri.operators.attributes import PersonAttributes, VehicleAttributes
from senri.operators.detect import CenterNet, DetectObjects
from senri.operators.faces import FaceDetect
from senri.operators.ocr import TextReader
from senri.records import Frame, FrameDetections

PHOTOS = ("astronaut.png", "motorcycle_left.png", "coffee.png", "camera.png", "chelsea.png")
CPU = Device("cpu")
WARM_BATCHES = 2


def photos() -> list[np.ndarray]:
    """scikit-image's sample photos as RGB arrays (`senri models fetch data/photos`)."""
    return [sample_photo(name) for name in PHOTOS]


def frames(n: int) -> list[Frame]:
    images = photos()
    return [Frame("cam", i, float(i), i / 10, images[i % len(images)]) for i in range(n)]


def raw_detector(model: CenterNet, data: list[Frame], batch: int) -> float:
    for _ in range(WARM_BATCHES):  # a fresh shape runs slowly a time or two
        model.detect([f.image for f in data[:batch]])
    started = time.perf_counter()
    for i in range(0, len(data), batch):
        model.detect([f.image for f in data[i : i + batch]])
    return len(data) / (time.perf_counter() - started)


class WarmDetect(DetectObjects):
    """`vision.detect` that runs `WARM_BATCHES` batches of `warm` photos in `setup`, as raw()."""

    name = "bench.detect"

    def __init__(self, warm: int = 1) -> None:
        super().__init__()
        self.warm = warm

    def setup(self, device: Device) -> None:
        super().setup(device)
        assert self.model is not None
        images = [f.image for f in frames(self.warm)]
        for _ in range(WARM_BATCHES):
            self.model.detect(images)


def runtime_detector(
    data: list[Frame], batch: int, max_wait_ms: float
) -> tuple[float, float, float]:
    """(frames/s, mean batch formed, share of flow time inside process()) in `LocalRuntime`."""
    ops = OperatorRegistry()
    ops.register(WarmDetect)
    node = {
        "op": "bench.detect",
        "from": "items",
        "batch": batch,
        "max_wait_ms": max_wait_ms,
        "warm": batch,
    }
    runtime, sink = memory_runtime(
        {"detect": node}, data, input_type=Frame, ops=ops, queue_size=max(64, 4 * batch)
    )
    report = runtime.run()
    assert len(sink.items) == len(data)
    batches = runtime.metrics.value("senri_batch_size_count", "detect")
    mean_batch = runtime.metrics.value("senri_batch_size_sum", "detect") / max(batches, 1)
    in_op = runtime.metrics.value("senri_batch_seconds_sum", "detect") / report.seconds
    return len(data) / report.seconds, mean_batch, in_op


def per_item_ms(run: Callable[[Any], object], items: list[Any], repeats: int) -> float:
    """Mean milliseconds of `run(item)` over `repeats` passes of `items` (after a warm-up)."""
    run(items[0])
    started = time.perf_counter()
    for _ in range(repeats):
        for item in items:
            run(item)
    return 1000 * (time.perf_counter() - started) / (repeats * len(items))


def plate_image() -> np.ndarray:
    image = np.full((120, 320, 3), (90, 120, 60), np.uint8)
    cv2.rectangle(image, (40, 30), (280, 90), (255, 255, 255), -1)
    cv2.putText(
        image, "MH12AB3456", (52, 73), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA
    )
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--frames", type=int, default=32, help="frames per detector run")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--runs", type=int, default=1, help="detector runs (median)")
    parser.add_argument("--max-wait-ms", type=float, default=50, help="runtime batch wait")
    parser.add_argument("--repeats", type=int, default=2, help="passes for per-image timings")
    args = parser.parse_args()
    data = frames(max(args.frames, max(args.batches)))
    model = CenterNet(onnx.session(resolve("detector/coco"), CPU, threads=2))

    print(
        f"\nvision.detect (detector/coco, 512x512) on CPU: {len(data)} frames per run, "
        f"median of {args.runs} runs"
    )
    print("batch   raw fps  runtime fps  runtime/raw  mean batch  in process()")
    for batch in args.batches:
        raw = statistics.median(raw_detector(model, data, batch) for _ in range(args.runs))
        results = [runtime_detector(data, batch, args.max_wait_ms) for _ in range(args.runs)]
        through = statistics.median(fps for fps, _, _ in results)
        formed = statistics.mean(mean for _, mean, _ in results)
        in_op = statistics.mean(share for _, _, share in results)
        ratio = through / raw
        print(
            f"{batch:>5}  {raw:>8.2f}  {through:>11.2f}  {ratio:>11.2f}  {formed:>10.1f}  "
            f"{in_op:>12.0%}"
        )

    images = photos()
    faces, described = FaceDetect(), FaceDetect(traits=True, embed=True)
    faces.setup(CPU)
    described.setup(CPU)
    reader = TextReader.load(CPU)
    found = DetectObjects().process(data[: len(images)])
    people, cars = PersonAttributes(), VehicleAttributes()
    cars.reader = reader

    def on_frame(op: FaceDetect) -> Callable[[np.ndarray], object]:
        return lambda image: op.process([Frame("cam", 0, 0.0, 0.0, image)])

    def one(op: PersonAttributes | VehicleAttributes) -> Callable[[FrameDetections], object]:
        return lambda fd: op.process([fd])

    n = args.repeats
    rows = [
        ("faces: detect (max side 640)", per_item_ms(on_frame(faces), images, n)),
        ("faces: detect + gender/age/embedding", per_item_ms(on_frame(described), images, n)),
        ("ocr: read_text, 320x120 plate", per_item_ms(reader.read, [plate_image()], 3 * n)),
        ("ocr: read_text, 512x512 photo", per_item_ms(reader.read, images[:1], n)),
        ("vision.person_attributes per frame", per_item_ms(one(people), found, n)),
        ("vision.vehicle_attributes per frame (plates on)", per_item_ms(one(cars), found, n)),
    ]
    print(f"\nper image on CPU (mean over {n} passes of the photos)")
    for name, ms in rows:
        print(f"{name:<50} {ms:>8.2f} ms")


if __name__ == "__main__":
    main()
