"""`vision.person_attributes`, `vision.vehicle_attributes`: what people carry and wear; vehicles.

Both read the `vision.detect` output of one frame and add columns to the rows they describe,
leaving every other row as it was (their cells in the new columns are ``None``, which
`FrameDetections.to_events` leaves out, so a car event carries no ``backpack``).

People (label ``person``):

- ``backpack``, ``handbag``, ``suitcase``, ``umbrella``, ``phone``, ``riding`` (bool): from COCO
  co-occurrence geometry. An object counts for a person when its centre lies in the zone of the
  person box where that object is carried (a backpack or handbag by the torso, a phone by the
  head or hands, an umbrella over the head, a suitcase beside the feet) and it is not too large
  for it; each object goes to the one person it fits best. ``riding`` is a bicycle or motorcycle
  under the person: wide horizontal overlap, the person's top above the vehicle's, the person's
  legs reaching into its box. Every rider of one vehicle (a pillion too) counts.
- ``upper_colour``, ``lower_colour`` (a `COLOURS` name): `colour_name` of the per-channel median
  of the torso band and of the legs band of the box. A box cut off by the bottom of the frame
  and too wide for a whole standing body is a head-and-shoulders shot: its torso is lower down
  and its legs are not visible (``lower_colour == ""``).

So the accessories are seen, the operator needs the frame's other detections: put no `where`
on it that drops them (the local runtime masks detections before an operator sees them); it
only describes ``person`` rows anyway.

Vehicles (``car``, ``truck``, ``bus``, ``motorcycle``):

- ``vehicle_type``: the class; ``colour``: the most common colour name among the pixels of the
  lower-middle band of the box (windows, tyres and the plate are a minority there, and a
  plurality of names is not fooled by mixing them the way a channel median is);
- ``plate``: text read by PP-OCR (`senri.operators.ocr`) in the lower part of the box when a
  line looks like a plate (letters and digits, at least one digit, confident); ``""`` if none.

Example:
    >>> people = PersonAttributes()                      # doctest: +SKIP
    >>> (fd,) = people.process([detected])
    >>> fd.detections.data["upper_colour"]
    array(['white', None], dtype=object)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from senri.engine.operator import BatchPolicy, Device, Operator, Stateless, register
from senri.models.registry import ModelName
from senri.operators.colour import COLOURS, colour_name
from senri.operators.ocr import TextReader
from senri.records import Detections, FrameDetections

Box = npt.NDArray[np.float32]

PERSON = "person"
RIDDEN = ("bicycle", "motorcycle")
VEHICLES = ("car", "truck", "bus", "motorcycle")
FLAGS = ("backpack", "handbag", "suitcase", "umbrella", "phone", "riding")


@dataclass(frozen=True, slots=True)
class Zone:
    """Where an object's centre may lie relative to a person box, and how big it may be.

    ``u``/``v`` bound the centre in person-box fractions (0 = left/top edge, 1 = right/bottom);
    ``max_area`` is the object area over the person area; ``min_inside`` the share of the
    object's area inside the person box; ``bottom`` bounds the object's bottom edge in the same
    vertical fraction (``None``: any).
    """

    u: tuple[float, float]
    v: tuple[float, float]
    max_area: float
    min_inside: float = 0.0
    bottom: tuple[float, float] | None = None


# COCO label -> (column, zone). Calibrated on upright people seen roughly side-on or front-on.
CARRIED: dict[str, tuple[str, Zone]] = {
    "backpack": ("backpack", Zone(u=(-0.2, 1.2), v=(0.1, 0.7), max_area=0.6, min_inside=0.4)),
    "handbag": ("handbag", Zone(u=(-0.4, 1.4), v=(0.25, 0.9), max_area=0.35, min_inside=0.2)),
    "suitcase": (
        "suitcase",
        Zone(u=(-0.9, 1.9), v=(0.45, 1.05), max_area=1.0, bottom=(0.75, 1.2)),
    ),
    "umbrella": (
        "umbrella",
        Zone(u=(-0.3, 1.3), v=(-0.7, 0.35), max_area=3.0, bottom=(-0.1, 0.7)),
    ),
    "cell phone": ("phone", Zone(u=(-0.15, 1.15), v=(0.0, 0.65), max_area=0.05, min_inside=0.5)),
}


def _area(box: Box) -> float:
    return float(max(box[2] - box[0], 0) * max(box[3] - box[1], 0))


def _intersection(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return float(max(w, 0) * max(h, 0))


def fit(person: Box, obj: Box, zone: Zone) -> float:
    """How well `obj` sits in `zone` of `person`: 0 when it does not, else its share inside + 1.

    The score only ranks the people an object fits, so it goes to the one it overlaps most.
    """
    pw, ph = float(person[2] - person[0]), float(person[3] - person[1])
    if pw <= 0 or ph <= 0 or _area(obj) <= 0:
        return 0.0
    u = ((obj[0] + obj[2]) / 2 - person[0]) / pw
    v = ((obj[1] + obj[3]) / 2 - person[1]) / ph
    inside = _intersection(person, obj) / _area(obj)
    ok = (
        zone.u[0] <= u <= zone.u[1]
        and zone.v[0] <= v <= zone.v[1]
        and _area(obj) <= zone.max_area * pw * ph
        and inside >= zone.min_inside
    )
    if ok and zone.bottom is not None:
        ok = zone.bottom[0] <= (obj[3] - person[1]) / ph <= zone.bottom[1]
    return 1.0 + inside if ok else 0.0


def rides(person: Box, vehicle: Box) -> bool:
    """Whether `person` sits on `vehicle` (a bicycle or motorcycle box), by box geometry."""
    pw, vw = float(person[2] - person[0]), float(vehicle[2] - vehicle[0])
    vh = float(vehicle[3] - vehicle[1])
    if pw <= 0 or vw <= 0 or vh <= 0:
        return False
    overlap_x = min(person[2], vehicle[2]) - max(person[0], vehicle[0])
    return bool(
        overlap_x >= 0.5 * min(pw, vw)
        and person[1] < vehicle[1]  # head above the handlebars
        and (person[1] + person[3]) / 2 < (vehicle[1] + vehicle[3]) / 2
        and person[3] >= vehicle[1] + 0.25 * vh  # legs reach into the vehicle's box
        and person[3] <= vehicle[3] + 0.15 * vh
        and _intersection(person, vehicle) >= 0.2 * _area(person)
    )


def band(
    image: np.ndarray, box: Box, xs: tuple[float, float], ys: tuple[float, float]
) -> np.ndarray:
    """Pixels (N, 3) of the part of `box` between fractions `xs` and `ys` of its width/height."""
    x1, y1, x2, y2 = (float(c) for c in box)
    w, h = x2 - x1, y2 - y1
    top, bottom = round(y1 + ys[0] * h), round(y1 + ys[1] * h)
    left, right = round(x1 + xs[0] * w), round(x1 + xs[1] * w)
    top, left = max(top, 0), max(left, 0)
    patch = image[top : max(bottom, top + 1), left : max(right, left + 1)]
    return patch.reshape(-1, 3)


def median_colour(pixels: np.ndarray) -> str:
    """`colour_name` of the per-channel median; ``""`` when there are no pixels."""
    return colour_name(np.median(pixels, axis=0)) if len(pixels) else ""


def plurality_colour(pixels: np.ndarray, max_pixels: int = 2048) -> str:
    """The colour name most pixels get (ties: first in `COLOURS`); ``""`` without pixels.

    Pixels are subsampled with a fixed stride and quantised to steps of 4, then
    each distinct value is named once, so a large box costs a few hundred `colour_name` calls.
    """
    if not len(pixels):
        return ""
    pixels = pixels[:: max(1, len(pixels) // max_pixels)]
    values, counts = np.unique((pixels // 4) * 4 + 2, axis=0, return_counts=True)
    votes = dict.fromkeys(COLOURS, 0)
    for value, count in zip(values, counts, strict=True):
        votes[colour_name(value)] += int(count)
    return max(COLOURS, key=lambda name: votes[name])  # max keeps the first of equal counts


def clothing_colours(image: np.ndarray, person: Box) -> tuple[str, str]:
    """(upper, lower) colour names of a person box; lower is ``""`` when the legs are cut off."""
    x1, y1, x2, y2 = (float(c) for c in person)
    cut = y2 >= image.shape[0] - 2 and (y2 - y1) < 1.6 * (x2 - x1)
    if cut:  # head and shoulders: the torso fills the bottom of the box
        return median_colour(band(image, person, (0.3, 0.7), (0.65, 0.95))), ""
    upper = median_colour(band(image, person, (0.3, 0.7), (0.22, 0.48)))
    lower = median_colour(band(image, person, (0.3, 0.7), (0.6, 0.85)))
    return upper, lower


def _column(d: Detections, name: str) -> np.ndarray:
    """A writable object copy of column `name`, or ``None`` everywhere when it is absent."""
    if name in d.data:
        return np.array(d.data[name], dtype=object)
    return np.full(len(d), None, dtype=object)


def _labels(d: Detections) -> list[str]:
    labels = d.data.get("label")
    return ["" if labels is None else str(labels[i]) for i in range(len(d))]


def describe_people(fd: FrameDetections, *, min_score: float = 0.3) -> FrameDetections:
    """`fd` with the person columns filled for its ``person`` rows (see the module docstring)."""
    d = fd.detections
    labels = _labels(d)
    people = [i for i, label in enumerate(labels) if label == PERSON]
    columns = {name: _column(d, name) for name in (*FLAGS, "upper_colour", "lower_colour")}
    for i in people:
        for name in FLAGS:
            columns[name][i] = False
        upper, lower = clothing_colours(fd.frame.image, d.xyxy[i])
        columns["upper_colour"][i], columns["lower_colour"][i] = upper, lower
    for j, label in enumerate(labels):
        if not people or d.confidence[j] < min_score:
            continue
        if label in CARRIED:
            name, zone = CARRIED[label]
            scores = [fit(d.xyxy[i], d.xyxy[j], zone) if i != j else 0.0 for i in people]
            if max(scores) > 0:
                columns[name][people[int(np.argmax(scores))]] = True
        elif label in RIDDEN:
            for i in people:
                if rides(d.xyxy[i], d.xyxy[j]):
                    columns["riding"][i] = True
    return replace(fd, detections=d.with_columns(**columns))


@register
class PersonAttributes(Stateless, Operator[FrameDetections, FrameDetections]):
    """Add what each person carries, rides and wears; see the module docstring for how."""

    name = "vision.person_attributes"
    input_type = FrameDetections
    output_type = FrameDetections
    batch = BatchPolicy(max_size=16, max_wait_ms=10)
    fields = (*FLAGS, "upper_colour", "lower_colour")

    def __init__(self, min_score: float = 0.3) -> None:
        if not 0 <= min_score < 1:
            raise ValueError("min_score must be within [0, 1)")
        self.min_score = min_score

    def process(self, items: list[FrameDetections]) -> list[FrameDetections]:
        return [describe_people(fd, min_score=self.min_score) for fd in items]


_PLATE_CHARS = re.compile(r"[^A-Z0-9]")


def plate_text(lines: list[tuple[str, float]], *, min_score: float = 0.7) -> str:
    """The most confident line that looks like a plate, or ``""``: its letters and digits in
    upper case, without spaces or dashes ("KA-05 mx 1234" → "KA05MX1234"), so one plate is
    one value however the OCR spaced it and a search for it needs no spacing rules.

    A plate line has at least 3 letters or digits, one of them a digit; other text on a
    vehicle (brand names, slogans on a bus) seldom has digits.
    """
    best, best_score = "", min_score
    for text, score in lines:
        clean = _PLATE_CHARS.sub("", text.upper())
        if len(clean) >= 3 and any(c.isdigit() for c in clean) and score >= best_score:
            best, best_score = clean, score
    return best


def describe_vehicles(
    fd: FrameDetections,
    read: Callable[[np.ndarray], list[tuple[str, float]]] | None = None,
    *,
    min_plate_px: int = 16,
) -> FrameDetections:
    """`fd` with ``vehicle_type``, ``colour`` (and ``plate`` when `read` is given) filled.

    `read` maps an RGB crop to ``[(text, score), ...]``; the plate is looked for in the lower
    half of the box (side-on cars show it low, front and rear views too), skipped when that
    part is under `min_plate_px` high.
    """
    d, image = fd.detections, fd.frame.image
    names = ["vehicle_type", "colour", *(["plate"] if read is not None else [])]
    columns = {name: _column(d, name) for name in names}
    for i, label in enumerate(_labels(d)):
        if label not in VEHICLES:
            continue
        box = d.xyxy[i]
        columns["vehicle_type"][i] = label
        columns["colour"][i] = plurality_colour(band(image, box, (0.15, 0.85), (0.45, 0.8)))
        if read is not None:
            x1, y1, x2, y2 = (float(c) for c in box)
            top = max(int(y1 + 0.5 * (y2 - y1)), 0)
            crop = image[top : max(int(y2), 0), max(int(x1), 0) : max(int(x2), 0)]
            text = ""
            if crop.shape[0] >= min_plate_px and crop.shape[1] >= min_plate_px:
                text = plate_text(read(np.ascontiguousarray(crop)))
            columns["plate"][i] = text
    return replace(fd, detections=d.with_columns(**columns))


@register
class VehicleAttributes(Stateless, Operator[FrameDetections, FrameDetections]):
    """Add ``vehicle_type``, ``colour`` and (with ``plates=True``) ``plate`` to vehicle rows."""

    name = "vision.vehicle_attributes"
    input_type = FrameDetections
    output_type = FrameDetections
    batch = BatchPolicy(max_size=8, max_wait_ms=10)
    fields = ("vehicle_type", "colour", "plate")

    def __init__(
        self,
        plates: bool = True,
        min_plate_px: int = 16,
        plate_model: ModelName = "ocr/rec",
        plate_detector_model: ModelName = "ocr/det",
    ) -> None:
        self.plates, self.min_plate_px = plates, min_plate_px
        self.plate_model, self.plate_detector_model = plate_model, plate_detector_model
        self.reader: TextReader | None = None

    def setup(self, device: Device) -> None:
        if self.plates and self.reader is None:
            self.reader = TextReader.load(device, self.plate_model, self.plate_detector_model)

    def _read(self, crop: np.ndarray) -> list[tuple[str, float]]:
        if self.reader is None:
            self.setup(Device("cpu"))
        assert self.reader is not None
        return [(line.text, line.score) for line in self.reader.read(crop)]

    def process(self, items: list[FrameDetections]) -> list[FrameDetections]:
        read = self._read if self.plates else None
        return [describe_vehicles(fd, read, min_plate_px=self.min_plate_px) for fd in items]
