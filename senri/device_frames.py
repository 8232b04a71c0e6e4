"""Frames decoded on the GPU, and their device copies handed to the GPU operators after.

A Kafka worker on ``device: cuda`` decodes each polled batch's JPEG frames with nvJPEG
(`torchvision.io.decode_jpeg(device=...)`, one batched call) when torchvision imports. Each
frame still gets its host array, which the CPU operators read; its device copy is kept beside
it, keyed by that array, and `to_device` hands it to the GPU operators that take whole frames
(the detector, the face detector), which then do not upload the frame again. An operator that
makes a new image (`vision.redact`) makes a new array, which has no device copy, so a stale
copy is never used. A copy is dropped when its host array is garbage-collected.

Without torchvision, or on the CPU, the worker decodes on threads (`senri.codec.HostPixels`).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from senri import codec
from senri.device import Device
from senri.errors import DecodeError

log = logging.getLogger(__name__)

_copies: dict[int, Any] = {}
_lock = threading.Lock()


def keep(image: np.ndarray, tensor: Any) -> None:
    """Remember `tensor` (H, W, 3 uint8 on a device) as the device copy of host `image`."""
    key = id(image)
    with _lock:
        _copies[key] = tensor
    weakref.finalize(image, _drop, key)


def _drop(key: int) -> None:
    with _lock:
        _copies.pop(key, None)


def on_device(image: np.ndarray, device: Any) -> Any | None:
    """The device copy of host `image` on torch `device`, or None if it has none there."""
    with _lock:
        tensor = _copies.get(id(image))
    if tensor is None or tensor.device != device:
        return None
    return tensor


def to_device(image: np.ndarray, device: Any) -> Any:
    """Host `image` as an (H, W, 3) uint8 tensor on torch `device`: its kept copy, or uploaded."""
    import torch

    copy = on_device(image, device)
    return copy if copy is not None else torch.from_numpy(image).to(device)


def on_gpu(session: Any) -> bool:
    """Whether a model session is a torch graph on a CUDA device (takes device tensors)."""
    device = getattr(session, "device", None)
    return hasattr(session, "run_tensors") and getattr(device, "type", "") == "cuda"


class DevicePixels:
    """JPEG payloads decoded by nvJPEG on a CUDA device in one batched call (on a CPU device
    the same call is torchvision's libjpeg-turbo, which the tests run). A payload it refuses
    is decoded on the host instead (OpenCV then gives the `DecodeError`, if any)."""

    def __init__(self, device: Device) -> None:
        import torch
        from torchvision.io import ImageReadMode, decode_jpeg

        self.device = torch.device(str(device))
        self._decode_jpeg, self._rgb = decode_jpeg, ImageReadMode.RGB

    def decode(self, payloads: Sequence[bytes]) -> list[np.ndarray | DecodeError]:
        import torch

        out: list[np.ndarray | DecodeError] = []
        # whole JPEGs only: nvJPEG may decode a truncated one, where the host names it
        jpegs = [i for i, p in enumerate(payloads) if codec.whole_jpeg(p)]
        tensors = [torch.frombuffer(bytearray(payloads[i]), dtype=torch.uint8) for i in jpegs]
        decoded: list[Any] = []
        if tensors:
            try:
                decoded = self._decode_jpeg(tensors, mode=self._rgb, device=self.device)
            except RuntimeError:  # one bad payload fails the batch: find it
                decoded = [self._one(t) for t in tensors]
        by_index = dict(zip(jpegs, decoded, strict=True))
        for i, payload in enumerate(payloads):
            chw = by_index.get(i)
            if chw is None:
                out.append(codec.decode_jpeg_or_error(payload))
                continue
            hwc = chw.permute(1, 2, 0).contiguous()
            image = hwc.cpu().numpy()
            keep(image, hwc)
            out.append(image)
        return out

    def _one(self, tensor: Any) -> Any | None:
        try:
            return self._decode_jpeg(tensor, mode=self._rgb, device=self.device)
        except RuntimeError:
            return None

    def close(self) -> None:
        """Nothing to release; here for the same shape as `HostPixels`."""


def pixel_decoder(device: Device, threads: int) -> codec.HostPixels | DevicePixels:
    """nvJPEG on a CUDA `device` where torchvision imports, else OpenCV on `threads` threads."""
    if device.kind == "cuda":
        try:
            pixels = DevicePixels(device)
        except (ImportError, RuntimeError, OSError) as exc:  # absent, or built for another torch
            log.warning("frames decode on the host (%d threads): %s", threads, exc)
        else:
            log.info("frames decode on %s with nvJPEG", device)
            return pixels
    return codec.HostPixels(threads)
