"""The GPU path, measured: torch graphs of the catalog's models, camera streams end to end, kNN.

Prints, on `--device` (cuda on a GPU machine; cpu for a dry run of the same code):
  1. detector (``detector/coco``, 512x512) model frames/s at each batch size, float32 and
     float16, on tensors already on the device (the model alone), and with the operator's
     pre/post-processing (`CenterNet.detect`, NumPy in and out);
  2. face detector, face descriptor and image embedder images/s;
  3. camera streams end to end: N live 1080p cameras at 5 fps, each frame JPEG-decoded (the
     Kafka wire's format) in its camera's thread, then `vision.detect` → `vision.track` →
     `vision.person_attributes` in the embedded runtime; frames/s reached against the
     cameras' 5*N, frames the cameras dropped because the pipeline was not ready, and
     latency from capture to the sink (p50/p99); the count of cameras stops rising at the
     first that is not sustained;
  4. a Kafka worker's decode of a polled batch of 1080p frames: OpenCV on threads, and
     nvJPEG on the device where torchvision imports;
  5. exact kNN on the device against FAISS HNSW on the CPU threads (`benchmarks/knn.py`) at 1M
     vectors; at 10M the device alone (HNSW takes hours to build there);
  6. a profile of one warm call per model present (wall vs device busy time, top ops), since
     the first H200 run showed the face detector and the embedder far below the detector.

Run: `python benchmarks/gpu.py --device cuda` (about 4 minutes), or `--device cpu --quick`
(under a minute: small batches, 2 cameras for 4 s, 20k vectors). `scripts/gpu_check.sh` runs
it after the parity tests. Nothing here is a pass/fail test: it prints what it saw.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from senri.codec import decode_jpeg
from senri.device import Device
from senri.engine import spec
from senri.engine.graph import build
from senri.engine.local import LocalRuntime
from senri.models import onnx
from senri.models.photos import sample_photo
from senri.records import Frame

PHOTOS = ("astronaut.png", "motorcycle_left.png", "coffee.png", "chelsea.png", "horse.png")


def _sync(device: Device) -> None:
    if device.kind == "cuda":
        import torch

        torch.cuda.synchronize(device.index)


def _rate(run: Any, items: int, device: Device, seconds: float) -> float:
    """Items/s of `run()` (each call handles `items`), after two warm-up calls."""
    run()
    run()
    _sync(device)
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        run()
        calls += 1
    _sync(device)
    return calls * items / (time.perf_counter() - started)


def detector(device: Device, batches: list[int], dtypes: list[str], seconds: float) -> None:
    import torch

    from senri.operators.detect import INPUT_SIDE, CenterNet

    images = [sample_photo(p) for p in PHOTOS]
    print(f"\n1. detector/coco {INPUT_SIDE}x{INPUT_SIDE} on {device}: frames/s")
    print(
        f"{'batch':>5}  " + "  ".join(f"{d + ' model':>15}  {d + ' +pre/post':>18}" for d in dtypes)
    )
    sessions = {d: onnx.load("detector/coco", device, backend="torch", dtype=d) for d in dtypes}
    for batch in batches:
        cells = []
        for session in sessions.values():
            name = session.get_inputs()[0].name
            x = torch.rand(batch, INPUT_SIDE, INPUT_SIDE, 3, device=str(device)) * 255
            model = _rate(
                lambda s=session, n=name, x=x: s.run_tensors({n: x}), batch, device, seconds
            )
            frames = [images[i % len(images)] for i in range(batch)]
            full = _rate(lambda m=CenterNet(session), f=frames: m.detect(f), batch, device, seconds)
            cells.append(f"{model:>15.1f}  {full:>18.1f}")
        print(f"{batch:>5}  " + "  ".join(cells))


def faces_and_embeddings(device: Device, batch: int, seconds: float) -> None:
    from senri.operators.embed import ImageEmbedder
    from senri.operators.faces import FaceRes, RetinaFace

    image = sample_photo("astronaut.png")
    finder = RetinaFace(onnx.load("faces/retinaface", device))
    (faces,) = finder.detect([image])
    describer = FaceRes(onnx.load("faces/embed", device))
    boxes = np.repeat(faces.boxes[:1], batch, 0)
    marks = np.repeat(faces.landmarks[:1], batch, 0)
    embedder = ImageEmbedder(onnx.load("image/embed", device), batch_size=batch)
    photos = [sample_photo(PHOTOS[i % len(PHOTOS)]) for i in range(batch)]
    rows: list[tuple[str, Any]] = [
        (
            "face detector (512x512 photo, batch of the photo)",
            lambda: finder.detect([image] * batch),
        ),
        (
            "face descriptor + gender/age (224x224 crops)",
            lambda: describer.describe(image, boxes, marks),
        ),
        ("image embedder (224x224)", lambda: embedder.embed(photos)),
    ]
    print(f"\n2. images/s on {device}, batch {batch} (with pre/post-processing)")
    for name, run in rows:
        rate = _rate(run, batch, device, seconds)
        print(f"{name:<52} {rate:>10.1f}")


class Camera:
    """A live 1080p camera at `fps`: JPEG bytes made once, decoded per frame as a worker
    decodes Kafka records; capture time is stamped when the frame is due. A live camera does
    not wait: frames the pipeline was too slow to take are lost (counted in `dropped`), so a
    run lasts its `seconds` however slow the pipeline is."""

    def __init__(self, name: str, jpegs: list[bytes], fps: float, seconds: float) -> None:
        self.name, self.jpegs, self.fps, self.seconds = name, jpegs, fps, seconds
        self.dropped = 0

    def __iter__(self) -> Iterator[Frame]:
        start, total, seq = time.time(), int(self.seconds * self.fps), 0
        while seq < total:
            due = start + seq / self.fps
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            elif wait < -1 / self.fps:  # the next frame is already due: this one is gone
                self.dropped += 1
                seq += 1
                continue
            image = decode_jpeg(self.jpegs[seq % len(self.jpegs)])
            yield Frame(self.name, seq, due, seq / self.fps, image)
            seq += 1


class LatencySink:
    """Collects capture-to-sink latencies of whatever reaches it."""

    def __init__(self) -> None:
        self.latency: list[float] = []
        self.lock = threading.Lock()

    def write(self, items: list[Any]) -> None:
        now = time.time()
        with self.lock:
            self.latency += [now - item.frame.ts for item in items]

    def close(self) -> None:
        pass


def streams(device: Device, counts: list[int], seconds: float, fps: float) -> None:
    big = [cv2.resize(sample_photo(p), (1920, 1080)) for p in PHOTOS]
    jpegs = [
        bytes(cv2.imencode(".jpg", im[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])[1]) for im in big
    ]
    print(
        f"\n3. 1080p cameras at {fps:g} fps on {device}, {seconds:g} s each run: "
        "JPEG decode -> detect -> track -> person_attributes"
    )
    print(
        f"{'cameras':>7}  {'asked fps':>9}  {'done fps':>9}  {'dropped':>7}  {'p50 s':>7}  "
        f"{'p99 s':>7}  sustained"
    )
    for n in counts:
        cams = {f"cam{i}": Camera(f"cam{i}", jpegs, fps, seconds) for i in range(n)}
        doc = {
            "inputs": {c: {"memory": "python"} for c in cams},
            "graph": {
                "detect": {
                    "op": "vision.detect",
                    "from": list(cams),
                    "batch": 64,
                    "max_wait_ms": 50,
                },
                "track": {"op": "vision.track", "from": "detect"},
                "people": {"op": "vision.person_attributes", "from": "track"},
            },
            "outputs": {"out": {"memory": "x", "from": ["people"]}},
        }
        graph = build(
            spec.from_mapping(doc),
            input_types=dict.fromkeys(cams, Frame),
            sink_kinds={"memory": object},
        )
        sink = LatencySink()
        runtime = LocalRuntime(graph, sources=cams, sinks={"out": sink}, device=device)
        report = runtime.run()
        done = len(sink.latency) / report.seconds
        p50, p99 = (float(np.percentile(sink.latency, q)) for q in (50, 99))
        dropped = sum(c.dropped for c in cams.values())
        ok = done >= 0.95 * n * fps and p99 < 2.0 and dropped == 0
        verdict = "yes" if ok else "no"
        print(
            f"{n:>7}  {n * fps:>9.1f}  {done:>9.1f}  {dropped:>7}  {p50:>7.2f}  {p99:>7.2f}  "
            f"{verdict}"
        )
        if not ok:  # more cameras would not be sustained either: spare the device time
            break


def knn(device: Device, sizes: list[int], dim: int, queries: int) -> None:
    from knn import knn_bench

    print(f"\n4. exact kNN on {device} vs FAISS HNSW on the CPU, {dim} dims, k=10")
    head = f"{'vectors':>10}  {'device q/s':>11}  {'HNSW q/s':>9}  {'HNSW recall@10':>14}"
    print(f"{head}  {'ratio':>6}")
    for n in sizes:
        r = knn_bench(n, dim, queries, 10, str(device), cpu_indexes=n <= 1_000_000)
        ratio = r["device_qps"] / r["hnsw_qps"]
        print(
            f"{n:>10}  {r['device_qps']:>11.0f}  {r['hnsw_qps']:>9.0f}  "
            f"{r['hnsw_recall']:>14.3f}  {ratio:>6.1f}"
        )


def profile(device: Device, batch: int) -> None:
    """Where one warm call's time goes, per model present (the detector with its pre/post-
    processing, the face detector, the image embedder): wall time, the device's busy time, and
    the top ops by self time from torch's profiler. Wall far above busy means the host (Python,
    NumPy, copies) bounds the model; a slow op names itself."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from senri.errors import ModelUnavailableError
    from senri.operators.detect import CenterNet
    from senri.operators.embed import ImageEmbedder
    from senri.operators.faces import RetinaFace

    photos = [sample_photo(PHOTOS[i % len(PHOTOS)]) for i in range(batch)]
    faces = [sample_photo("astronaut.png")] * batch
    runs: dict[str, Any] = {
        "detector/coco": lambda s: (CenterNet(s).detect, photos),
        "faces/retinaface": lambda s: (RetinaFace(s).detect, faces),
        "image/embed": lambda s: (ImageEmbedder(s, batch_size=batch).embed, photos),
    }
    on_gpu = device.kind == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    sort = "self_device_time_total" if on_gpu else "self_cpu_time_total"
    print(f"\n5. where the time goes on {device}, batch {batch}: one warm call per model")
    for name, make in runs.items():
        try:
            run, items = make(onnx.load(name, device, backend="torch"))
        except ModelUnavailableError:
            print(f"\n{name}: not here (not carried in this part)")
            continue
        run(items)
        run(items)
        _sync(device)
        with torch_profile(activities=activities) as prof:
            started = time.perf_counter()
            run(items)
            _sync(device)
            wall = time.perf_counter() - started
        table = prof.key_averages()
        busy = sum(e.self_device_time_total for e in table) / 1e3 if on_gpu else float("nan")
        print(f"\n{name}: {wall * 1e3:.1f} ms wall, device busy {busy:.1f} ms")
        print(table.table(sort_by=sort, row_limit=10, max_name_column_width=40))


