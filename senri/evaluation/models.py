"""Evaluations of the vision models: COCO detectors on real and synthetic images, colour naming.

``evaluate("detector/coco")`` (and ``detector/nanodet``) runs the detector on a generated
street world and on 34 hand-boxed real photos (`senri.evaluation.detector`): AP50, recall and
false positives, per label too. It also scores `colour_name` (used by the colour and
attribute operators on the detector's boxes) on a generated palette of CSS named colours, at
full brightness and in shade, each with the name a person would give it.

``vision.track`` (CLEAR-MOT on sample worlds and hard hand-made sequences), ``faces/embed``
(verification on augmented face photos) and ``ocr/rec`` (rendered licence plates) live in
`senri.evaluation.vision`, ``image/embed`` (augmented and cross-vendor sticker recall, font
identification) in `senri.evaluation.embed`; each evaluation has a printer in `REPORTERS`.

Example:
    >>> result = evaluate("detector/coco")          # doctest: +SKIP
    >>> result["photos"]["ap50"], result["colour_naming"]["accuracy"]
    (0.61, 0.97)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from senri.evaluation import detector as eval_detector
from senri.evaluation import embed as eval_embed
from senri.evaluation import vision as eval_vision
from senri.operators.colour import colour_name

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


def detector_summary(model: str) -> dict[str, Any]:
    """`model` on the synthetic street frames and the hand-boxed photos: AP50, recall, false
    positives, per-label AP50 and recall (`senri.evaluation.detector`)."""
    out: dict[str, Any] = {}
    for name, found in (
        ("synthetic", eval_detector.street_frames()),
        ("photos", eval_detector.photos()),
    ):
        s = eval_detector.evaluate(model, found)
        by_label: dict[str, list[bool]] = {}
        for _, label, hit, _, _ in s.rows:
            by_label.setdefault(label, []).append(hit)
        out[name] = {
            "images": len(found),
            "objects": s.objects,
            "ap50": round(s.map50, 4),
            "recall": round(s.recall, 4),
            "false_positives": s.false_positives,
            "ap50_by_label": {k: round(v, 4) for k, v in s.ap50.items()},
            "recall_by_label": {
                k: round(float(np.mean(v)), 3) for k, v in sorted(by_label.items())
            },
        }
    return out


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
    "detector/coco": lambda: {
        **detector_summary("detector/coco"),
        "colour_naming": colour_naming(),
    },
    "detector/nanodet": lambda: {**detector_summary("detector/nanodet")},
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
    detectors = [name for name in names if name.startswith("detector/")]
    if detectors:
        eval_detector.report(detectors, emit)
        naming = colour_naming()
        emit(f"colour naming: {naming['accuracy']:.0%} of {naming['samples']} palette colours")
        for miss in naming["misses"]:
            emit(
                f"  {miss['colour']} x{miss['brightness']}: {miss['got']}, want {miss['expected']}"
            )
    for name in names:
        if name not in detectors:
            REPORTERS[name](evaluate(name), emit)


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
    "vision.track": report_tracking,
    "faces/embed": report_faces,
    "ocr/rec": report_plates,
    "image/embed": eval_embed.report,
}
