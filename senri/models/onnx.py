"""ONNX Runtime sessions on the right device, created lazily."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from senri.engine.operator import Device
from senri.errors import MissingDependencyError


def session(path: Path, device: Device, threads: int = 1) -> Any:
    """An `onnxruntime.InferenceSession` on CUDA when asked and available, else CPU."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependencyError("onnxruntime", "running ONNX models") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    providers: list[Any] = ["CPUExecutionProvider"]
    if device.kind == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index}))
    return ort.InferenceSession(str(path), sess_options=opts, providers=providers)
