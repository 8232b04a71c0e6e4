"""`vision.redact`: frames with faces and text (number plates) pixelated beyond recognition.

Faces come from RetinaFace (`senri.operators.faces`), text regions from PP-OCR's detector
(`senri.operators.ocr`): a number plate is text, so every text region is covered, signs
included. Privacy asks for recall over precision, so the face threshold is lower (0.4) than
the face search's (0.7). Each region is grown by `margin` of its size on every side and
replaced by a mosaic of `cells` blocks across its longer side, which, unlike a Gaussian blur,
leaves nothing to deconvolve.

The HTTP API serves frames through this operator to keys without the ``sensitive`` scope
(`senri.api.frames`); a pipeline can put it before anything that stores or forwards images.

Example:
    >>> op = Redact(); op.setup(Device("cpu"))             # doctest: +SKIP
    >>> clean, = op.process([frame])                       # same frame, faces and text hidden
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field

from senri.engine.operator import BatchPolicy, Device, Operator, Stateless, register
from senri.engine.settings import Fraction
from senri.models.registry import ModelName
from senri.operators.faces import RetinaFace
from senri.operators.ocr import TextReader
from senri.records import Frame


def pixelate(
    image: npt.NDArray[np.uint8], boxes: npt.NDArray[np.float32], *, cells: int, margin: float
) -> npt.NDArray[np.uint8]:
    """A copy of `image` with each box (x1, y1, x2, y2), grown by `margin`, a coarse mosaic."""
    out = image.copy()
    h, w = image.shape[:2]
    for x1, y1, x2, y2 in np.asarray(boxes, np.float32).reshape(-1, 4):
        gx, gy = (x2 - x1) * margin, (y2 - y1) * margin
        a, b = max(0, int(x1 - gx)), max(0, int(y1 - gy))
        c, d = min(w, int(np.ceil(x2 + gx))), min(h, int(np.ceil(y2 + gy)))
        if c <= a or d <= b:
            continue
        region = out[b:d, a:c]
        scale = cells / max(c - a, d - b)
        small = (max(1, round((c - a) * scale)), max(1, round((d - b) * scale)))
        coarse = cv2.resize(region, small, interpolation=cv2.INTER_AREA)
        out[b:d, a:c] = cv2.resize(coarse, (c - a, d - b), interpolation=cv2.INTER_NEAREST)
    return out


@register
class Redact(Stateless, Operator[Frame, Frame]):
    """Hide faces and text (number plates) in frames; the frames keep their ids and times."""

    name = "vision.redact"
    input_type = Frame
    output_type = Frame
    batch = BatchPolicy(max_size=4, max_wait_ms=20)

    def __init__(
        self,
        faces: bool = True,
        text: bool = True,
        min_face_score: Fraction = 0.4,
        margin: Annotated[float, Field(ge=0, le=1)] = 0.15,
        cells: Annotated[int, Field(ge=2, le=64)] = 8,
        face_model: ModelName = "faces/retinaface",
        text_model: ModelName = "ocr/det",
    ) -> None:
        if not (faces or text):
            raise ValueError("vision.redact with faces and text both off would hide nothing")
        self.faces, self.text = faces, text
        self.min_face_score, self.margin, self.cells = min_face_score, margin, cells
        self.face_model, self.text_model = face_model, text_model
        self.face_detector: RetinaFace | None = None
        self.text_reader: TextReader | None = None

    def setup(self, device: Device) -> None:
        from senri.models import onnx

        if self.faces and self.face_detector is None:
            session = onnx.load(self.face_model, device, threads=2)
            self.face_detector = RetinaFace(session, min_score=self.min_face_score)
        if self.text and self.text_reader is None:
            self.text_reader = TextReader.load(device, detector_model=self.text_model)

    def regions(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The boxes (N, 4) this operator hides in `image`: faces first, then text."""
        if (self.faces and self.face_detector is None) or (self.text and self.text_reader is None):
            self.setup(Device("cpu"))
        found = [np.zeros((0, 4), np.float32)]
        if self.face_detector is not None:
            (faces,) = self.face_detector.detect([image])
            found.append(np.asarray(faces.boxes, np.float32).reshape(-1, 4))
        if self.text_reader is not None:
            quads = self.text_reader.detect(np.ascontiguousarray(image[:, :, ::-1]))
            found.extend(np.r_[q.min(0), q.max(0)][None].astype(np.float32) for q in quads)
        return np.concatenate(found)

    def process(self, items: list[Frame]) -> list[Frame]:
        return [
            replace(
                f,
                image=pixelate(
                    f.image, self.regions(f.image), cells=self.cells, margin=self.margin
                ),
            )
            for f in items
        ]
