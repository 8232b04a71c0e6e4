"""Box geometry shared by the tracker, the sample worlds' scoring and the evaluations.

Boxes are ``x1, y1, x2, y2`` in pixels. One formula for intersection over union, pairwise
(`iou_matrix`, in the boxes' own dtype, returned as float32, as the tracker uses it) and for
one pair (`iou`, in float64).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> npt.NDArray[np.float32]:
    """Pairwise IoU of boxes `a` (N, 4) and `b` (M, 4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    return _pairwise(a, b).astype(np.float32)


def iou(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """IoU of two boxes."""
    pair = _pairwise(np.asarray([a], np.float64), np.asarray([b], np.float64))
    return float(pair[0, 0])
