"""The street world end to end: detector, tracker, person and vehicle attributes vs truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from senri.scenes import street
from senri.scenes.summary import align, load_objects, run_street, tracks

pytestmark = pytest.mark.e2e


def test_street_tracks_colours_and_boxes_match_truth(tmp_path: Path) -> None:
    result, summary = run_street(tmp_path, seed=7)
    assert summary.dead_letters == 0
    assert summary.matches, summary.rows
    assert ("plates read", 2, 2) in summary.rows

    truth = street.load_truth(tmp_path / street.TRUTH_NAME)
    events = load_objects(result.stores["events"])
    assert len(tracks(events)) == sum(truth["summary"]["tracks"].values())
    for a in align(events, truth):
        # IoU >= 0.5 with the drawn box, with the right class, in most fully-visible frames
        assert a.visible >= 3 and a.rate >= 0.9, a
