"""Evaluations of the vision models: COCO detector recall on real photos, colour naming.

``evaluate("detector/coco")`` runs the detector on scikit-image's sample photos (the
``data/photos`` card, `senri.models.photos`) and compares with boxes drawn by hand in
``senri/evaluation/data/vision_boxes.json``: an object is found when a detection of the same
label overlaps it with IoU >= 0.5. It also scores `colour_name` (used by the colour and
attribute operators on the detector's boxes) on a generated palette of CSS named colours, at
full brightness and in shade, each with the name a person would give it.

Five photos are a smoke test that shows the converted model works and catches regressions;
they are not a measure of accuracy in the field.

``vision.track`` (CLEAR-MOT on sample worlds and hard hand-made sequences), ``faces/embed``
(verification on augmented face photos) and ``ocr/rec`` (rendered licence plates) live in
`senri.evaluation.vision`, ``image/embed`` (augmented and cross-vendor sticker recall, font
identification) in `senri.evaluation.embed`; each evaluation has a printer in `REPORTERS`.

Example:
    >>> result = evaluate("detector/coco")          # doctest: +SKIP
    >>> result["recall_by_label"]["person"], result["colour_naming"]["accuracy"]
    (1.0, 0.97)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from senri.boxes import iou
from senri.device import Device
from senri.evaluation import embed as eval_embed
from senri.evaluation import vision as eval_vision
from senri.models.photos import sample_photo
from senri.operators.colour import colour_name

BOXES = Path(__file__).resolve().parent / "data" / "vision_boxes.json"
MIN_IOU = 0.5

# (expected name, CSS colour name, RGB): colours whose everyday name is not in doubt.
PALETTE: tuple[tuple[str, str, tuple[int, int, int]], ...] = (
    ("red", "red", (255, 0, 0)),
    ("red", "darkred", (139, 0, 0)),
    ("red", "crimson", (220, 20, 60)),
    ("red", "firebrick", (178, 34, 34)),
    ("orange", "orange", (255, 165, 0)),
    ("orange", "darkorange", (255, 140, 0)),
    ("orange", "chocolate", (210, 105, 30)),
    ("yellow", "yellow", (255, 255, 0)),
    ("yellow", "gold", (255, 215, 0)),
    ("green", "green", (0, 128, 0)),
    ("green", "lime", (0, 255, 0)),
    ("green", "forestgreen", (34, 139, 34)),
    ("green", "seagreen", (46, 139, 87)),
    ("cyan", "cyan", (0, 255, 255)),
    ("cyan", "darkturquoise", (0, 206, 209)),
    ("cyan", "teal", (0, 128, 128)),
    ("blue", "blue", (0, 0, 255)),
    ("blue", "navy", (0, 0, 128)),
    ("blue", "royalblue", (65, 105, 225)),
    ("blue", "dodgerblue", (30, 144, 255)),
    ("purple", "purple", (128, 0, 128)),
    ("purple", "darkviolet", (148, 0, 211)),
    ("purple", "indigo", (75, 0, 130)),
    ("pink", "hotpink", (255, 105, 180)),
    ("pink", "deeppink", (255, 20, 147)),
    ("pink", "magenta", (255, 0, 255)),
    ("black", "black", (0, 0, 0)),
    ("black", "jet", (30, 30, 30)),
    ("white", "white", (255, 255, 255)),
    ("white", "whitesmoke", (245, 245, 245)),
    ("grey", "grey", (128, 128, 128)),
    ("grey", "darkgray", (169, 169, 169)),
    ("grey", "dimgray", (105, 105, 105)),
)
SHADE = 0.8  # the palette is scored as given and at this brightness (cloth in shade)


def detector_recall(boxes_file: Path = BOXES, min_score: float = 0.3) -> dict[str, Any]:
    """Per-object hits of ``detector/coco`` on the hand-boxed photos, and recall per label."""
    from senri.models import onnx
    from senri.models.cards import COCO_LABELS
    from senri.operators.detect import CenterNet

    if not boxes_file.is_file():
        raise ValueError(f"no hand-drawn boxes at {boxes_file} (they live in a source checkout)")
    truth = json.loads(boxes_file.read_text())["images"]
    session = onnx.load("detector/coco", Device("cpu"), threads=2)
    model = CenterNet(session, min_score=min_score)
    objects: list[dict[str, Any]] = []
    for entry in truth:
        ((boxes, scores, classes),) = model.detect([sample_photo(entry["file"])])
        labels = [COCO_LABELS[int(c)] for c in classes]
        for obj in entry["objects"]:
            want = np.asarray(obj["box"], np.float32)
            ious = [
                iou(want, b) if lab == obj["label"] else 0.0
                for b, lab in zip(boxes, labels, strict=True)
            ]
            best = int(np.argmax(ious)) if ious else -1
            hit = best >= 0 and ious[best] >= MIN_IOU
            said = [
                f"{lab} {s:.2f}"
                for lab, b, s in zip(labels, boxes, scores, strict=True)
                if iou(want, b) >= MIN_IOU
            ]
            objects.append(
                {
                    "file": entry["file"],
                    "label": obj["label"],
                    "found": bool(hit),
                    "iou": round(ious[best], 3) if best >= 0 else 0.0,
                    "score": round(float(scores[best]), 3) if hit else 0.0,
                    "detections_there": said,
                }
            )
    by_label: dict[str, list[bool]] = {}
    for obj in objects:
        by_label.setdefault(obj["label"], []).append(obj["found"])
    return {
        "objects": objects,
        "recall": round(float(np.mean([o["found"] for o in objects])), 3) if objects else 0.0,
        "recall_by_label": {k: round(float(np.mean(v)), 3) for k, v in sorted(by_label.items())},
    }


def colour_naming() -> dict[str, Any]:
    """`colour_name` on `PALETTE`, as given and in shade: accuracy and the misses."""
    misses, total = [], 0
    for expected, css, rgb in PALETTE:
        for factor in (1.0, SHADE):
            shaded = np.round(np.asarray(rgb, np.float64) * factor).astype(np.uint8)
            got = colour_name(shaded)
            total += 1
            if got != expected:
                misses.append(
                    {"colour": css, "brightness": factor, "expected": expected, "got": got}
                )
    return {"accuracy": round(1 - len(misses) / total, 3), "samples": total, "misses": misses}


EVALUATIONS: dict[str, Callable[[], dict[str, Any]]] = {
    "detector/coco": lambda: {**detector_recall(), "colour_naming": colour_naming()},
    "vision.track": eval_vision.tracking,
    "faces/embed": eval_vision.face_verification,
    "ocr/rec": eval_vision.plate_ocr,
    "image/embed": eval_embed.image_embed,
}


def evaluate(name: str) -> dict[str, Any]:
    """The evaluation of model `name` as a JSON-able dict (see the module docstring)."""
    if name not in EVALUATIONS:
        raise ValueError(f"no vision evaluation for {name!r}; known: {', '.join(EVALUATIONS)}")
    return {"model": name, **EVALUATIONS[name]()}


def report(names: list[str], emit: Callable[[str], Any]) -> None:
    """Print the evaluations of `names` line by line through `emit` (as `eval_audio.report`)."""
    for name in names:
        result = evaluate(name)
        REPORTERS[name](result, emit)


def report_detector(result: dict[str, Any], emit: Callable[[str], Any]) -> None:
    """Print the ``detector/coco`` evaluation through `emit`."""
    emit(f"detector/coco: recall {result['recall']:.0%} (IoU >= {MIN_IOU}) on hand-boxed photos")
    for obj in result["objects"]:
        mark = "found" if obj["found"] else "missed"
        there = ", ".join(obj["detections_there"]) or "nothing"
        where = f"{obj['file']:<20} {obj['label']:<10}"
        emit(f"  {where} {mark:<6} iou {obj['iou']:.2f}  there: {there}")
    naming = result["colour_naming"]
    emit(f"  colour naming: {naming['accuracy']:.0%} of {naming['samples']} palette colours")
    for miss in naming["misses"]:
        seen = f"{miss['colour']} x{miss['brightness']}"
        emit(f"    {seen}: {miss['got']}, want {miss['expected']}")


def report_tracking(result: dict[str, Any], emit: Callable[[str], Any]) -> None:
    """Print the ``vision.track`` evaluation through `emit`."""
    emit(f"vision.track: CLEAR-MOT, boxes matched at IoU >= {result['min_iou']}")
    for w in result["worlds"]:
        emit(f"  world seed {w['seed']:<4} {_mot_line(w)}")
    emit(f"  worlds, all   {_mot_line(result['worlds_total'])}")
    emit(f"  Tracker alone on noisy boxes with dropouts ({result['hard_runs']} runs each):")
    for name, summary in result["hard"].items():
        emit(f"    {name:<16} {_mot_line(summary)}")


def _mot_line(s: dict[str, Any]) -> str:
    return (
        f"MOTA {s['mota']:.3f}  IDsw {s['id_switches']}  frag {s['fragmentations']}  "
        f"FP {s['false_positives']}  miss {s['misses']}/{s['gt_boxes']} "
        f"({s['misses_before_first_match']} before first match)  "
        f"objects {s['gt_objects']} tracks {s['tracks']}  MOTP {s['motp_iou']:.2f}"
    )


def report_faces(result: dict[str, Any], emit: Callable[[str], Any]) -> None:
    """Print the ``faces/embed`` evaluation through `emit`."""
    same, diff = result["same_similarity"], result["different_similarity"]
    emit(
        f"faces/embed: verification on {result['images']} augmented copies of "
        f"{result['identities']} faces ({', '.join(result['photos'])}; only "
        f"{result['identities']} identities: a smoke test, not a benchmark)"
    )
    emit(
        f"  ROC-AUC {result['roc_auc']:.3f}; accuracy {result['accuracy_at_best']:.1%} at the "
        f"best threshold {result['best_threshold']:.3f}, {result['accuracy_at_fixed']:.1%} at "
        f"{result['fixed_threshold']}"
    )
    emit(
        f"  cosine same {same['min']:.2f}..{same['max']:.2f} (mean {same['mean']:.2f}) over "
        f"{result['same_pairs']} pairs, different {diff['min']:.2f}..{diff['max']:.2f} "
        f"(mean {diff['mean']:.2f}) over {result['different_pairs']}; "
        f"no face found in {result['undetected']}"
    )


def report_plates(result: dict[str, Any], emit: Callable[[str], Any]) -> None:
    """Print the ``ocr/rec`` (rendered plates) evaluation through `emit`."""
    emit(
        f"ocr/rec: {result['plates']} rendered plates, exact {result['exact']:.1%} "
        f"(with spacing {result['exact_with_spaces']:.1%}, O/0 I/1 folded "
        f"{result['exact_o0_i1_folded']:.1%}), CER {result['cer']:.2%}"
    )
    for miss in result["wrong"]:
        emit(f"  {miss['plate']!r} read {miss['read']!r}")


REPORTERS: dict[str, Callable[[dict[str, Any], Callable[[str], Any]], None]] = {
    "detector/coco": report_detector,
    "vision.track": report_tracking,
    "faces/embed": report_faces,
    "ocr/rec": report_plates,
    "image/embed": eval_embed.report,
}