def decode(device: Device, batch: int) -> None:
    """A Kafka worker's decode of one polled batch of 1080p frame envelopes: OpenCV on one
    thread and on the worker's default threads (`host_cost.worker_decode`), and nvJPEG on the
    device (`senri.device_frames.DevicePixels`, host copies included)."""
    import os

    from host_cost import worker_decode

    from senri import codec, device_frames

    image = cv2.resize(sample_photo("astronaut.png"), (1920, 1080))
    decoders: list[tuple[str, Any]] = [
        (f"host, {n} thread(s)", codec.HostPixels(n))
        for n in sorted({1, min(8, os.cpu_count() or 1)})
    ]
    if device.kind == "cuda":
        try:
            decoders.append(("nvJPEG on the device", device_frames.DevicePixels(device)))
        except (ImportError, RuntimeError, OSError) as exc:
            print(f"  nvJPEG: not measured ({exc})")
    worker_decode([image], batch, decoders)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="a small dry run (for CI)")
    parts = ["detector", "faces", "streams", "decode", "knn", "profile"]
    parser.add_argument("--only", nargs="+", choices=parts)
    args = parser.parse_args()
    device = Device.parse(args.device)
    import torch

    torch.backends.cudnn.benchmark = True
    if device.kind == "cpu":
        torch.set_num_threads(2)
    where = torch.cuda.get_device_name(device.index) if device.kind == "cuda" else "CPU"
    print(f"senri GPU benchmark on {device} ({where}), torch {torch.__version__}")
    only = set(args.only or parts)
    seconds = 0.5 if args.quick else 2.0
    if "detector" in only:
        batches = [1, 4] if args.quick else [1, 4, 8, 16, 32, 64]
        dtypes = ["float32"] if device.kind == "cpu" else ["float32", "float16"]
        detector(device, batches, dtypes, seconds)
    if "faces" in only:
        faces_and_embeddings(device, 2 if args.quick else 32, seconds)
    if "streams" in only:
        counts = [2] if args.quick else [50, 100, 200]
        streams(device, counts, 4.0 if args.quick else 30.0, 5.0)
    if "decode" in only:
        decode(device, 8 if args.quick else 64)
    if "profile" in only:
        profile(device, 2 if args.quick else 32)
    if "knn" in only:
        sizes = [20_000] if args.quick else [1_000_000, 10_000_000]
        knn(device, sizes, 512, 64 if args.quick else 1024)


if __name__ == "__main__":
    main()
