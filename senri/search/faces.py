"""Face search: index the faces found in an image folder, find a query face's look-alikes.

`index_faces` runs ``vision.faces`` (`FaceDetect` with ``embed=True``: RetinaFace boxes and
the 1024-d FaceRes descriptor) on every image under a folder and upserts one item per face
into a cosine `FaissCollection`: id ``<relative path>#<n>`` (n-th face by detector score),
metadata ``source`` (the relative path), ``path`` (absolute), ``box`` (``x0,y0,x1,y1`` in
pixels, a string so every vector store can hold it) and ``face_score``.

`search_faces` detects the faces of a query image and returns, for each (largest first), the
`k` nearest indexed faces; ``same_person`` marks hits at or above `SAME_PERSON` cosine, the
threshold of the ``faces/embed`` evaluation (`senri.evaluation.vision.FACE_THRESHOLD`), which
is measured on two identities only: treat it as a starting point, not a calibrated value.

Collections live where the image collections do (``$SENRI_HOME/collections/<name>``, see
`face_collection`).

Example:
    >>> faces = face_collection("staff", create=True)           # doctest: +SKIP
    >>> index_faces("photos/", faces); faces.save()             # doctest: +SKIP
    >>> [h.metadata["source"] for h in search_faces(img, faces, k=3)[0].hits]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from senri.device import Device
from senri.engine.session import GraphSession
from senri.errors import SenriError
from senri.indexes.vectors.types import Hit
from senri.records import DeadLetter, Frame

FACE_DIM = 1024
SAME_PERSON = 0.5
"""Cosine similarity at or above which a hit is flagged ``same_person``."""


@dataclass(frozen=True)
class FaceMatches:
    """One face of the query image: its box (xyxy, pixels), detector score and nearest faces."""

    box: tuple[float, float, float, float]
    score: float
    hits: list[Hit]
    threshold: float = SAME_PERSON

    def as_dict(self) -> dict[str, Any]:
        return {
            "box": [round(v, 1) for v in self.box],
            "face_score": round(self.score, 4),
            "hits": [
                {
                    "id": h.id,
                    "score": round(float(h.score), 6),
                    "metadata": dict(h.metadata),
                    "same_person": bool(h.score >= self.threshold),
                }
                for h in self.hits
            ],
        }


def face_collection(name: str, *, create: bool = False, device: Device | None = None) -> Any:
    """The `FaissCollection` named `name` under ``$SENRI_HOME/collections``, searching on
    `device` (default cpu); with `create`, an empty 1024-d cosine one if there is none (names
    as in `senri.search.similar`)."""
    from senri.indexes.vectors.collections import open_collection

    return open_collection(name, dim=FACE_DIM, create=create, device=device)


def face_detector(min_score: float = 0.7) -> GraphSession:
    """A CPU graph of one ``vision.faces`` node that also gives descriptors, set up once."""
    nodes = {
        "faces": {"op": "vision.faces", "from": "frames", "min_score": min_score, "embed": True}
    }
    return GraphSession.of(nodes, inputs={"frames": Frame}).setup()


def detect_faces(
    image: npt.NDArray[np.uint8], detector: GraphSession
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """(boxes (N, 4), scores (N,), descriptors (N, 1024)) of the faces in an RGB image, best
    score first. An image the model fails on raises `SenriError` with the reason."""
    frame = Frame("faces", 0, 0.0, 0.0, image)
    step = detector.run(frames=[frame])
    if step.dead:
        raise SenriError(step.dead[0].reason)
    (found,) = step.outputs["faces"]
    dets = found.detections
    boxes = np.asarray(dets.xyxy, np.float32).reshape(-1, 4)
    scores = np.asarray(dets.confidence, np.float32).reshape(-1)
    if not len(scores):
        return boxes, scores, np.zeros((0, FACE_DIM), np.float32)
    vectors = np.asarray(dets.data["embedding"], np.float32)
    order = np.argsort(-scores, kind="stable")
    return boxes[order], scores[order], vectors[order]


def index_faces(
    folder: str | Path,
    collection: Any,
    *,
    detector: GraphSession | None = None,
    min_score: float = 0.7,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[int, list[str]]:
    """Detect, describe and upsert every face in the images under `folder`; returns (faces
    indexed, problems). Undecodable files, unreadable entries and images without a face are
    reported as problems, never fatal. Re-indexing replaces ``<path>#<n>`` items; an image
    that now has fewer faces keeps its old extra ones."""
    from senri.connectors.images import ImageFolderSource
    from senri.operators.embed import decode_image

    detector = detector or face_detector(min_score)
    done, problems = 0, []
    for item in ImageFolderSource(folder, "faces"):
        if isinstance(item, DeadLetter):
            problems.append(f"{item.key}: {item.reason}")
            continue
        try:
            image = item.image if item.image is not None else decode_image(item.data)
        except ValueError as exc:
            problems.append(f"{item.item_id}: {exc}")
            continue
        boxes, scores, vectors = detect_faces(image, detector)
        if not len(scores):
            problems.append(f"{item.item_id}: no face found")
            continue
        ids = [f"{item.item_id}#{n}" for n in range(len(scores))]
        metas = [
            {
                "source": item.item_id,
                "path": str(item.metadata.get("path", "")),
                "box": ",".join(f"{v:.1f}" for v in box),
                "face_score": round(float(s), 4),
            }
            for box, s in zip(boxes, scores, strict=True)
        ]
        collection.upsert(ids, vectors, metas)
        done += len(ids)
        if on_progress is not None:
            on_progress(len(ids))
    return done, problems


def search_faces(
    image: npt.NDArray[np.uint8],
    collection: Any,
    k: int = 5,
    *,
    detector: GraphSession | None = None,
    min_score: float = 0.7,
    threshold: float = SAME_PERSON,
) -> list[FaceMatches]:
    """For each face in `image` (largest first; none found gives ``[]``), the `k` nearest
    indexed faces by cosine similarity, best first."""
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    detector = detector or face_detector(min_score)
    boxes, scores, vectors = detect_faces(image, detector)
    if not len(scores):
        return []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.argsort(-areas, kind="stable")
    results = collection.search(vectors[order], k=k)
    matches = []
    for i, hits in zip(order, results, strict=True):
        x0, y0, x1, y1 = (float(v) for v in boxes[i])
        matches.append(FaceMatches((x0, y0, x1, y1), float(scores[i]), hits, threshold))
    return matches
