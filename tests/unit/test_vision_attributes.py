"""Person and vehicle attributes on generated scenes with known answers, then on a real photo.

The scenes are painted with OpenCV and their detections placed by hand, so the geometry and
colour logic is checked without the detector; only the last test runs `vision.detect` (on
scikit-image's astronaut photo, from the ``data/photos`` card).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from senri.engine.memory import run_in_memory
from senri.engine.operator import Device, OperatorRegistry
from senri.errors import ModelUnavailableError
from senri.evaluation.models import evaluate, report
from senri.models.photos import sample_photo
from senri.models.registry import resolve
from senri.operators.attributes import (
    FLAGS,
    PersonAttributes,
    VehicleAttributes,
    plate_text,
    plurality_colour,
    rides,
)
from senri.operators.colour import DominantColour
from senri.operators.detect import DetectObjects
from senri.operators.ocr import TextReader
from senri.records import Detections, Frame, FrameDetections

pytestmark = pytest.mark.unit

RGB = tuple[int, int, int]
Objects = list[tuple[str, tuple[float, ...]]]

GROUND = (128, 128, 128)
RED, BLUE, GREEN, YELLOW = (220, 30, 30), (30, 40, 200), (30, 160, 40), (230, 210, 20)
PERSON = (200, 100, 280, 340)  # 80 x 240: an upright, whole person


def frame(image: np.ndarray) -> Frame:
    return Frame("cam", 0, 0.0, 0.0, image)


def painted_person(
    box: tuple[int, int, int, int] = PERSON, upper: RGB = RED, lower: RGB = BLUE
) -> np.ndarray:
    """A grey scene with a person-shaped block: skin head, `upper` torso, `lower` legs."""
    image = np.full((480, 640, 3), GROUND, np.uint8)
    x1, y1, x2, y2 = box
    h = y2 - y1
    cv2.rectangle(image, (x1 + 20, y1), (x2 - 20, y1 + int(0.15 * h)), (230, 190, 160), -1)
    cv2.rectangle(image, (x1, y1 + int(0.15 * h)), (x2, y1 + int(0.55 * h)), upper, -1)
    cv2.rectangle(image, (x1 + 10, y1 + int(0.55 * h)), (x2 - 10, y2), lower, -1)
    return image


def scene(objects: Objects, image: np.ndarray | None = None) -> FrameDetections:
    """FrameDetections of `objects` (label, box) on `image` (a painted person by default)."""
    dets = Detections.create(
        [box for _, box in objects],
        data={"label": np.array([label for label, _ in objects], dtype=object)},
    )
    return FrameDetections(frame(painted_person() if image is None else image), dets)


def person_row(objects: Objects, row: int = 0) -> dict[str, object]:
    (out,) = PersonAttributes().process([scene(objects)])
    return {k: v[row] for k, v in out.detections.data.items()}


# -- people: what they carry and ride ------------------------------------------------------------

# (object, its box, the column it sets, expected) — each object in a place it is carried and in
# one it is not; the person is PERSON (x 200..280, y 100..340).
CARRY_TABLE = [
    ("backpack", (205, 150, 265, 230), "backpack", True),
    ("backpack", (420, 300, 480, 380), "backpack", False),  # on the ground, far off
    ("handbag", (265, 220, 300, 260), "handbag", True),  # at the hip, beside the body
    ("handbag", (150, 60, 330, 340), "handbag", False),  # larger than a bag can be
    ("suitcase", (285, 270, 335, 338), "suitcase", True),  # rolled beside the feet
    ("suitcase", (285, 120, 335, 190), "suitcase", False),  # floating at chest height
    ("umbrella", (170, 40, 310, 110), "umbrella", True),  # canopy over the head
    ("umbrella", (400, 300, 520, 360), "umbrella", False),  # open on the ground, aside
    ("cell phone", (250, 110, 262, 130), "phone", True),  # held to the ear
    ("cell phone", (230, 320, 242, 338), "phone", False),  # at the feet: dropped, not used
    ("motorcycle", (170, 220, 330, 360), "riding", True),  # under the rider
    ("motorcycle", (300, 250, 460, 345), "riding", False),  # parked beside
    ("bicycle", (180, 230, 320, 345), "riding", True),
]


@pytest.mark.parametrize(("label", "box", "column", "expected"), CARRY_TABLE)
def test_carried_and_ridden_objects_follow_geometry(
    label: str, box: tuple[int, ...], column: str, expected: bool
) -> None:
    row = person_row([("person", PERSON), (label, box)])
    assert row[column] is expected
    assert all(row[other] is False for other in FLAGS if other != column)


def test_an_object_goes_to_the_one_person_it_overlaps_most() -> None:
    near, far = (200, 100, 280, 340), (262, 110, 342, 350)
    bag = ("handbag", (268, 220, 300, 260))  # fits both zones; mostly inside `far`
    (out,) = PersonAttributes().process([scene([("person", near), ("person", far), bag])])
    assert list(out.detections.data["handbag"]) == [False, True, None]


def test_every_rider_of_one_motorcycle_rides() -> None:
    rider, pillion = (200, 100, 280, 340), (240, 110, 320, 345)
    (out,) = PersonAttributes().process(
        [scene([("person", rider), ("person", pillion), ("motorcycle", (170, 220, 350, 360))])]
    )
    assert list(out.detections.data["riding"]) == [True, True, None]


def test_rides_needs_the_person_over_the_vehicle() -> None:
    bike = np.array([100, 200, 300, 300], np.float32)
    assert rides(np.array([150, 80, 230, 290], np.float32), bike)
    assert not rides(np.array([150, 220, 230, 460], np.float32), bike)  # head below the bars
    assert not rides(np.array([320, 80, 400, 300], np.float32), bike)  # no overlap
    assert not rides(np.array([150, 80, 230, 180], np.float32), bike)  # legs don't reach it


def test_weak_detections_count_for_nothing() -> None:
    dets = Detections.create(
        [PERSON, (205, 150, 265, 230)],
        confidence=[0.9, 0.2],
        data={"label": np.array(["person", "backpack"], dtype=object)},
    )
    (out,) = PersonAttributes(min_score=0.3).process(
        [FrameDetections(frame(painted_person()), dets)]
    )
    assert out.detections.data["backpack"][0] is False


# -- people: what they wear ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upper", "lower", "names"),
    [(RED, BLUE, ("red", "blue")), (GREEN, (20, 20, 20), ("green", "black")),
     ((240, 240, 240), YELLOW, ("white", "yellow"))],
)  # fmt: skip
def test_clothing_colours_come_from_torso_and_legs(
    upper: RGB, lower: RGB, names: tuple[str, str]
) -> None:
    image = painted_person(upper=upper, lower=lower)
    (out,) = PersonAttributes().process([scene([("person", PERSON)], image)])
    data = out.detections.data
    assert (data["upper_colour"][0], data["lower_colour"][0]) == names


def test_a_head_and_shoulders_box_has_no_legs() -> None:
    image = np.full((480, 640, 3), GROUND, np.uint8)
    cv2.rectangle(image, (200, 380), (440, 479), GREEN, -1)  # shoulders at the frame's bottom
    (out,) = PersonAttributes().process([scene([("person", (200, 200, 440, 480))], image)])
    assert out.detections.data["upper_colour"][0] == "green"
    assert out.detections.data["lower_colour"][0] == ""


def test_other_detections_stay_as_they_were_and_events_carry_only_theirs() -> None:
    fd = scene(
        [("person", PERSON), ("car", (400, 300, 600, 420)), ("backpack", (205, 150, 265, 230))]
    )
    (out,) = PersonAttributes().process([fd])
    d = out.detections
    np.testing.assert_array_equal(d.xyxy, fd.detections.xyxy)
    assert list(d.data["label"]) == ["person", "car", "backpack"]
    assert list(d.data["backpack"]) == [True, None, None]
    person, car, _ = out.to_events()
    assert person.attributes["backpack"] is True and person.attributes["upper_colour"] == "red"
    assert "backpack" not in car.attributes and "upper_colour" not in car.attributes


def test_a_frame_without_people_gets_empty_columns() -> None:
    (out,) = PersonAttributes().process([scene([("car", (10, 10, 200, 120))])])
    assert out.detections.data["riding"].tolist() == [None]
    (empty,) = PersonAttributes().process([scene([])])
    assert len(empty.detections) == 0 and "backpack" in empty.detections.data


# -- vehicles ------------------------------------------------------------------------------------

CAR = (120, 150, 520, 350)


def painted_car(body: RGB = RED, plate: str | None = "KA05MX1234") -> np.ndarray:
    """A side/rear-ish car: dark windows on top, `body` below, black wheels, a white plate."""
    image = np.full((480, 640, 3), GROUND, np.uint8)
    cv2.rectangle(image, (120, 230), (520, 330), body, -1)  # body
    cv2.rectangle(image, (190, 150), (450, 230), body, -1)  # cabin
    cv2.rectangle(image, (205, 162), (435, 225), (25, 35, 60), -1)  # windows
    for cx in (190, 450):
        cv2.circle(image, (cx, 325), 26, (15, 15, 15), -1)
    if plate is not None:
        cv2.rectangle(image, (215, 272), (425, 322), (255, 255, 255), -1)
        cv2.rectangle(image, (215, 272), (425, 322), (0, 0, 0), 2)
        cv2.putText(
            image, plate, (224, 308), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 2, cv2.LINE_AA
        )
    return image


@pytest.fixture(scope="module")
def reader() -> TextReader:
    try:
        resolve("ocr/det"), resolve("ocr/rec")
    except ModelUnavailableError as exc:
        pytest.fail(f"{exc} (unit tests never download)")
    return TextReader.load(Device("cpu"))


def vehicles(reader: TextReader, image: np.ndarray, objects: Objects) -> Detections:
    op = VehicleAttributes()
    op.reader = reader
    (out,) = op.process([scene(objects, image)])
    return out.detections


def test_car_colour_type_and_plate(reader: TextReader) -> None:
    d = vehicles(reader, painted_car(), [("car", CAR), ("person", PERSON)])
    assert (d.data["vehicle_type"][0], d.data["colour"][0], d.data["plate"][0]) == (
        "car",
        "red",
        "KA05MX1234",
    )
    assert d.data["vehicle_type"][1] is None and d.data["plate"][1] is None


@pytest.mark.parametrize(
    ("body", "name"),
    [(BLUE, "blue"), ((235, 235, 235), "white"), ((20, 20, 20), "black"), (YELLOW, "yellow")],
)
def test_car_colour_ignores_windows_wheels_and_plate(
    reader: TextReader, body: RGB, name: str
) -> None:
    d = vehicles(reader, painted_car(body=body), [("truck", CAR)])
    assert (d.data["vehicle_type"][0], d.data["colour"][0]) == ("truck", name)


def test_no_plate_means_an_empty_string(reader: TextReader) -> None:
    d = vehicles(reader, painted_car(plate=None), [("bus", CAR)])
    assert d.data["plate"].tolist() == [""]


def test_plates_can_be_switched_off() -> None:
    op = VehicleAttributes(plates=False)
    (out,) = op.process([scene([("car", CAR)], painted_car())])
    assert "plate" not in out.detections.data and op.reader is None
    assert out.detections.data["colour"].tolist() == ["red"]


@pytest.mark.parametrize(
    ("lines", "plate"),
    [([("TOYOTA", 0.99), ("ka-05 mx 1234", 0.95)], "KA05MX1234"), ([("TOYOTA", 0.99)], ""),
     ([("MH12AB3456", 0.5)], ""), ([("AB1", 0.8), ("XY 77", 0.9)], "XY77"), ([], "")],
)  # fmt: skip
def test_plate_text_keeps_the_best_plate_like_line(
    lines: list[tuple[str, float]], plate: str
) -> None:
    assert plate_text(lines) == plate


def test_plurality_colour_is_not_fooled_by_a_mix() -> None:
    pixels = np.array([RED] * 50 + [(0, 0, 0)] * 30 + [(255, 255, 255)] * 20, np.uint8)
    assert plurality_colour(pixels) == "red" and plurality_colour(pixels[:0]) == ""


# -- in a graph and on a real photo --------------------------------------------------------------


def test_where_downstream_can_use_the_new_columns() -> None:
    ops = OperatorRegistry()
    ops.register(PersonAttributes)
    ops.register(DominantColour)
    carrying = scene([("person", PERSON), ("backpack", (205, 150, 265, 230))])
    empty_handed = scene([("person", PERSON), ("car", (400, 300, 600, 420))])
    nodes = {
        "people": {"op": "vision.person_attributes", "from": "items"},
        "bags": {"op": "vision.colour", "from": "people", "where": "backpack == True"},
    }
    items, _ = run_in_memory(nodes, [carrying, empty_handed], input_type=FrameDetections, ops=ops)
    kept = {len(fd.detections) for fd in items}
    assert len(items) == 2 and kept == {0, 1}
    (bag,) = [fd.detections for fd in items if len(fd.detections)]
    assert bag.data["label"].tolist() == ["person"] and bag.data["colour"].tolist() == ["red"]
    assert set(PersonAttributes.fields) >= {"backpack", "riding", "upper_colour"}


def astronaut() -> np.ndarray:
    return sample_photo("astronaut.png")


def test_detect_then_attributes_on_the_astronaut() -> None:
    try:
        resolve("detector/coco")
    except ModelUnavailableError as exc:
        pytest.fail(f"{exc} (unit tests never download)")
    (found,) = DetectObjects().process([frame(astronaut())])
    (out,) = PersonAttributes().process([found])
    d = out.detections
    people = [i for i, label in enumerate(d.data["label"]) if label == "person"]
    assert len(people) == 1
    row = {k: v[people[0]] for k, v in d.data.items()}
    # The suit is "international orange", RGB about (209, 95, 63): hue 13 degrees, which
    # colour_name's bins call red (red ends at 16 degrees). The box is head and shoulders,
    # cut by the frame's bottom, so there are no legs to name.
    assert row["upper_colour"] == "red"
    assert row["lower_colour"] == ""
    assert not any(row[name] for name in FLAGS)


def test_evaluate_detector_coco_on_street_frames_and_hand_boxed_photos() -> None:
    if not Path("/usr/share/gcompris-qt/rcc").is_dir():
        pytest.skip("Debian's gcompris-qt-data is not installed (scripts/setup.sh --dev)")
    result = evaluate("detector/coco")
    assert result["synthetic"]["recall"] >= 0.9
    assert result["photos"]["recall_by_label"]["person"] == 1.0
    assert result["photos"]["recall_by_label"]["motorcycle"] == 1.0
    assert result["photos"]["objects"] >= 40 and result["photos"]["ap50"] >= 0.5
    assert result["colour_naming"]["accuracy"] >= 0.9
    lines: list[str] = []
    report(["detector/coco"], lines.append)
    assert lines[0].startswith("COCO detectors: AP50")
    assert any(ln.split()[:2] == ["detector/coco", "photos"] for ln in lines)
    assert any(ln.startswith("colour naming:") for ln in lines)
    with pytest.raises(ValueError, match="no vision evaluation"):
        evaluate("nope")
