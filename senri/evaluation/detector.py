"""COCO detectors on hand-boxed real photos: AP50 and recall, per model and per label.

The photos are scikit-image's samples (card ``data/photos``) and the Wikimedia photos (public
domain or CC0, per file) that Debian's ``gcompris-qt-data`` keeps in its Qt resource bundles;
``senri/evaluation/data/vision_boxes.json`` holds every COCO object in them, boxed by hand
(never from a model's output), each photo's package path and licence. Photos without objects
are negatives (a page of text, handwriting, pigs, a plate).

Each detector runs as a one-node ``vision.detect`` graph (``model`` set to the card) at a low
score floor, so that its whole precision-recall curve is seen:

- **AP50**: COCO's average precision at IoU 0.5 (101-point interpolated), per label with at
  least one object, averaged over the labels. A detection matched to a *difficult* object
  (tiny, mostly hidden or cut by the border) counts neither way; nor does missing one.
- **recall** at the operating threshold (`OPERATING_SCORE`, the operator's default), and the
  false positives there, on object photos and on negatives.

34 photos and about 50 objects steer a choice between detectors; they do not measure accuracy
in the field to better than a few points.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from senri.boxes import iou
from senri.evaluation.rcc import read_rcc
from senri.evaluation.recorded import MissingSetError
from senri.records import Frame

BOXES = Path(__file__).resolve().parent / "data" / "vision_boxes.json"
GCOMPRIS = Path("/usr/share/gcompris-qt/rcc")
MIN_IOU = 0.5
FLOOR = 0.05
OPERATING_SCORE = 0.3


@dataclass(frozen=True)
class Photo:
    """One hand-boxed photo: name, RGB pixels, its objects (label, box, difficult)."""

    file: str
    image: npt.NDArray[np.uint8]
    objects: tuple[tuple[str, npt.NDArray[np.float32], bool], ...]


def truth(boxes_file: Path = BOXES) -> list[dict[str, Any]]:
    """The entries of the hand-drawn boxes file."""
    if not boxes_file.is_file():
        raise ValueError(f"no hand-drawn boxes at {boxes_file} (they live in a source checkout)")
    return list(json.loads(boxes_file.read_text())["images"])


def photos(boxes_file: Path = BOXES, gcompris: Path = GCOMPRIS) -> list[Photo]:
    """Every photo of the boxes file with its pixels; GCompris's need ``gcompris-qt-data``."""
    from senri.models.photos import sample_photo

    entries = truth(boxes_file)
    wanted: dict[str, set[str]] = {}
    for e in entries:
        if e["package"] == "gcompris-qt-data":
            bundle, inner = e["path"].split(":", 1)
            wanted.setdefault(bundle, set()).add(inner)
    if wanted and not gcompris.is_dir():
        raise MissingSetError("install Debian's gcompris-qt-data (scripts/setup.sh --dev)")
    files = {
        f"{bundle}:{path}": data
        for bundle, paths in wanted.items()
        for path, data in read_rcc(gcompris / bundle, paths).items()
    }
    out = []
    for e in entries:
        if e["package"] == "gcompris-qt-data":
            bgr = cv2.imdecode(np.frombuffer(files[e["path"]], np.uint8), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"cannot decode {e['path']}")
            image = np.ascontiguousarray(bgr[:, :, ::-1], dtype=np.uint8)
        else:
            image = sample_photo(e["path"])
        objects = tuple(
            (o["label"], np.asarray(o["box"], np.float32), bool(o.get("difficult")))
            for o in e["objects"]
        )
        out.append(Photo(e["file"], image, objects))
    return out


@dataclass
class DetectorScore:
    """What one detector made of the photos."""

    model: str
    ap50: dict[str, float] = field(default_factory=dict)
    objects: int = 0
    found: int = 0
    false_positives: int = 0
    negatives_false_positives: int = 0
    rows: list[tuple[str, str, bool, float, str]] = field(default_factory=list)
    """(photo, label, found at the operating score, its best IoU, what was said there)"""
    seconds_per_photo: float = 0.0

    @property
    def map50(self) -> float:
        return float(np.mean(list(self.ap50.values()))) if self.ap50 else 0.0

    @property
    def recall(self) -> float:
        return self.found / max(self.objects, 1)


