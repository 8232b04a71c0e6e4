"""OpenCV's ``INTER_AREA`` resize as two matrices, so that a GPU resizes frames as the CPU does.

``cv2.resize(..., interpolation=cv2.INTER_AREA)`` is separable: a frame (H, W) becomes
``Ry @ frame @ Rx.T`` with one weight matrix per axis. When both sides shrink, the weights are
exact area coverage (fractional at cell edges, which torch's ``mode="area"`` — an adaptive
average pool — does not do); when either side grows, OpenCV switches both axes to a two-tap
interpolation with its own phase rule. `weights` reproduces both, so the detector's frames
resized on the device match what OpenCV gives the CPU path (tests/unit/test_resize.py checks
it against cv2 on float images of 0-255 within 1e-3; seen: 6e-5).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _area(src: int, dst: int) -> np.ndarray:
    """Area coverage of each source pixel by each destination cell (both axes shrink)."""
    scale = src / dst
    m = np.zeros((dst, src), np.float64)
    for d in range(dst):
        f1 = d * scale
        f2 = f1 + scale
        cell = min(scale, src - f1)
        s1, s2 = math.ceil(f1), math.floor(f2)
        s2 = min(s2, src - 1)
        s1 = min(s1, s2)
        if s1 - f1 > 1e-3:
            m[d, s1 - 1] = (s1 - f1) / cell
        m[d, s1:s2] = 1 / cell
        if f2 - s2 > 1e-3:
            m[d, s2] = min(f2 - s2, 1.0, cell) / cell
    return m


def _two_tap(src: int, dst: int) -> np.ndarray:
    """OpenCV's INTER_AREA weights when a side grows: two taps with its own phase."""
    scale, inv = src / dst, dst / src
    m = np.zeros((dst, src), np.float64)
    for d in range(dst):
        s = math.floor(d * scale)
        f = (d + 1) - (s + 1) * inv
        f = 0.0 if f <= 0 else f - math.floor(f)
        if s < 0:
            s, f = 0, 0.0
        if s >= src - 1:
            s, f = src - 1, 0.0
        m[d, s] += 1 - f
        m[d, min(s + 1, src - 1)] += f
    return m


def weights(size: tuple[int, int], out: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(Ry (out_h, h), Rx (out_w, w)) for a (h, w) frame resized to (out_h, out_w) as
    ``cv2.resize(frame, (out_w, out_h), interpolation=cv2.INTER_AREA)`` does (callers keep
    them per frame size: a camera's frames share one pair)."""
    (h, w), (oh, ow) = size, out
    if h >= oh and w >= ow:
        ry, rx = _area(h, oh), _area(w, ow)
    else:
        ry, rx = _two_tap(h, oh), _two_tap(w, ow)
    return ry.astype(np.float32), rx.astype(np.float32)


class OnDevice:
    """`weights` as torch tensors on one device, kept per (frame size, output size): resizes
    (N, C, H, W) float tensors as ``cv2.INTER_AREA`` does, in two batched products."""

    def __init__(self, device: Any) -> None:
        self.device = device
        self._weights: dict[tuple[tuple[int, int], tuple[int, int]], tuple[Any, Any]] = {}

    def __call__(self, frames: Any, out: tuple[int, int]) -> Any:
        import torch

        key = ((int(frames.shape[-2]), int(frames.shape[-1])), out)
        if key not in self._weights:
            ry, rx = weights(*key)
            self._weights[key] = (
                torch.from_numpy(ry).to(self.device),
                torch.from_numpy(rx.T.copy()).to(self.device),
            )
        ry_t, rx_t = self._weights[key]
        # columns first: for a 1080p frame that is 8 GFLOP, against 9.4 rows first
        return ry_t @ (frames @ rx_t)
