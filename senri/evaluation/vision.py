"""Evaluations of the tracker, the face descriptor and plate OCR, on generated data.

`senri.evaluation.models` registers these in ``EVALUATIONS``; each returns a JSON-able dict.

- ``vision.track``: CLEAR-MOT (MOTA, ID switches, fragmentations, false positives, misses)
  of ``vision.motion`` → ``vision.track`` on sample worlds (`senri.worlds.shapes`) decoded with
  `VideoSource`, against the truth paths; plus `Tracker` alone on hand-made hard sequences
  (two objects crossing, one hidden for a few frames) built as noisy detections with dropouts.
- ``faces/embed``: face verification with the FaceRes descriptor on augmented copies of the
  only real faces offline (scikit-image's ``astronaut`` and ``camera``): two identities, so
  a smoke test of invariance to augmentation, not a measure of accuracy across people.
- ``ocr/rec``: exact-match and character error rate of `read_text` on rendered licence plates
  (cv2 fonts, random scale, rotation, perspective, blur and noise).

All three are deterministic for a given configuration.
"""

from __future__ import annotations

import itertools
import string
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from senri.boxes import iou
from senri.engine.session import GraphSession
from senri.records import Detections, Frame, FrameDetections

MOT_IOU = 0.5
Boxes = dict[int, npt.NDArray[np.float32]]


@dataclass
class MotAccumulator:
    """CLEAR-MOT counts over the frames of one sequence (Bernardin & Stiefelhagen, 2008).

    Per frame, last frame's pairs that still overlap by `min_iou` are kept, then the rest are
    paired greedily by IoU. An ID switch is a truth object matched to another track id than at
    its previous match; a fragmentation is a truth object tracked again after being missed.
    Misses of an object not matched yet at all are also counted apart: with ``min_hits=3`` a
    confirmed track cannot cover an object's first frames.

        >>> acc = MotAccumulator()
        >>> acc.update({1: np.array([0, 0, 10, 10], np.float32)}, {})
        >>> acc.summary()["misses"]
        1
    """

    min_iou: float = MOT_IOU
    gt: int = 0
    matches: int = 0
    fp: int = 0
    misses: int = 0
    id_switches: int = 0
    fragmentations: int = 0
    misses_before_first_match: int = 0
    iou_sum: float = 0.0
    _last: dict[int, int] = field(default_factory=dict)
    _prev: dict[int, int] = field(default_factory=dict)
    _missed_since: set[int] = field(default_factory=set)
    _objects: set[int] = field(default_factory=set)
    _tracks: set[int] = field(default_factory=set)

    def update(self, truth: Boxes, tracks: Boxes) -> None:
        """Score one frame: truth object id → box, track id → box (xyxy)."""
        pairs: dict[int, int] = {}
        for g, h in self._prev.items():
            if g in truth and h in tracks and iou(truth[g], tracks[h]) >= self.min_iou:
                pairs[g] = h
        scored = sorted(
            (-iou(truth[g], tracks[h]), g, h)
            for g in truth
            for h in tracks
            if g not in pairs and h not in pairs.values()
        )
        for neg, g, h in scored:
            if -neg >= self.min_iou and g not in pairs and h not in pairs.values():
                pairs[g] = h
        for g, h in pairs.items():
            self.iou_sum += iou(truth[g], tracks[h])
            if g in self._last and self._last[g] != h:
                self.id_switches += 1
            if g in self._missed_since:
                self.fragmentations += 1
                self._missed_since.discard(g)
            self._last[g] = h
        for g in truth:
            if g not in pairs and g in self._last:
                self._missed_since.add(g)
            elif g not in pairs:  # not yet tracked: the tracker's confirmation latency
                self.misses_before_first_match += 1
        self.gt += len(truth)
        self.matches += len(pairs)
        self.misses += len(truth) - len(pairs)
        self.fp += len(tracks) - len(pairs)
        self._prev = pairs
        self._objects.update(truth)
        self._tracks.update(tracks)

    def summary(self) -> dict[str, Any]:
        """MOTA, MOTP (mean IoU of matches) and the raw counts."""
        errors = self.fp + self.misses + self.id_switches
        return {
            "mota": round(1 - errors / self.gt, 3) if self.gt else 0.0,
            "motp_iou": round(self.iou_sum / self.matches, 3) if self.matches else 0.0,
            "gt_boxes": self.gt,
            "matches": self.matches,
            "false_positives": self.fp,
            "misses": self.misses,
            "misses_before_first_match": self.misses_before_first_match,
            "id_switches": self.id_switches,
            "fragmentations": self.fragmentations,
            "gt_objects": len(self._objects),
            "tracks": len(self._tracks),
        }