def average_precision(hits: list[tuple[float, bool]], positives: int) -> float:
    """COCO's 101-point interpolated AP of scored detections (score, true positive)."""
    if positives == 0:
        return 0.0
    ordered = sorted(hits, key=lambda h: -h[0])
    tp = np.cumsum([h[1] for h in ordered], dtype=np.float64)
    fp = np.cumsum([not h[1] for h in ordered], dtype=np.float64)
    recall = tp / positives
    precision = tp / np.maximum(tp + fp, 1e-9)
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    points = np.linspace(0.0, 1.0, 101)
    idx = np.searchsorted(recall, points, side="left")
    return float(np.mean([precision[i] if i < len(precision) else 0.0 for i in idx]))


def match(
    objects: tuple[tuple[str, npt.NDArray[np.float32], bool], ...],
    boxes: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    labels: list[str],
) -> list[tuple[int, int | None]]:
    """Greedy COCO matching, best score first: (detection, object index or None)."""
    taken: set[int] = set()
    pairs: list[tuple[int, int | None]] = []
    for d in np.argsort(-scores, kind="stable"):
        best, best_iou = None, MIN_IOU
        for k, (label, box, _) in enumerate(objects):
            if k in taken or label != labels[d]:
                continue
            overlap = iou(box, boxes[d])
            if overlap >= best_iou:
                best, best_iou = k, overlap
        if best is not None:
            taken.add(best)
        pairs.append((int(d), best))
    return pairs


def evaluate(model: str, all_photos: list[Photo]) -> DetectorScore:
    """`vision.detect` with card `model` on the photos (see the module docstring)."""
    from senri.engine.session import GraphSession

    nodes = {
        "detect": {"op": "vision.detect", "from": "frames", "model": model, "min_score": FLOOR}
    }
    graph = GraphSession.of(nodes, inputs={"frames": Frame}).setup()
    score = DetectorScore(model)
    hits: dict[str, list[tuple[float, bool]]] = {}
    positives: dict[str, int] = {}
    started = time.perf_counter()
    try:
        for seq, photo in enumerate(all_photos):
            frame = Frame(photo.file, seq, 0.0, 0.0, photo.image)
            (fd,) = graph.run(frames=[frame]).outputs["detect"]
            boxes = np.asarray(fd.detections.xyxy, np.float32).reshape(-1, 4)
            scores = np.asarray(fd.detections.confidence, np.float32)
            labels = [str(x) for x in fd.detections.data["label"]]
            for label, _, difficult in photo.objects:
                positives[label] = positives.get(label, 0) + (not difficult)
            _score_photo(score, hits, photo, boxes, scores, labels)
    finally:
        graph.close()
    score.seconds_per_photo = (time.perf_counter() - started) / max(len(all_photos), 1)
    score.ap50 = {
        label: average_precision(hits.get(label, []), n)
        for label, n in sorted(positives.items())
        if n
    }
    return score


def _score_photo(
    score: DetectorScore,
    hits: dict[str, list[tuple[float, bool]]],
    photo: Photo,
    boxes: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    labels: list[str],
) -> None:
    """Add one photo's detections to the ranked hits (for AP) and its objects to `score`."""
    pairs = match(photo.objects, boxes, scores, labels)
    for d, k in pairs:
        if k is not None and photo.objects[k][2]:
            continue  # a difficult object: neither a hit nor a false positive
        hits.setdefault(labels[d], []).append((float(scores[d]), k is not None))
        if k is None and scores[d] >= OPERATING_SCORE:
            score.false_positives += 1
            score.negatives_false_positives += not photo.objects
    matched = {k: d for d, k in pairs if k is not None}
    for k, (label, box, difficult) in enumerate(photo.objects):
        if difficult:
            continue
        at = matched.get(k)
        found = at is not None and scores[at] >= OPERATING_SCORE
        there = [
            f"{labels[j]} {scores[j]:.2f}"
            for j in range(len(scores))
            if scores[j] >= OPERATING_SCORE and iou(box, boxes[j]) >= MIN_IOU
        ]
        same = [iou(box, b) for b, lab in zip(boxes, labels, strict=True) if lab == label]
        score.objects += 1
        score.found += found
        score.rows.append(
            (photo.file, label, found, max(same, default=0.0), ", ".join(there) or "nothing")
        )


