"""What the embedded runtime costs: one CPU model, raw batched loop vs the same model in a graph.

The model is a small 4-layer CNN run by ONNX Runtime on 96x96 RGB frames. Its weights are
random: this benchmark measures throughput, and throughput does not depend on weight values.
For each batch size it prints frames/s of
  - raw:     a plain Python loop feeding the session batches of the same frames,
  - runtime: the same operator inside `LocalRuntime` (source thread, bounded queues,
             micro-batcher, thread pool, sink), fed from an in-memory source,
and the ratio runtime/raw (goal: >= 0.9). The runtime runs one batch at a time, as the raw
loop does; `--in-flight 2` lets it hand the next batch over while one computes (the operator's
`in_flight`), which uses a second core and so is printed apart, not as overhead.
Run: `python benchmarks/engine_overhead.py [--in-flight 2]`.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from senri.engine.memory import memory_runtime
from senri.engine.operator import Device, Operator, OperatorRegistry, Stateless
from senri.models.onnx import session
from senri.records import Frame

MEAN_BATCH: list[float] = []  # mean batch size the runtime actually formed, per run
MODELS = {"tiny": (96, (3, 16, 32, 64, 64)), "small": (160, (3, 32, 64, 128, 128))}


def small_cnn(path: Path, size: int, channels: tuple[int, ...], seed: int = 0) -> Path:
    """Four stride-2 3x3 conv + ReLU layers, global pooling and a 10-way linear head."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    x = "input"
    for i, (cin, cout) in enumerate(itertools.pairwise(channels)):
        w = (rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2 / (cin * 9))).astype(np.float32)
        inits += [
            numpy_helper.from_array(w, f"w{i}"),
            numpy_helper.from_array(np.zeros(cout, np.float32), f"b{i}"),
        ]
        nodes += [
            helper.make_node(
                "Conv",
                [x, f"w{i}", f"b{i}"],
                [f"c{i}"],
                kernel_shape=[3, 3],
                strides=[2, 2],
                pads=[1, 1, 1, 1],
            ),
            helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
        ]
        x = f"r{i}"
    fc = (rng.standard_normal((10, channels[-1])) * 0.1).astype(np.float32)
    inits += [
        numpy_helper.from_array(fc, "fc"),
        numpy_helper.from_array(np.zeros(10, np.float32), "fcb"),
    ]
    nodes += [
        helper.make_node("GlobalAveragePool", [x], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc", "fcb"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "bench_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def preprocess(frames: list[Frame]) -> np.ndarray:
    batch = np.stack([f.image for f in frames]).astype(np.float32) / 255.0
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


class Classify(Stateless, Operator[Frame, Frame]):
    """The benchmark's model operator (returns its inputs; the logits are discarded)."""

    name = "bench.cnn"
    input_type = Frame
    output_type = Frame
    in_flight = 1  # set from --in-flight: an ONNX Runtime session may run batches at once

    def __init__(self, model: str = "", threads: int = 1) -> None:
        self.model = model
        self.threads = threads
        self.session: Any = None

    def setup(self, device: Device) -> None:
        self.session = session(Path(self.model), device, threads=self.threads)

    def process(self, items: list[Frame]) -> list[Frame]:
        self.session.run(None, {"input": preprocess(items)})
        return items


def frames(n: int, size: int) -> list[Frame]:
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (16, size, size, 3), dtype=np.uint8)
    return [Frame("cam", i, float(i), i / 10, base[i % 16]) for i in range(n)]


def raw(model: Path, data: list[Frame], batch: int, threads: int) -> float:
    sess = session(model, Device("cpu"), threads=threads)
    sess.run(None, {"input": preprocess(data[:batch])})  # warm-up
    started = time.perf_counter()
    for i in range(0, len(data), batch):
        sess.run(None, {"input": preprocess(data[i : i + batch])})
    return len(data) / (time.perf_counter() - started)


def through_runtime(model: Path, data: list[Frame], batch: int, threads: int) -> float:
    ops = OperatorRegistry()
    ops.register(Classify)
    node = {
        "op": "bench.cnn",
        "from": "items",
        "batch": batch,
        "max_wait_ms": 5,
        "model": str(model),
        "threads": threads,
    }
    runtime, sink = memory_runtime(
        {"cnn": node}, data, input_type=Frame, ops=ops, queue_size=max(64, 4 * batch)
    )
    report = runtime.run()
    assert len(sink.items) == len(data)
    batches = runtime.metrics.value("senri_batch_size_count", "cnn")
    MEAN_BATCH.append(runtime.metrics.value("senri_batch_size_sum", "cnn") / max(batches, 1))
    return len(data) / report.seconds  # flow time: operator setup is excluded, as in raw()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["small", "tiny"])
    parser.add_argument(
        "--in-flight", type=int, default=1, help="batches the operator may run at once"
    )
    args = parser.parse_args()
    Classify.in_flight = args.in_flight
    for name in args.models:
        size, channels = MODELS[name]
        data = frames(args.frames, size)
        with tempfile.TemporaryDirectory() as tmp:
            model = small_cnn(Path(tmp) / "cnn.onnx", size, channels)
            print(
                f"\n{name} CNN {channels} on {size}x{size} frames: {args.frames} frames, "
                f"ORT threads={args.threads}, in flight={args.in_flight}, "
                f"median of {args.repeats} runs"
            )
            print(
                f"{'batch':>5}  {'raw fps':>9}  {'runtime fps':>11}  {'runtime/raw':>11}  "
                f"{'overhead/item':>13}  {'mean batch':>10}"
            )
            results = {}
            for batch in args.batches:
                r = statistics.median(
                    raw(model, data, batch, args.threads) for _ in range(args.repeats)
                )
                t = statistics.median(
                    through_runtime(model, data, batch, args.threads) for _ in range(args.repeats)
                )
                results[batch] = (r, t)
                overhead_us = (1 / t - 1 / r) * 1e6
                print(
                    f"{batch:>5}  {r:>9.0f}  {t:>11.0f}  {t / r:>11.2f}  {overhead_us:>10.0f} µs  "
                    f"{statistics.mean(MEAN_BATCH[-args.repeats :]):>10.1f}"
                )
            if 1 in results and len(results) > 1:
                best = max(results)
                print(
                    f"batched ({best}) vs per-item: raw {results[best][0] / results[1][0]:.2f}x, "
                    f"runtime {results[best][1] / results[1][1]:.2f}x"
                )


if __name__ == "__main__":
    main()