def merge_summaries(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts summed over sequences, MOTA and MOTP recomputed from the sums."""
    parts = list(parts)
    keys = ("gt_boxes", "matches", "false_positives", "misses", "id_switches")
    total: dict[str, Any] = {k: sum(p[k] for p in parts) for k in keys}
    for k in ("fragmentations", "gt_objects", "tracks", "misses_before_first_match"):
        total[k] = sum(p[k] for p in parts)
    errors = total["false_positives"] + total["misses"] + total["id_switches"]
    gt, matched = total["gt_boxes"], total["matches"]
    iou_sum = sum(p["motp_iou"] * p["matches"] for p in parts)
    total["mota"] = round(1 - errors / gt, 3) if gt else 0.0
    total["motp_iou"] = round(iou_sum / matched, 3) if matched else 0.0
    return total


def _tracked(fd: FrameDetections) -> Boxes:
    d = fd.detections
    return {int(t): d.xyxy[i] for i, t in enumerate(d.tracker_id) if t >= 0}


def world_truth_boxes(
    objects: list[dict[str, Any]], t: float, size: tuple[int, int], min_area: float
) -> Boxes:
    """Truth boxes at pts `t`, clipped to the frame; slivers under `min_area` px are left out."""
    from senri.worlds.shapes import position_at

    out: Boxes = {}
    for obj in objects:
        centre = position_at(obj, t)
        if centre is None:
            continue
        w, h = obj["size"]
        x0, y0 = round(centre[0]) - w // 2, round(centre[1]) - h // 2
        box = np.array(
            [max(x0, 0), max(y0, 0), min(x0 + w, size[0]), min(y0 + h, size[1])], np.float32
        )
        if (box[2] - box[0]) * (box[3] - box[1]) >= min_area and min(box[2:] - box[:2]) > 0:
            out[int(obj["id"])] = box
    return out


def track_world(seed: int, duration: float = 20.0, root: Path | None = None) -> dict[str, Any]:
    """``vision.motion`` → ``vision.track`` on the sample world of `seed`, scored per frame."""
    from senri.connectors.video import VideoSource
    from senri.operators.motion import MotionDetector
    from senri.worlds import shapes

    with tempfile.TemporaryDirectory(prefix="senri-eval-track-") as tmp:
        world = shapes.generate(Path(root or tmp) / f"seed{seed}", seed=seed, duration=duration)
        truth = shapes.load_truth(world.truth)
        size = (int(truth["size"][0]), int(truth["size"][1]))
        nodes = {
            "motion": {"op": "vision.motion", "from": "frames"},
            "track": {"op": "vision.track", "from": "motion"},
        }
        graph = GraphSession.of(nodes, inputs={"frames": Frame}).setup()
        min_area = MotionDetector().min_area
        acc = MotAccumulator()
        for item in VideoSource(world.video, "cam1", start_time=0.0):
            if not isinstance(item, Frame):
                raise ValueError(f"cannot decode the world of seed {seed}: {item}")
            (fd,) = graph.run(frames=[item]).outputs["track"]
            gt = world_truth_boxes(truth["objects"], item.pts, size, min_area)
            acc.update(gt, _tracked(fd))
    return {"seed": seed, **acc.summary()}


@dataclass(frozen=True)
class Mover:
    """A box of `size` moving linearly from `p0` (frame 0) at `v` px/frame, hidden in `hidden`."""

    id: int
    p0: tuple[float, float]
    v: tuple[float, float]
    size: tuple[int, int] = (30, 30)
    hidden: tuple[range, ...] = ()

    def box(self, k: int) -> npt.NDArray[np.float32]:
        cx, cy = self.p0[0] + self.v[0] * k, self.p0[1] + self.v[1] * k
        w, h = self.size
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)


HARD_SEQUENCES: dict[str, tuple[Mover, ...]] = {
    # head-on along one line: the boxes overlap fully for a few frames, then part
    "crossing head-on": (Mover(1, (40, 120), (6, 0)), Mover(2, (280, 122), (-6, 0))),
    # an X: paths cross at a right angle at frame 20
    "crossing X": (Mover(1, (40, 40), (6, 4)), Mover(2, (40, 200), (6, -4))),
    # behind something for 3 frames (bridged by max_age), later for 8 (longer than max_age)
    "hidden": (Mover(1, (30, 120), (5, 0), hidden=(range(12, 15), range(30, 38))),),
}
HARD_FRAMES = 50


def track_hard(
    movers: tuple[Mover, ...], seed: int, noise: float = 1.5, dropout: float = 0.05
) -> dict[str, Any]:
    """`Tracker` alone on one hand-made sequence: noisy boxes, random dropouts, hidden spans.

    Truth counts only where an object is in view (not hidden), so misses there come from
    dropouts and track confirmation, and a lost identity after a hiding shows as an ID switch.
    """
    nodes = {"track": {"op": "vision.track", "from": "detections"}}
    tracker = GraphSession.of(nodes, inputs={"detections": FrameDetections}).setup()
    rng = np.random.default_rng(seed)
    acc = MotAccumulator()
    image = np.zeros((240, 320, 3), np.uint8)
    for k in range(HARD_FRAMES):
        visible = [m for m in movers if not any(k in r for r in m.hidden)]
        truth = {m.id: m.box(k) for m in visible}
        seen = [b + rng.normal(0, noise, 4) for b in truth.values() if rng.random() >= dropout]
        order = rng.permutation(len(seen))  # detectors promise no order
        dets = Detections.create(np.array([seen[i] for i in order], np.float32).reshape(-1, 4))
        frame = Frame("hard", k, k / 10, k / 10, image)
        (fd,) = tracker.run(detections=[FrameDetections(frame, dets, kind="motion")]).outputs[
            "track"
        ]
        acc.update(truth, _tracked(fd))
    return acc.summary()


def tracking(seeds: tuple[int, ...] = (7, 11, 23), hard_seeds: int = 3) -> dict[str, Any]:
    """The ``vision.track`` evaluation: sample worlds of `seeds`, and the hard sequences."""
    worlds = [track_world(s) for s in seeds]
    hard = {
        name: merge_summaries(track_hard(movers, s) for s in range(hard_seeds))
        for name, movers in HARD_SEQUENCES.items()
    }
    return {
        "min_iou": MOT_IOU,
        "worlds": worlds,
        "worlds_total": merge_summaries(worlds),
        "hard": hard,
        "hard_runs": hard_seeds,
    }


FACE_PHOTOS = ("astronaut.png", "camera.png")
"""The only photos of faces in scikit-image's data folder (``lfw_subset.npy`` is 25x25 px)."""
FACE_THRESHOLD = 0.5
"""A fixed cosine-similarity threshold for "same person", chosen before looking at results."""


def augment(image: np.ndarray, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """One random variant: rotation, scale, brightness, blur, JPEG, flip, sometimes grey."""
    h, w = image.shape[:2]
    angle, scale = float(rng.uniform(-20, 20)), float(rng.uniform(0.6, 1.3))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    out = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    gain, offset = float(rng.uniform(0.6, 1.3)), float(rng.uniform(-30, 30))
    out = np.clip(out.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
    sigma = float(rng.uniform(0, 2.0))
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    quality = int(rng.integers(25, 95))
    ok, jpeg = cv2.imencode(".jpg", out[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else None
    if decoded is not None:
        out = decoded[:, :, ::-1]
    if rng.random() < 0.5:
        out = out[:, ::-1]
    if rng.random() < 0.3:  # so colour alone never tells the colour photo from the grey one
        out = np.repeat(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    return np.ascontiguousarray(out)


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counting half (Mann-Whitney U)."""
    if not len(positive) or not len(negative):
        return 0.0
    diff = positive[:, None] - negative[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def best_threshold(positive: np.ndarray, negative: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) maximising the accuracy of ``score >= threshold`` over all pairs."""
    scores = np.concatenate([positive, negative])
    labels = np.concatenate([np.ones(len(positive), bool), np.zeros(len(negative), bool)])
    best = (1.0, 0.0)
    for t in np.unique(scores):
        acc = float(((scores >= t) == labels).mean())
        if acc > best[1]:
            best = (float(t), acc)
    return best


def face_verification(variants: int = 24, seed: int = 0) -> dict[str, Any]:
    """FaceRes descriptors of `variants` augmented copies of each face photo, compared pairwise.

    Same-identity pairs are copies of one photo, different-identity pairs cross photos. A copy
    in which RetinaFace finds no face is counted in ``undetected`` and left out of the pairs.
    """
    from senri.engine.operator import Device
    from senri.models import onnx
    from senri.models.photos import sample_photo
    from senri.operators.faces import FaceRes, RetinaFace

    cpu = Device("cpu")
    detector = RetinaFace(onnx.load("faces/retinaface", cpu, threads=2))
    describer = FaceRes(onnx.load("faces/embed", cpu, threads=2))
    rng = np.random.default_rng(seed)
    found: list[tuple[int, np.ndarray]] = []
    undetected = 0
    for person, name in enumerate(FACE_PHOTOS):
        photo = sample_photo(name)
        copies = [photo] + [augment(photo, rng) for _ in range(variants - 1)]
        for image, faces in zip(copies, detector.detect(copies), strict=True):
            if not len(faces.scores):
                undetected += 1
                continue
            top = int(np.argmax(faces.scores))
            traits = describer.describe(image, faces.boxes[top : top + 1], faces.landmarks[top])
            found.append((person, traits.embeddings[0]))
    same: list[float] = []
    different: list[float] = []
    for (pa, ea), (pb, eb) in itertools.combinations(found, 2):
        (same if pa == pb else different).append(float(ea @ eb))
    pos, neg = np.array(same), np.array(different)
    threshold, accuracy = best_threshold(pos, neg)
    labels = np.concatenate([np.ones(len(pos), bool), np.zeros(len(neg), bool)])
    fixed = np.concatenate([pos, neg]) >= FACE_THRESHOLD
    return {
        "identities": len(FACE_PHOTOS),
        "photos": list(FACE_PHOTOS),
        "images": len(found) + undetected,
        "undetected": undetected,
        "same_pairs": len(pos),
        "different_pairs": len(neg),
        "roc_auc": round(roc_auc(pos, neg), 4),
        "best_threshold": round(threshold, 3),
        "accuracy_at_best": round(accuracy, 3),
        "fixed_threshold": FACE_THRESHOLD,
        "accuracy_at_fixed": round(float((fixed == labels).mean()), 3) if len(labels) else 0.0,
        "same_similarity": _spread(pos),
        "different_similarity": _spread(neg),
    }


def _spread(values: np.ndarray) -> dict[str, float]:
    if not len(values):
        return {"min": 0.0, "mean": 0.0, "max": 0.0}
    return {
        k: round(float(f(values)), 3)
        for k, f in (("min", np.min), ("mean", np.mean), ("max", np.max))
    }


PLATE_FORMATS = ("LL DD LL DDDD", "LLDD LLL", "DDD-LLL", "LLL DDDD", "DDLL DDD")
"""Plate patterns (L letter, D digit): Indian, British, US-style, and two generic ones."""
PLATE_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX)
PLATE_COLOURS = ((255, 255, 255), (250, 210, 40), (235, 235, 225))


def plate_text(rng: np.random.Generator) -> str:
    """A random plate number in one of `PLATE_FORMATS`."""
    pattern = str(rng.choice(PLATE_FORMATS))
    pick = {"L": string.ascii_uppercase, "D": string.digits}
    return "".join(str(rng.choice(list(pick[c]))) if c in pick else c for c in pattern)


def render_plate(text: str, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """`text` on a bordered plate, warped in perspective onto a grey scene, blurred, noisy."""
    font = int(rng.choice(PLATE_FONTS))
    scale = float(rng.uniform(0.8, 1.6))
    thick = max(1, round(scale * float(rng.uniform(1.6, 2.4))))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    pad = round(th * 0.6)
    plate = np.full(
        (th + base + 2 * pad, tw + 2 * pad, 3), PLATE_COLOURS[rng.integers(3)], np.uint8
    )
    cv2.putText(plate, text, (pad, pad + th), font, scale, (20, 20, 20), thick, cv2.LINE_AA)
    ph, pw = plate.shape[:2]
    cv2.rectangle(plate, (1, 1), (pw - 2, ph - 2), (30, 30, 30), 2)
    sh, sw = ph * 3, pw + 2 * ph
    scene = np.full((sh, sw, 3), int(rng.integers(60, 160)), np.uint8)
    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    angle = np.radians(rng.uniform(-6, 6))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centred = (corners - [pw / 2, ph / 2]) @ rot.T + [sw / 2, sh / 2]
    target = (centred + rng.uniform(-0.06, 0.06, (4, 2)) * [pw, ph]).astype(np.float32)
    warp = cv2.getPerspectiveTransform(corners, target)
    cv2.warpPerspective(plate, warp, (sw, sh), dst=scene, borderMode=cv2.BORDER_TRANSPARENT)
    sigma = float(rng.uniform(0, 1.5))
    blurred = cv2.GaussianBlur(scene, (0, 0), sigma) if sigma > 0.3 else scene
    noisy = blurred + rng.normal(0, rng.uniform(0, 8), scene.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def plate_key(text: str, *, fold: bool = False) -> str:
    """What identifies a plate: upper-case letters, digits and dashes, spaces dropped.

    `fold` also maps O to 0 and I to 1, which the Hershey fonts draw (nearly) alike.
    """
    key = "".join(c for c in text.upper() if c.isalnum() or c == "-")
    return key.translate(_FOLD) if fold else key


_FOLD = str.maketrans("OI", "01")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def plate_ocr(count: int = 40, seed: int = 0) -> dict[str, Any]:
    """`read_text` on `count` rendered plates: exact match and character error rate.

    A plate reads right when its `plate_key` (spaces dropped) equals the truth's; CER is the
    edit distance between keys over the truth's length. ``exact_with_spaces`` also asks for
    the spacing as rendered; ``exact_o0_i1_folded`` forgives O/0 and I/1 (see `plate_key`).
    """
    from senri.engine.operator import Device
    from senri.operators.ocr import TextReader, read_text

    reader = TextReader.load(Device("cpu"))
    rng = np.random.default_rng(seed)
    right = folded = spaced = errors = chars = 0
    wrong: list[dict[str, str]] = []
    for _ in range(count):
        text = plate_text(rng)
        read = " ".join(t for _, t, _ in read_text(render_plate(text, rng), reader))
        want, got = plate_key(text), plate_key(read)
        errors += edit_distance(want, got)
        chars += len(want)
        right += want == got
        folded += plate_key(text, fold=True) == plate_key(read, fold=True)
        spaced += " ".join(read.split()) == text
        if want != got:
            wrong.append({"plate": text, "read": read})
    return {
        "plates": count,
        "exact": round(right / count, 3) if count else 0.0,
        "exact_with_spaces": round(spaced / count, 3) if count else 0.0,
        "exact_o0_i1_folded": round(folded / count, 3) if count else 0.0,
        "cer": round(errors / chars, 4) if chars else 0.0,
        "wrong": wrong,
    }
