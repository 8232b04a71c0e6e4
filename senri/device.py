"""Where model work runs: ``Device("cpu")`` or ``Device("cuda", 0)``, one value everywhere.

It sits below every layer (operators, model runtimes, vector collections) so none of them has
to import the engine to name a device.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Device:
    """Where an operator runs: ``Device("cpu")`` or ``Device("cuda", 0)``."""

    kind: str = "cpu"
    index: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("cpu", "cuda"):
            raise ValueError(f"device kind must be 'cpu' or 'cuda'; got {self.kind!r}")

    @classmethod
    def parse(cls, text: str) -> Device:
        """Parse ``cpu``, ``cuda`` or ``cuda:N``; ``auto`` picks CUDA when a GPU is there."""
        if text == "auto":
            return cls.auto()
        kind, _, index = text.partition(":")
        try:
            return cls(kind, int(index) if index else 0)
        except ValueError as exc:
            raise ValueError(f"bad device {text!r}: use cpu, cuda, cuda:N or auto") from exc

    @classmethod
    def auto(cls) -> Device:
        """CUDA when an NVIDIA driver is loaded and torch (or onnxruntime-gpu) sees a GPU.

        The driver check comes first so that CPU machines never pay for importing torch."""
        if not os.path.exists("/proc/driver/nvidia") and not os.path.exists("/dev/nvidiactl"):
            return cls("cpu")
        if importlib.util.find_spec("torch") is not None:
            import torch

            if torch.cuda.is_available():
                return cls("cuda")
        try:
            import onnxruntime
        except ImportError:
            return cls("cpu")
        has_cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
        return cls("cuda") if has_cuda else cls("cpu")

    def __str__(self) -> str:
        return self.kind if self.kind == "cpu" else f"{self.kind}:{self.index}"
