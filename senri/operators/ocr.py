"""OCR with PP-OCRv4 (text detection + line recognition) on ONNX Runtime, no extra packages.

The two ONNX models come from the ``rapidocr-onnxruntime`` wheel (cards in `senri.models.cards`);
the pre/post-processing is ours, in numpy and OpenCV, so neither rapidocr nor pyclipper or
shapely is needed at run time:

- detection (DB): probability map > 0.3, dilated, contours → minimum-area rectangles scored by
  the mean probability inside, then grown by ``area * 1.6 / perimeter`` on each side (the DB
  "unclip", done on the rectangle instead of with a polygon-offset library);
- recognition (CRNN + CTC): each line warped upright to height 48, lines batched by width,
  greedy CTC decoding with the alphabet stored in the model's metadata.

Two operators use it: ``vision.read_text`` reads whole frames (one ``text`` detection per line),
``vision.ocr`` adds ``text``/``text_score`` to detections with chosen labels (licence plates).

Example:
    >>> reader = TextReader.load(Device("cpu"))     # doctest: +SKIP
    >>> [(line.text, round(line.score, 2)) for line in reader.read(image)]
    [('KA 05 MX 1234', 0.99)]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from senri.engine.operator import BatchPolicy, Device, Emits, Operator, Stateless, register
from senri.models.registry import ModelName
from senri.operators.faces import as_rgb
from senri.records import Detections, Frame, FrameDetections

_REC_HEIGHT = 48
_SPACE_IN_GAP = 0.1


@dataclass(frozen=True)
class TextLine:
    """One line of text: its quadrilateral (4, 2) in image pixels (clockwise from top-left)."""

    box: npt.NDArray[np.float32]
    text: str
    score: float


def _order(points: np.ndarray) -> npt.NDArray[np.float32]:
    """Rectangle corners as top-left, top-right, bottom-right, bottom-left."""
    pts = points[np.argsort(points[:, 0], kind="stable")]
    left, right = pts[:2], pts[2:]
    tl, bl = left[np.argsort(left[:, 1], kind="stable")]
    tr, br = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([tl, tr, br, bl], np.float32)


def _upright(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The quadrilateral `box` of `image`, warped to an axis-aligned, left-to-right strip."""
    w = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    h = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    w, h = max(w, 1), max(h, 1)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    crop = cv2.warpPerspective(
        image,
        cv2.getPerspectiveTransform(box.astype(np.float32), dst),
        (w, h),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.rot90(crop) if h >= 1.5 * w else crop


class TextReader:
    """PP-OCR detection + recognition over ONNX Runtime sessions; see the module docstring."""

    def __init__(
        self,
        det: Any,
        rec: Any,
        *,
        min_side: int = 256,
        max_side: int = 1600,
        box_score: float = 0.5,
        min_score: float = 0.5,
        rec_batch: int = 8,
    ) -> None:
        self.det, self.rec = det, rec
        meta = rec.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise ValueError("the recognition model carries no 'character' alphabet metadata")
        self.alphabet = ["", *meta["character"].splitlines(), " "]
        self.min_side, self.max_side = min_side, max_side
        self.box_score, self.min_score, self.rec_batch = box_score, min_score, rec_batch

    @classmethod
    def load(
        cls,
        device: Device,
        model: str = "ocr/rec",
        detector_model: str = "ocr/det",
        **settings: Any,
    ) -> TextReader:
        """Both models from the cache (`registry.resolve`, no fetch) on `device`."""
        from senri.models import onnx

        det = onnx.load(detector_model, device, threads=2)
        rec = onnx.load(model, device, threads=2)
        return cls(det, rec, **settings)

    def read(self, image: np.ndarray) -> list[TextLine]:
        """Every text line found in `image` (uint8 RGB/gray/RGBA), top to bottom, left to right."""
        bgr = np.ascontiguousarray(as_rgb(image)[:, :, ::-1])
        boxes = self.detect(bgr)
        if not boxes:
            return []
        texts = self.recognise([_upright(bgr, b) for b in boxes])
        lines = [
            TextLine(b, t.strip(), s)
            for b, (t, s) in zip(boxes, texts, strict=True)
            if t.strip() and s >= self.min_score
        ]
        return sorted(lines, key=lambda ln: (round(float(ln.box[:, 1].mean()) / 10), ln.box[0, 0]))

    def detect(self, bgr: np.ndarray) -> list[npt.NDArray[np.float32]]:
        """Text quadrilaterals (4, 2) in pixel coordinates of the BGR image."""
        h, w = bgr.shape[:2]
        ratio = max(1.0, self.min_side / min(h, w))
        ratio = min(ratio, self.max_side / max(h, w))
        rh, rw = (max(32, round(h * ratio / 32) * 32), max(32, round(w * ratio / 32) * 32))
        x = cv2.resize(bgr, (rw, rh)).astype(np.float32) / 127.5 - 1.0
        prob = self.det.run(None, {"x": x.transpose(2, 0, 1)[None]})[0][0, 0]
        mask = cv2.dilate((prob > 0.3).astype(np.uint8), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = w / rw, h / rh
        boxes = []
        for contour in contours[:1000]:
            (cx, cy), (bw, bh), angle = cv2.minAreaRect(contour)
            if min(bw, bh) < 3:
                continue
            quad = cv2.boxPoints(((cx, cy), (bw, bh), angle))
            if self._mean_inside(prob, quad) < self.box_score:
                continue
            grow = bw * bh * 1.6 / (2 * (bw + bh))
            quad = cv2.boxPoints(((cx, cy), (bw + 2 * grow, bh + 2 * grow), angle))
            quad = quad * np.array([sx, sy], np.float32)
            quad[:, 0] = np.clip(quad[:, 0], 0, w - 1)
            quad[:, 1] = np.clip(quad[:, 1], 0, h - 1)
            boxes.append(_order(quad))
        return boxes

    @staticmethod
    def _mean_inside(prob: np.ndarray, quad: np.ndarray) -> float:
        x0, y0 = np.floor(quad.min(0)).astype(int).clip(0)
        x1 = int(min(np.ceil(quad[:, 0].max()), prob.shape[1] - 1))
        y1 = int(min(np.ceil(quad[:, 1].max()), prob.shape[0] - 1))
        if x1 < x0 or y1 < y0:
            return 0.0
        mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
        cv2.fillPoly(mask, [np.round(quad - [x0, y0]).astype(np.int32)], 1)
        return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0])

    def recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, mean character confidence) for each BGR line crop, batched by width."""
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        order = np.argsort([c.shape[1] / max(c.shape[0], 1) for c in crops], kind="stable")
        for start in range(0, len(order), self.rec_batch):
            idx = order[start : start + self.rec_batch]
            widths = [
                max(1, round(_REC_HEIGHT * crops[i].shape[1] / max(crops[i].shape[0], 1)))
                for i in idx
            ]
            width = max(320, max(widths))
            batch = np.zeros((len(idx), 3, _REC_HEIGHT, width), np.float32)
            for j, (i, cw) in enumerate(zip(idx, widths, strict=True)):
                line = cv2.resize(crops[i], (cw, _REC_HEIGHT)).astype(np.float32)
                batch[j, :, :, :cw] = (line / 127.5 - 1.0).transpose(2, 0, 1)
            probs = self.rec.run(None, {"x": batch})[0]
            for j, i in enumerate(idx):
                out[int(i)] = self._ctc(probs[j])
        return out

    def _ctc(self, probs: np.ndarray) -> tuple[str, float]:
        """Greedy CTC decoding, with the word spaces the argmax path drops put back.

        PP-OCRv4 was trained mostly on Chinese, where lines have no spaces, and between
        English words its argmax often stays on blank: "Region-basedsegmentation". There the
        space class still rises (0.16-0.43 on scikit-image's page photo) while inside a word it
        stays under 0.01, so a space goes between two characters whose gap holds a frame
        with P(space) >= `_SPACE_IN_GAP`.
        """
        best = probs.argmax(1)
        keep = np.ones(len(best), bool)
        keep[1:] = best[1:] != best[:-1]
        keep &= best != 0
        if not keep.any():
            return "", 0.0
        space = len(self.alphabet) - 1
        at = np.flatnonzero(keep)
        chars: list[str] = []
        for n, (t, k) in enumerate(zip(at, best[keep], strict=True)):
            if k >= len(self.alphabet):
                continue
            if n and chars and chars[-1] != " " and k != space:
                gap = probs[at[n - 1] + 1 : t, space]
                if gap.size and float(gap.max()) >= _SPACE_IN_GAP:
                    chars.append(" ")
            chars.append(self.alphabet[k])
        return "".join(chars), float(probs[np.arange(len(best)), best][keep].mean())


def read_text(image: np.ndarray, reader: TextReader | None = None) -> list[tuple[Any, str, float]]:
    """``[(box (4, 2), text, score), ...]`` for `image`, loading a CPU reader if none is given."""
    reader = reader or TextReader.load(Device("cpu"))
    return [(line.box, line.text, line.score) for line in reader.read(image)]


class _Reads:
    """Shared setup of the two OCR operators: the recognition `model` and the `detector_model`."""

    reader: TextReader | None = None
    model: str = "ocr/rec"
    detector_model: str = "ocr/det"

    def setup(self, device: Device) -> None:
        if self.reader is None:
            self.reader = TextReader.load(device, self.model, self.detector_model)

    def _reader(self) -> TextReader:
        if self.reader is None:
            self.setup(Device("cpu"))
        assert self.reader is not None
        return self.reader


@register
class ReadFrameText(_Reads, Stateless, Operator[Frame, FrameDetections]):
    """Read every text line of a frame: ``kind="text"``, label ``text``, columns ``text``."""

    name = "vision.read_text"
    emits = (Emits("text", "video", "text"),)
    input_type = Frame
    output_type = FrameDetections
    batch = BatchPolicy(max_size=4, max_wait_ms=20)
    fields = ("label", "text")

    def __init__(self, model: ModelName = "ocr/rec", detector_model: ModelName = "ocr/det") -> None:
        self.model, self.detector_model = model, detector_model

    def process(self, items: list[Frame]) -> list[FrameDetections]:
        out = []
        for frame in items:
            lines = self._reader().read(frame.image)
            boxes = [np.r_[ln.box.min(0), ln.box.max(0)] for ln in lines]
            dets = Detections.create(
                np.array(boxes, np.float32).reshape(-1, 4),
                [ln.score for ln in lines],
                data={
                    "label": np.array(["text"] * len(lines), dtype=object),
                    "text": np.array([ln.text for ln in lines], dtype=object),
                },
            )
            out.append(FrameDetections(frame, dets, kind="text"))
        return out


@register
class ReadDetectionText(_Reads, Stateless, Operator[FrameDetections, FrameDetections]):
    """Add ``text`` and ``text_score`` to detections whose label is in `labels` (plates).

    Lines found in one box are joined with spaces; other detections get ``""`` and 0.
    """

    name = "vision.ocr"
    input_type = FrameDetections
    output_type = FrameDetections
    batch = BatchPolicy(max_size=8, max_wait_ms=20)
    fields = ("text", "text_score")

    def __init__(
        self,
        labels: tuple[str, ...] | list[str] = ("plate",),
        pad: float = 0.1,
        model: ModelName = "ocr/rec",
        detector_model: ModelName = "ocr/det",
    ) -> None:
        if not labels:
            raise ValueError(
                "labels must name at least one label (use vision.read_text for frames)"
            )
        self.labels = tuple(labels)
        self.pad = pad
        self.model, self.detector_model = model, detector_model

    def process(self, items: list[FrameDetections]) -> list[FrameDetections]:
        return [self._read(fd) for fd in items]

    def _read(self, fd: FrameDetections) -> FrameDetections:
        d, image = fd.detections, fd.frame.image
        labels = d.data.get("label")
        texts, scores = [""] * len(d), [0.0] * len(d)
        for i in range(len(d)):
            if labels is None or str(labels[i]) not in self.labels:
                continue
            x1, y1, x2, y2 = d.xyxy[i]
            px, py = (x2 - x1) * self.pad, (y2 - y1) * self.pad
            crop = image[
                max(int(y1 - py), 0) : max(int(y2 + py), 0),
                max(int(x1 - px), 0) : max(int(x2 + px), 0),
            ]
            if crop.size == 0:
                continue
            lines = self._reader().read(crop)
            if lines:
                texts[i] = " ".join(ln.text for ln in lines)
                scores[i] = float(np.mean([ln.score for ln in lines]))
        dets = d.with_columns(
            text=np.array(texts, dtype=object), text_score=np.array(scores, np.float32)
        )
        return replace(fd, detections=dets)
