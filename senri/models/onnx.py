"""Model sessions on the right device: ONNX Runtime on the CPU, torch on a CUDA GPU.

Every operator gets its models here, as a session with ONNX Runtime's `run`/`get_inputs`/
`get_outputs`, so pre- and post-processing are the same whichever backend runs the graph:

- ``cpu``: ONNX Runtime's CPU provider (the reference).
- ``cuda[:N]``: the graph as torch calls on that GPU (`senri.models.torch_graph`), in float16
  unless ``SENRI_GPU_DTYPE`` says float32 or bfloat16; ONNX Runtime's CUDA provider when torch
  cannot run the graph and ``onnxruntime-gpu`` is installed. A GPU that is not there is a
  `DeviceError`, never a silent fall-back to the CPU.
- ``backend="torch"`` runs the torch plan on the CPU too: that is how CI checks parity.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from senri.device import Device
from senri.errors import DeviceError, MissingDependencyError, ModelError

Backend = Literal["auto", "onnxruntime", "torch"]
log = logging.getLogger(__name__)


def gpu_dtype() -> str:
    """The float dtype of torch graphs on a GPU: ``SENRI_GPU_DTYPE`` (default float16)."""
    from senri.models.torch_graph import FLOAT_DTYPES

    value = os.environ.get("SENRI_GPU_DTYPE", "float16")
    if value not in FLOAT_DTYPES:
        raise ModelError(f"SENRI_GPU_DTYPE must be one of {', '.join(FLOAT_DTYPES)}; got {value!r}")
    return value


def torch_session(path: Path, device: Device, dtype: str | None = None) -> Any:
    """The graph at `path` as a `TorchSession` on `device` (a GPU must be there)."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", f"running models on {device}", "gpu") from None
    from senri.models.torch_graph import TorchSession

    if device.kind == "cuda":
        if not torch.cuda.is_available() or torch.cuda.device_count() <= device.index:
            raise DeviceError(
                f"device {device} was asked for, but torch sees "
                f"{torch.cuda.device_count()} GPU(s); use --device cpu"
            )
        return TorchSession(path, str(device), dtype or gpu_dtype())
    return TorchSession(path, "cpu", dtype or "float32")


def session(
    path: Path,
    device: Device,
    threads: int = 1,
    *,
    integer_kernels: bool = True,
    backend: Backend = "auto",
    dtype: str | None = None,
) -> Any:
    """A session for the graph at `path` on `device` (see the module docstring for which).

    ``integer_kernels=False`` keeps a quantised (QDQ) graph's DequantizeLinear → float op →
    QuantizeLinear as written instead of fusing them into integer kernels. Those kernels
    differ by CPU: without AVX-512 VNNI, ONNX Runtime's u8s8 convolutions saturate 16-bit
    intermediate sums, and YAMNet scored a siren patch 0.09 on an AVX2 CPU and 0.32 on a VNNI
    one. Unfused, the graph runs its float32 ops between the quantisation steps, and both CPUs
    gave identical scores (tests/unit/test_speech_sounds.py runs it through a siren).
    """
    if backend == "torch" or (backend == "auto" and device.kind == "cuda"):
        try:
            return torch_session(path, device, dtype)
        except (ModelError, MissingDependencyError) as exc:
            if backend == "torch" or not _ort_has_cuda():
                raise
            log.warning("%s; running %s on ONNX Runtime's CUDA provider", exc, path.name)
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependencyError("onnxruntime", "running ONNX models") from None
    if device.kind == "cuda" and not _ort_has_cuda():
        raise DeviceError(f"device {device}: onnxruntime has no CUDAExecutionProvider")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    if not integer_kernels:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    providers: list[Any] = ["CPUExecutionProvider"]
    if device.kind == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index}))
    return ort.InferenceSession(str(path), sess_options=opts, providers=providers)


def _ort_has_cuda() -> bool:
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers()


def load(
    name: str,
    device: Device,
    threads: int = 1,
    *,
    file: str = "",
    integer_kernels: bool = True,
    backend: Backend = "auto",
    dtype: str | None = None,
) -> Any:
    """An ONNX Runtime session of model card `name` (the cache, or the user's override; never
    a download). `file` names the graph inside a directory model. This is how operators get
    their models: they name a card, and sessions are made here, in the models layer."""
    from senri.models.registry import resolve

    path = resolve(name)
    return session(
        path / file if file else path,
        device,
        threads,
        integer_kernels=integer_kernels,
        backend=backend,
        dtype=dtype,
    )
