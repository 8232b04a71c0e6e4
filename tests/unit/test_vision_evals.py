"""The vision evaluations of `senri models eval`: tracking, face verification, plate OCR.

Each runs on a small configuration; the bounds are the numbers measured when these were written
minus a margin (see docs/vision.md for the full-size results). The weights must be in the cache
(sockets are blocked here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from senri.evaluation import models as evaluate
from senri.evaluation import vision as eval_vision
from senri.evaluation.vision import MotAccumulator

pytestmark = pytest.mark.unit


def box(x: float, y: float = 0.0, size: float = 10.0) -> np.ndarray:
    return np.array([x, y, x + size, y + size], np.float32)


def test_mot_counts_switches_fragments_false_positives_and_misses() -> None:
    acc = MotAccumulator()
    acc.update({1: box(0), 2: box(50)}, {7: box(0), 8: box(50)})
    acc.update({1: box(2), 2: box(52)}, {8: box(2), 7: box(52)})  # the two tracks swap
    acc.update({1: box(4), 2: box(54)}, {8: box(4)})  # 2 missed
    acc.update({1: box(6), 2: box(56)}, {8: box(6), 7: box(56), 9: box(200)})  # 2 back, 1 FP
    s = acc.summary()
    assert (s["gt_boxes"], s["matches"], s["misses"], s["false_positives"]) == (8, 7, 1, 1)
    assert (s["id_switches"], s["fragmentations"]) == (2, 1)
    assert s["mota"] == pytest.approx(1 - (1 + 1 + 2) / 8, abs=1e-3)
    assert (s["gt_objects"], s["tracks"], s["misses_before_first_match"]) == (2, 3, 0)


def test_mot_keeps_a_continuing_pair_over_a_better_new_one() -> None:
    acc = MotAccumulator()
    acc.update({1: box(0)}, {5: box(0)})
    acc.update({1: box(0)}, {5: box(3), 6: box(0)})  # 5 still overlaps >= 0.5: no switch
    assert acc.summary()["id_switches"] == 0
    assert acc.summary()["false_positives"] == 1


def test_merge_recomputes_mota_from_counts() -> None:
    a, b = MotAccumulator(), MotAccumulator()
    a.update({1: box(0)}, {1: box(0)})
    b.update({1: box(0), 2: box(40)}, {})
    total = eval_vision.merge_summaries([a.summary(), b.summary()])
    assert (total["gt_boxes"], total["misses"], total["mota"]) == (3, 2, pytest.approx(0.333))


def test_tracking_on_a_sample_world(tmp_path: Path) -> None:
    # measured: MOTA 0.888, 0 ID switches, 4 objects 4 tracks, 9 of 10 misses before confirmation
    s = eval_vision.track_world(7, duration=10.0, root=tmp_path)
    assert s["mota"] >= 0.8
    assert s["id_switches"] == 0 and s["false_positives"] <= 3
    assert s["tracks"] == s["gt_objects"] >= 3
    assert s["misses"] - s["misses_before_first_match"] <= 3


def test_hard_sequences_show_the_tracker_losing_identities() -> None:
    crossing = eval_vision.track_hard(eval_vision.HARD_SEQUENCES["crossing head-on"], seed=0)
    hidden = eval_vision.track_hard(eval_vision.HARD_SEQUENCES["hidden"], seed=0)
    assert crossing["id_switches"] >= 1  # greedy IoU swaps two boxes meeting head-on
    assert hidden["tracks"] == 2 and hidden["id_switches"] == 1  # 8 frames > max_age
    assert min(crossing["mota"], hidden["mota"]) >= 0.6
    assert eval_vision.track_hard(eval_vision.HARD_SEQUENCES["hidden"], seed=0) == hidden


def test_face_verification_on_augmented_pairs() -> None:
    # measured with 5 copies each: AUC 1.0, 100 % at the best threshold, 95.6 % at 0.5
    r = eval_vision.face_verification(variants=5)
    assert (r["identities"], r["images"], r["undetected"]) == (2, 10, 0)
    assert (r["same_pairs"], r["different_pairs"]) == (20, 25)
    assert r["roc_auc"] >= 0.95 and r["accuracy_at_best"] >= 0.9
    assert r["accuracy_at_fixed"] >= 0.85
    assert r["same_similarity"]["mean"] > r["different_similarity"]["mean"] + 0.2
    lines: list[str] = []
    evaluate.report_faces(r, lines.append)
    assert "only 2 identities" in lines[0] and "ROC-AUC" in lines[1]


def test_plate_ocr_on_rendered_plates() -> None:
    # measured on 12 plates: 11 exact (one O read as 0), all right with O/0 I/1 folded
    r = eval_vision.plate_ocr(count=12)
    assert r["exact"] >= 0.75 and r["exact_o0_i1_folded"] >= 0.9
    assert r["cer"] <= 0.05
    assert len(r["wrong"]) == round((1 - r["exact"]) * 12)
    lines: list[str] = []
    evaluate.report_plates(r, lines.append)
    assert lines[0].startswith("ocr/rec: 12 rendered plates")


def test_plate_helpers() -> None:
    rng = np.random.default_rng(3)
    texts = [eval_vision.plate_text(rng) for _ in range(20)]
    assert all(t == t.upper() and 7 <= len(t) <= 13 for t in texts)
    assert eval_vision.plate_key("ka 05 mx-1") == "KA05MX-1"
    assert eval_vision.plate_key("IO 0I", fold=True) == "1001"
    assert eval_vision.edit_distance("KA05", "KA5") == 1
    assert eval_vision.edit_distance("", "AB") == 2
    assert eval_vision.roc_auc(np.array([0.9, 0.8]), np.array([0.1, 0.8])) == pytest.approx(0.875)


def test_every_evaluation_has_a_reporter() -> None:
    # detectors are printed together, in one table, by senri.evaluation.detector.report
    detectors = {name for name in evaluate.EVALUATIONS if name.startswith("detector/")}
    assert detectors == {"detector/coco", "detector/nanodet"}
    assert set(evaluate.EVALUATIONS) - detectors == set(evaluate.REPORTERS)
    assert {"vision.track", "faces/embed", "ocr/rec"} <= set(evaluate.EVALUATIONS)
    with pytest.raises(ValueError, match="no vision evaluation"):
        evaluate.evaluate("nope")
