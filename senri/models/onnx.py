"""ONNX Runtime sessions on the right device, created lazily."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from senri.device import Device
from senri.errors import MissingDependencyError


def session(path: Path, device: Device, threads: int = 1, *, integer_kernels: bool = True) -> Any:
    """An `onnxruntime.InferenceSession` on CUDA when asked and available, else CPU.

    ``integer_kernels=False`` keeps a quantised (QDQ) graph's DequantizeLinear → float op →
    QuantizeLinear as written instead of fusing them into integer kernels. Those kernels
    differ by CPU: without AVX-512 VNNI, ONNX Runtime's u8s8 convolutions saturate 16-bit
    intermediate sums, and YAMNet scored a siren patch 0.09 on an AVX2 CPU and 0.32 on a VNNI
    one. Unfused, the graph runs its float32 ops between the quantisation steps, and both CPUs
    gave identical scores (tests/unit/test_speech_sounds.py runs it through a siren).
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependencyError("onnxruntime", "running ONNX models") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    if not integer_kernels:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    providers: list[Any] = ["CPUExecutionProvider"]
    if device.kind == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index}))
    return ort.InferenceSession(str(path), sess_options=opts, providers=providers)


def load(
    name: str,
    device: Device,
    threads: int = 1,
    *,
    file: str = "",
    integer_kernels: bool = True,
) -> Any:
    """An ONNX Runtime session of model card `name` (the cache, or the user's override; never
    a download). `file` names the graph inside a directory model. This is how operators get
    their models: they name a card, and sessions are made here, in the models layer."""
    from senri.models.registry import resolve

    path = resolve(name)
    return session(path / file if file else path, device, threads, integer_kernels=integer_kernels)
