"""OpenCV's INTER_AREA resize as two weight matrices (`senri.operators.resize`) against
``cv2.resize`` itself: the GPU path of the detector resizes with them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from senri.operators.resize import weights

pytestmark = pytest.mark.unit


def _apply(frame: np.ndarray, out: tuple[int, int]) -> np.ndarray:
    ry, rx = weights(frame.shape[:2], out)
    return np.stack([ry @ frame[:, :, k] @ rx.T for k in range(frame.shape[2])], -1)


@pytest.mark.parametrize(
    "size",
    [(1080, 1920), (400, 600), (600, 400), (300, 200), (512, 512), (1024, 1024), (513, 2000)],
)
def test_the_weights_resize_as_opencv_does(size: tuple[int, int]) -> None:
    """Both OpenCV branches: area coverage when both sides shrink (integer and fractional
    ratios), two-tap weights when a side grows (also the mixed 600x400 case)."""
    rng = np.random.default_rng(sum(size))
    frame = (rng.random((*size, 3)) * 255).astype(np.float32)
    want = cv2.resize(frame, (512, 512), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(_apply(frame, (512, 512)), want, atol=1e-3)
    # uint8 frames: OpenCV rounds (and uses fixed-point taps when growing); within one level
    u8 = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    want8 = cv2.resize(u8, (512, 512), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert np.abs(_apply(u8.astype(np.float32), (512, 512)) - want8).max() <= 1.0


def test_torch_area_pooling_is_not_opencv_area() -> None:
    """Why the matrices exist: adaptive average pooling bins 1080 rows into 512 without
    fractional edges, and differs from OpenCV by several levels on a textured frame."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    frame = (rng.random((1080, 1920, 3)) * 255).astype(np.float32)
    want = cv2.resize(frame, (512, 512), interpolation=cv2.INTER_AREA)
    pooled = torch.nn.functional.interpolate(
        torch.from_numpy(frame).permute(2, 0, 1)[None], size=(512, 512), mode="area"
    )[0].permute(1, 2, 0)
    assert np.abs(pooled.numpy() - want).max() > 10
    assert np.abs(_apply(frame, (512, 512)) - want).max() < 1e-3
