"""The street world end to end: detector, tracker, person and vehicle attributes vs truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from senri.worlds import street
from senri.worlds.street.run import align, load_objects, run_street, tracks

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


def test_questions_over_the_street_run_match_truth(tmp_path: Path) -> None:
    """`senri ask` over what the real models stored: counts, plates, colours, times, refusals."""
    from senri.ask.engine import Asker
    from senri.ask.vocab import TextEmbedder, Vocabulary
    from senri.indexes.events.sqlite import SqliteEventStore
    from senri.worlds.street.run import plate_of

    result, _ = run_street(tmp_path, seed=7)
    truth = street.load_truth(tmp_path / street.TRUTH_NAME)
    store = SqliteEventStore(result.stores["events"])
    asker = Asker(store, places={"street1": "high street"}, vocab=Vocabulary(TextEmbedder.load()))
    expected = truth["summary"]["tracks"]
    assert asker.ask("how many people passed the high street?").short == str(expected["person"])
    assert asker.ask("how many motorbikes went by?").short == str(expected["motorcycle"])
    assert asker.ask("was a horse seen on street1?").short == "yes"
    assert asker.ask("did any buses pass?").short == "no"
    plates = asker.ask("what licence plates were read?")
    read = {plate_of(p) for p in plates.short.split(", ")}
    assert read == {plate_of(p) for p in truth["summary"]["plates"].values()}, plates.text
    assert plates.evidence and all(e.stream_id == "street1" for e in plates.evidence)
    assert asker.ask("what was said on street1?").refused  # a camera records no speech
    store.close()


def test_senri_ask_writes_evidence_thumbnails(tmp_path: Path) -> None:
    import json

    import cv2
    import numpy as np
    from typer.testing import CliRunner

    from senri.cli import app

    result, _ = run_street(tmp_path, seed=7)
    thumbs = tmp_path / "thumbs"
    out = CliRunner().invoke(
        app,
        [
            "ask", "was a motorcycle seen?", "--store", f"sqlite:{result.stores['events']}",
            "--media", str(tmp_path / "street.yaml"), "--thumbnails", str(thumbs), "--json",
        ],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    answer = json.loads(out.stdout)
    assert answer["short"] == "yes"
    paths = [e["thumbnail"] for e in answer["evidence"]]
    assert len(paths) == 2 and all(p and Path(p).is_file() for p in paths)
    for p in paths:
        image = cv2.imdecode(np.frombuffer(Path(p).read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and max(image.shape[:2]) == 320