def street_frames(every: int = 3, seed: int = 7) -> list[Photo]:
    """The synthetic set: every `every`-th frame of a generated street world (photo cutouts
    pasted on a drawn street, `senri.worlds.street`), its truth boxes as objects; an object
    only partly inside the frame is difficult."""
    import tempfile

    from senri.connectors.video import VideoSource
    from senri.worlds import street

    with tempfile.TemporaryDirectory(prefix="senri-eval-detector-") as tmp:
        world = street.generate(Path(tmp), seed=seed)
        data = json.loads(world.truth.read_text())
        per_frame: dict[int, list[tuple[str, npt.NDArray[np.float32], bool]]] = {}
        for obj in data["objects"]:
            for row in obj["frames"]:
                box = np.asarray(row[1:5], np.float32)
                per_frame.setdefault(int(row[0]), []).append((obj["label"], box, not row[5]))
        out = []
        for index, item in enumerate(VideoSource(world.video, "street", start_time=0.0)):
            if not isinstance(item, Frame):
                raise ValueError(f"cannot decode the street world: {item}")
            if index % every == 0:
                objects = tuple(per_frame.get(index, ()))
                out.append(Photo(f"street#{index}", item.image, objects))
    return out


def report(models: list[str], emit: Callable[[str], Any]) -> None:
    """Each detector on the synthetic street frames and the hand-boxed photos, side by side,
    then per label and the objects each one missed on the photos."""
    sets: list[tuple[str, list[Photo] | None, str]] = [
        ("synthetic", street_frames(), "street world frames (photo cutouts on a drawn street)")
    ]
    try:
        real = photos()
        objects = sum(not d for p in real for _, _, d in p.objects)
        sets.append(("photos", real, f"{len(real)} hand-boxed photos, {objects} objects"))
    except MissingSetError as exc:
        sets.append(("photos", None, f"not measured: {exc}"))
    results = {
        (model, name): evaluate(model, found)
        for model in models
        for name, found, _ in sets
        if found
    }
    emit(
        f"COCO detectors: AP50 (IoU >= {MIN_IOU}), and recall and false positives at score >= "
        f"{OPERATING_SCORE}"
    )
    emit(
        f"  {'model':<18} {'set':<10} {'images':>6} {'objects':>7} {'AP50':>6} {'recall':>7} "
        f"{'FP':>4} {'FP neg':>6} {'s/img':>6}"
    )
    for model in models:
        for name, found, source in sets:
            if found is None:
                emit(f"  {model:<18} {name:<10} {source}")
                continue
            s = results[(model, name)]
            emit(
                f"  {model:<18} {name:<10} {len(found):>6} {s.objects:>7} {s.map50:>6.1%} "
                f"{s.recall:>7.1%} {s.false_positives:>4} {s.negatives_false_positives:>6} "
                f"{s.seconds_per_photo:>6.2f}"
            )
    for name, found, source in sets:
        if found is not None:
            emit(f"  {name}: {source}")
    real_scores = [results[(m, "photos")] for m in models if (m, "photos") in results]
    if not real_scores:
        return
    labels = sorted({label for s in real_scores for label in s.ap50})
    emit("  AP50 per label on the photos: " + "; ".join(m for m in models))
    for label in labels:
        emit(
            f"    {label:<14} " + "  ".join(f"{s.ap50.get(label, 0.0):>6.1%}" for s in real_scores)
        )
    for s in real_scores:
        missed = [r for r in s.rows if not r[2]]
        emit(f"  {s.model} missed {len(missed)} of {s.objects} objects on the photos:")
        for file, label, _, best, there in missed:
            emit(f"    {file:<24} {label:<12} best IoU {best:.2f}; there: {there}")
