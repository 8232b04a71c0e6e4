"""'What is in the picture?': a picture described, and the detector threshold it uses.

The labelled set is scikit-image's photos (the `data/photos` card), each with what a person
sees in it; `MIN_SCORE` must keep every labelled object and drop everything else the
detector reports there.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from senri.ask.engine import Asker
from senri.ask.frame import MIN_SCORE
from senri.ask.vocab import Vocabulary
from senri.cli import app
from senri.engine.operator import Device
from senri.indexes.events.store import MemoryEventStore
from senri.models.photos import photo_path, sample_photo
from senri.operators.detect import DetectObjects
from senri.records import Event, Frame

pytestmark = pytest.mark.unit

LABELLED = {
    "astronaut.png": {"person"},
    "camera.png": {"person"},
    "coffee.png": {"cup", "dining table"},
    "horse.png": {"horse"},
    "motorcycle_left.png": {"motorcycle"},
    "page.png": set(),
    "text.png": set(),
    "rocket.jpg": set(),
}
"""What each photo shows, in COCO's words (the rocket is no COCO class; two are only text).
`chelsea.png` is left out: its cat is called a dog at 0.47, a wrong label no threshold fixes."""


def test_the_picture_threshold_separates_the_labelled_photos() -> None:
    op = DetectObjects(min_score=0.2)
    op.setup(Device("cpu"))
    kept, dropped = [], []  # each true object's best box; every other box
    for name, truth in LABELLED.items():
        (fd,) = op.process([Frame("p", 0, 0.0, 0.0, sample_photo(name))])
        best: dict[str, float] = {}
        for label, score in zip(fd.detections.data["label"], fd.detections.confidence, strict=True):
            if label in truth and label not in best:
                best[label] = float(score)  # boxes come best first
                kept.append((float(score), name, label))
            else:
                dropped.append((float(score), name, label))
        assert set(best) == truth, (name, fd.detections.data["label"])
    low_true = min(s for s, _, _ in kept)
    high_false = max(s for s, _, _ in dropped)
    assert high_false < MIN_SCORE <= low_true, (sorted(kept)[:3], sorted(dropped)[-3:])


def _ask_image(name: str) -> dict[str, object]:
    result = CliRunner().invoke(
        app, ["ask", "what is in the picture?", "--image", str(photo_path(name)), "--json"]
    )
    assert result.exit_code == 0, result.output
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_the_astronaut_is_a_person_with_a_face() -> None:
    answer = _ask_image("astronaut.png")
    assert "person" in str(answer["answer"]) and "face" in str(answer["answer"])
    assert answer["type"] == "describe" and not answer["refused"]


def test_the_coffee_photo_holds_a_cup() -> None:
    answer = _ask_image("coffee.png")
    assert "cup" in str(answer["answer"]), answer


def test_a_page_of_text_names_no_objects_but_reads_its_text() -> None:
    answer = _ask_image("page.png")
    value = answer["value"]
    assert isinstance(value, dict) and value["things"] == {} and value["faces"] == 0
    assert value["text"][0] == "Region-based segmentation"  # reading order, spaces kept
    assert _ask_image("text.png")["value"]["things"] == {}  # type: ignore[index]


def test_an_archived_moment_is_described_with_its_sounds() -> None:
    t = 1_790_000_000.0
    store = MemoryEventStore()
    store.put(
        [
            Event("a", "cam1", t, "motion", "object", 1.0, track_id=1,
                  attributes={"colour": "red"}),
            Event("b", "cam1", t + 1, "motion", "object", 1.0, track_id=1,
                  attributes={"colour": "red"}),
            Event("c", "cam1", t, "motion", "object", 1.0, track_id=2,
                  attributes={"colour": "blue"}),
            Event("s", "mic1", t - 1, "sound", "siren", 0.8, end_time=t + 3),
            Event("x", "cam1", t + 3600, "motion", "object", 1.0, track_id=3,
                  attributes={"colour": "green"}),
        ]
    )  # fmt: skip
    asker = Asker(store, now=t + 7200, vocab=Vocabulary())
    answer = asker.ask("describe the scene at 14:13")  # t is 14:13:20 UTC that day
    assert answer.text.startswith("1 red object and 1 blue object") or answer.text.startswith(
        "1 blue object and 1 red object"
    ), answer.text
    assert "siren" in answer.text and "green" not in answer.text
    refused = asker.ask("describe the scene")
    assert refused.refused and "say which" in refused.text
