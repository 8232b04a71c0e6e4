"""The host's share of each model call, measurable without a GPU: models' outputs canned.

On a GPU the models are fast and what bounds an operator is often its host work: NumPy pre-
and post-processing, copies, Python. This runs each operator's own code with a session that
returns outputs computed once, so only the host work is timed, and prints ms per batch:
  - the face detector (RetinaFace, batch of 512x512 photos) and the image embedder;
  - the detector's CPU path (cv2 resize + NumPy decode of the 128x128x80 heatmaps);
  - per 1080p frame, `vision.track` -> `vision.person_attributes` in the embedded runtime, fed
    the detections the detector found (what a GPU detector hands on), the JPEG decode a
    worker does per Kafka frame, and a worker's decode of a polled batch of 64 frames on one
    thread and on its default `decode_threads`.
A host cost of H ms a batch of B caps that model at B/H*1000 items/s whatever the device.

Run: `python benchmarks/host_cost.py` (about 20 s; `--batch 64` for a bigger batch).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import cv2
import numpy as np

from senri import codec
from senri.codec import decode_jpeg
from senri.engine import spec
from senri.engine.graph import build
from senri.engine.local import LocalRuntime
from senri.engine.operator import Device
from senri.models import onnx
from senri.models.photos import sample_photo
from senri.operators.detect import CenterNet, DetectObjects
from senri.operators.embed import ImageEmbedder
from senri.operators.faces import RetinaFace
from senri.records import Frame, FrameDetections

PHOTOS = ("astronaut.png", "motorcycle_left.png", "coffee.png", "chelsea.png", "horse.png")
CPU = Device("cpu")


class Canned:
    """An ONNX Runtime session that runs once and then returns those outputs at no cost."""

    def __init__(self, session: Any) -> None:
        self.session, self.outputs = session, None

    def get_inputs(self) -> Any:
        return self.session.get_inputs()

    def get_outputs(self) -> Any:
        return self.session.get_outputs()

    def run(self, names: Any, feeds: dict[str, np.ndarray]) -> Any:
        if self.outputs is None:
            self.outputs = self.session.run(names, feeds)
        return self.outputs


def _median_ms(call: Callable[[], object], runs: int = 5) -> float:
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def models(batch: int) -> None:
    photos = [sample_photo(PHOTOS[i % len(PHOTOS)]) for i in range(batch)]
    faces = [sample_photo("astronaut.png")] * batch
    canned = {name: Canned(onnx.load(name, CPU, threads=2)) for name in
              ("faces/retinaface", "image/embed", "detector/coco")}  # fmt: skip
    rows: list[tuple[str, Callable[[list[np.ndarray]], object], list[np.ndarray]]] = [
        ("face detector (512x512 photos)", RetinaFace(canned["faces/retinaface"]).detect, faces),
        (
            "image embedder (224x224)",
            ImageEmbedder(canned["image/embed"], batch_size=batch).embed,
            photos,
        ),
        ("detector, CPU path (cv2 resize, NumPy decode)", CenterNet(canned["detector/coco"]).detect,
         photos),
    ]  # fmt: skip
    print(f"host work per batch of {batch}, model outputs canned (median of 5)")
    for name, run, items in rows:
        ms = _median_ms(partial(run, items))
        print(f"  {name:<48} {ms:>8.1f} ms  (caps it at {batch / ms * 1000:>7.0f}/s)")


def frames_1080p(cameras: int, per_camera: int) -> None:
    big = [cv2.resize(sample_photo(p), (1920, 1080)).astype(np.uint8) for p in PHOTOS]
    detect = DetectObjects()
    detect.setup(CPU)
    found = detect.process([Frame("cam", i, 0.0, 0.0, im) for i, im in enumerate(big)])

    def camera(name: str) -> Iterator[FrameDetections]:
        for seq in range(per_camera):
            fd = found[seq % len(found)]
            yield FrameDetections(
                Frame(name, seq, time.time(), seq / 5, fd.frame.image), fd.detections
            )

    class Count:
        items = 0

        def write(self, items: list[Any]) -> None:
            Count.items += len(items)

        def close(self) -> None:
            pass

    cams = {f"cam{i}": camera(f"cam{i}") for i in range(cameras)}
    doc = {
        "inputs": {c: {"memory": "python"} for c in cams},
        "graph": {
            "track": {"op": "vision.track", "from": list(cams)},
            "people": {"op": "vision.person_attributes", "from": "track"},
        },
        "outputs": {"out": {"memory": "x", "from": ["people"]}},
    }
    graph = build(
        spec.from_mapping(doc),
        input_types=dict.fromkeys(cams, FrameDetections),
        sink_kinds={"memory": object},
    )
    started = time.perf_counter()
    LocalRuntime(graph, sources=cams, sinks={"out": Count()}, device=CPU).run()
    seconds = time.perf_counter() - started
    jpeg = bytes(cv2.imencode(".jpg", big[0][:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])[1])
    print(f"\nper 1080p frame ({cameras} cameras x {per_camera} frames)")
    per_frame, rate = 1000 * seconds / Count.items, Count.items / seconds
    name = "track -> person_attributes in the runtime"
    print(f"  {name:<48} {per_frame:>8.2f} ms  ({rate:.0f} frames/s)")
    print(f"  {'JPEG decode (quality 85)':<48} {_median_ms(lambda: decode_jpeg(jpeg)):>8.2f} ms")
    worker_decode(big)


def worker_decode(
    images: list[np.ndarray], batch: int = 64, decoders: list[tuple[str, Any]] | None = None
) -> None:
    """A Kafka worker's decode of one polled batch of frame envelopes (`codec.decode_many`),
    by each of `decoders` (default: OpenCV on one thread and on the worker's default
    `decode_threads`, the cores, at most 8); each is closed after."""
    envelopes = [
        codec.encode(Frame("cam", i, 0.0, 0.0, images[i % len(images)])) for i in range(batch)
    ]
    if decoders is None:
        decoders = [
            (f"decode_many, {n} thread{'s' if n > 1 else ''}", codec.HostPixels(n))
            for n in sorted({1, min(8, os.cpu_count() or 1)})
        ]
    print(f"\na worker's polled batch of {batch} 1080p frame envelopes, decoded")
    for name, pixels in decoders:
        ms = _median_ms(lambda p=pixels: codec.decode_many(envelopes, pixels=p))
        pixels.close()
        print(f"  {name:<48} {ms:>8.2f} ms  ({1000 * batch / ms:.0f} frames/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--frames", type=int, default=50, help="frames per camera")
    args = parser.parse_args()
    models(args.batch)
    frames_1080p(args.cameras, args.frames)


if __name__ == "__main__":
    main()
