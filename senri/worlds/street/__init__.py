"""A "street" world of real photo cutouts, for checking the real detector, tracker and attributes.

`generate` writes, deterministically from a seed, ``street.mp4`` (640x360, 5 fps, about 15 s)
and ``street_truth.json``. Cutouts of scikit-image's photographs cross the frame in two lanes
at constant speed, entering across one side edge and leaving across the other:

- the bottom lane holds people: the astronaut (head-and-shoulders, so she is cut by the bottom
  edge of the frame, 10 px below it, and `vision.person_attributes` reads her torso low in the
  box, as it does for a box that touches the bottom edge and is not tall enough for legs), the
  astronaut again with her suit dyed another hue, and the cameraman (feet just above the edge);
- the top lane holds a motorcycle facing left (it drives left), one facing right, and the
  horse silhouette. Each motorcycle carries a licence plate (`PLATE_SIZE`, black text like
  ``KA 05 MX 1234`` on white, drawn low on its middle, seeded) that `vision.vehicle_attributes`
  reads from the lower half of its box.

Objects of one lane follow each other with a gap (longer than a tracker keeps a lost track
where the next one enters by the edge the last one left by), and the lanes are apart
vertically, so boxes never overlap. Sizes were picked where `vision.detect`
(MobileNetV3-CenterNet) finds every cutout at 0.45-0.8 with IoU > 0.85 against its rectangle.
A cutout's rectangle is its box: crops are cut tight around the object.

Truth (``street_truth.json``) per object: ``id``, ``label`` (COCO class), ``sprite``, ``size``,
``path`` ([t, x_centre, y_centre] at its first and last frame), ``frames`` ([frame index,
x1, y1, x2, y2, fully inside] for every frame it is partly visible in; boxes clipped to the
frame) and, for people, ``upper_colour``: the accepted `colour_name`s of the median colour of
their clothing in the cutout (the dyed suit's hue included), within `HUE_TOLERANCE`, and, for
vehicles with a plate, ``plate`` (its text, spaces included; OCR may drop the spaces).

Vehicle colour is not in the truth: `vision.vehicle_attributes` names the plurality colour of
the lower-middle band of the box, which for these side-on photos is the grey of the engine,
the wheels and the garage floor, whatever the tank's colour (a recoloured body was tried).

Example:
    >>> world = generate(Path("/tmp/street"), seed=7)  # doctest: +SKIP
    >>> load_truth(world.truth)["summary"]["tracks"]  # doctest: +SKIP
    {'horse': 1, 'motorcycle': 2, 'person': 3}
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import cv2
import numpy as np
import numpy.typing as npt

from senri.models.photos import sample_photo
from senri.operators.colour import colour_name
from senri.worlds import is_current, load_truth, replace_atomically, require

__all__ = [
    "SPRITES",
    "VERSION",
    "Placed",
    "Sprite",
    "StreetWorld",
    "exists",
    "generate",
    "load_truth",
    "plan",
    "validate",
]

Image = npt.NDArray[np.uint8]

VERSION = 3
"""Bump when the world's contents or truth layout change, so cached worlds are regenerated."""

VIDEO_NAME, TRUTH_NAME = "street.mp4", "street_truth.json"
STREAM_ID = "street1"
SIZE = (640, 360)
FPS = 5
SPEED_RANGE = (190.0, 240.0)
"""px/s: 38-48 px a frame at 5 fps, so consecutive boxes of the narrowest cutout overlap."""
GAP_RANGE = (0.3, 0.9)
"""Seconds between one object leaving its lane and the next entering it from the other side."""
TURN_GAP_RANGE = (1.5, 2.0)
"""The same where the next enters at the edge the last one left by: longer than a tracker
keeps a lost track (`vision.track` max_age, 5 frames = 1 s at 5 fps), so it cannot inherit it."""
DYES = {"blue": 112, "green": 60}
"""Suit hues (OpenCV, 0-180) the dyed astronaut may get. Purple (140) was tried and dropped:
the per-channel median of a purple suit, her face and the black helmet reads red or orange."""


@dataclass(frozen=True)
class Sprite:
    """A crop of a scikit-image photo, how tall it is drawn, and where it moves.

    `crop` is (y0, y1, x0, x1) in the photo; `bottom` the y of its lower edge in the frame
    (below the frame's bottom edge for a head-and-shoulders cutout);
    `faces` the way it looks (it moves that way), or None to let the seed choose;
    `clothing` the (y0, y1, x0, x1) fractions of the crop that show its upper clothing, or
    ``"suit"`` for the astronaut's suit pixels (see `suit_mask`); `dye` whether the seed gives
    the suit another hue.
    """

    name: str
    photo: str
    crop: tuple[int, int, int, int]
    label: str
    height: int
    bottom: int
    faces: int | None = None
    clothing: tuple[float, float, float, float] | Literal["suit"] | None = None
    dye: bool = False
    plate: bool = False


_SUIT: Literal["suit"] = "suit"
SPRITES: tuple[Sprite, ...] = (
    Sprite("astronaut", "astronaut", (0, 512, 20, 370), "person", 160, 370, None, _SUIT),
    Sprite("astronaut_dyed", "astronaut", (0, 512, 20, 370), "person", 160, 370, None, _SUIT, True),
    Sprite(
        "cameraman", "camera", (40, 512, 0, 300), "person", 160, 346, None, (0.2, 0.5, 0.3, 0.6)
    ),
    Sprite(
        "motorcycle_left",
        "motorcycle_left",
        (50, 450, 110, 680),
        "motorcycle",
        130,
        160,
        -1,
        plate=True,
    ),
    Sprite(
        "motorcycle_right",
        "motorcycle_right",
        (60, 452, 60, 640),
        "motorcycle",
        130,
        160,
        1,
        plate=True,
    ),
    Sprite("horse", "horse", (15, 318, 15, 390), "horse", 120, 155),
)
"""The cast: people in the bottom lane (y 186-370), the rest in the top lane (y 30-160)."""


@dataclass(frozen=True)
class Placed:
    """One sprite crossing the frame: centre x moves from `x0` at `t0` to `x1` at `t1`."""

    id: int
    sprite: Sprite
    size: tuple[int, int]
    t0: float
    t1: float
    x0: float
    x1: float
    hue: int | None = None
    plate: str | None = None

    @property
    def y(self) -> float:
        """Centre y (constant: lanes are horizontal)."""
        return self.sprite.bottom - self.size[1] / 2

    def box_at(self, t: float) -> tuple[int, int, int, int] | None:
        """The drawn rectangle (x1, y1, x2, y2; unclipped) at time `t`, or None if absent."""
        if not self.t0 - 1e-9 <= t <= self.t1 + 1e-9:
            return None
        f = (t - self.t0) / (self.t1 - self.t0)
        left = round(self.x0 + f * (self.x1 - self.x0) - self.size[0] / 2)
        top = self.sprite.bottom - self.size[1]
        return (left, top, left + self.size[0], self.sprite.bottom)


@dataclass(frozen=True)
class StreetWorld:
    """Where a generated street world was written."""

    root: Path
    video: Path
    truth: Path


def _photo(name: str) -> Image:
    """A sample photo (card ``data/photos``) by its name without the extension."""
    return sample_photo(f"{name}.png")


def suit_mask(image: Image) -> npt.NDArray[np.bool_]:
    """The astronaut's orange suit: saturated pixels of hue < 25 below her face."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    rows = np.arange(image.shape[0])[:, None] >= 0.42 * image.shape[0]
    return np.asarray(rows & (hsv[..., 0] < 25) & (hsv[..., 1] > 90))


def dye(image: Image, hue: int) -> Image:
    """The astronaut with her suit (`suit_mask`) in `hue` (OpenCV, 0-180)."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = np.where(suit_mask(image), hue, hsv[..., 0])
    return np.asarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), np.uint8)


PLATE_SIZE = (130, 26)
"""A plate's width and height in px, as drawn: where PP-OCR reads its ten characters."""
PLATE_SUPERSAMPLE = 4
"""Plates are drawn this many times larger and shrunk (area-averaged): drawn at size, Hershey
text of ~2 px strokes read wrong in a third of plates (J as W or dropped, 6 as 8, 9 as S)."""
PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
"""No I, O or Q: they read as 1 and 0."""
PLATE_STATES = ("KA", "MH", "DL", "TN", "GJ", "UP", "WB", "RJ")


def plate_number(rng: np.random.Generator) -> str:
    """A plate like ``KA 05 MX 1234``."""
    state = str(rng.choice(PLATE_STATES))
    letters = "".join(str(c) for c in rng.choice(list(PLATE_LETTERS), 2))
    return f"{state} {int(rng.integers(1, 100)):02d} {letters} {int(rng.integers(0, 10000)):04d}"


def plate_image(text: str, size: tuple[int, int] = PLATE_SIZE) -> Image:
    """Black `text` centred on a white plate with a thin black border, antialiased."""
    k = PLATE_SUPERSAMPLE
    w, h, stroke = size[0] * k, size[1] * k, 2 * k
    img = np.full((h, w, 3), 255, np.uint8)
    cv2.rectangle(img, (0, 0), (w - 1, h - 1), (0, 0, 0), k)
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = cv2.getFontScaleFromHeight(font, int(h * 0.6), stroke)
    tw = cv2.getTextSize(text, font, scale, stroke)[0][0]
    scale *= min(1.0, (w - 6 * k) / tw)
    (tw, th), _ = cv2.getTextSize(text, font, scale, stroke)
    org = ((w - tw) // 2, (h + th) // 2)
    cv2.putText(img, text, org, font, scale, (0, 0, 0), stroke, cv2.LINE_AA)
    return np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), np.uint8)


def cutout(obj: Placed) -> Image:
    """The sprite's pixels as drawn: cropped, dyed, mirrored to face its way, scaled, plated."""
    sp = obj.sprite
    y0, y1, x0, x1 = sp.crop
    image = _photo(sp.photo)[y0:y1, x0:x1]
    if obj.hue is not None:
        image = dye(image, obj.hue)
    if sp.faces is None and obj.x1 < obj.x0:
        image = image[:, ::-1]  # people and the horse look the way they go
    image = np.ascontiguousarray(cv2.resize(image, obj.size, interpolation=cv2.INTER_AREA))
    if obj.plate is not None:
        (w, h), (pw, ph) = obj.size, PLATE_SIZE
        x, y = (w - pw) // 2, h - ph - round(0.12 * h)
        image[y : y + ph, x : x + pw] = plate_image(obj.plate)
    return image


HUE_TOLERANCE = 3
"""OpenCV hue steps (of 180) a clothing colour may drift by through scaling and H.264."""


def upper_colours(obj: Placed) -> list[str] | None:
    """Accepted ``upper_colour`` names: the median clothing colour, its hue moved ±tolerance.

    The astronaut's own suit sits at hue 7, on the red/orange border, so both are right.
    """
    sp = obj.sprite
    if sp.clothing is None:
        return None
    y0, y1, x0, x1 = sp.crop
    image = _photo(sp.photo)[y0:y1, x0:x1]
    if sp.clothing == "suit":
        pixels = (image if obj.hue is None else dye(image, obj.hue))[suit_mask(image)]
    else:
        h, w = image.shape[:2]
        fy0, fy1, fx0, fx1 = sp.clothing
        region = image[round(fy0 * h) : round(fy1 * h), round(fx0 * w) : round(fx1 * w)]
        pixels = region.reshape(-1, 3)
    median = np.median(pixels, axis=0).astype(np.uint8).reshape(1, 1, 3)
    hsv = cv2.cvtColor(median, cv2.COLOR_RGB2HSV).astype(np.int32)
    names: list[str] = []
    for shift in range(-HUE_TOLERANCE, HUE_TOLERANCE + 1):
        moved = hsv.copy()
        moved[..., 0] = (moved[..., 0] + shift) % 180
        rgb = cv2.cvtColor(moved.astype(np.uint8), cv2.COLOR_HSV2RGB)
        name = colour_name(rgb[0, 0])
        if name not in names:
            names.append(name)
    return names


def plan(
    rng: np.random.Generator,
    size: tuple[int, int] = SIZE,
    plate_rng: np.random.Generator | None = None,
) -> list[Placed]:
    """Schedule every sprite once: per lane a shuffled queue crossing edge to edge in turn.

    Plates are drawn from `plate_rng` (its own stream, so they leave the schedule as it was).
    """
    plate_rng = plate_rng or np.random.default_rng(0)
    width = size[0]
    lanes: dict[str, list[Sprite]] = {"people": [], "traffic": []}
    for sp in SPRITES:
        lanes["people" if sp.label == "person" else "traffic"].append(sp)
    placed: list[Placed] = []
    for lane in lanes.values():
        order = [lane[int(i)] for i in rng.permutation(len(lane))]
        t = float(rng.uniform(0.2, 0.8))
        last_way = 0
        for sp in order:
            h = sp.height
            w = round((sp.crop[3] - sp.crop[2]) * h / (sp.crop[1] - sp.crop[0]))
            way = sp.faces if sp.faces is not None else int(rng.choice([-1, 1]))
            if last_way:  # the gap after the last object, by where this one comes in
                t += float(rng.uniform(*(GAP_RANGE if way == last_way else TURN_GAP_RANGE)))
            last_way = way
            speed = float(rng.uniform(*SPEED_RANGE))
            start, end = -w / 2 - 1, width + w / 2 + 1
            if way < 0:
                start, end = end, start
            t1 = t + abs(end - start) / speed
            hue = int(DYES[str(rng.choice(sorted(DYES)))]) if sp.dye else None
            placed.append(Placed(0, sp, (w, h), round(t, 4), round(t1, 4), start, end, hue))
            t = t1
    placed.sort(key=lambda o: (o.t0, o.sprite.name))
    return [
        Placed(
            i,
            o.sprite,
            o.size,
            o.t0,
            o.t1,
            o.x0,
            o.x1,
            o.hue,
            plate_number(plate_rng) if o.sprite.plate else None,
        )
        for i, o in enumerate(placed, start=1)
    ]


def render(base: Image, objects: Sequence[Placed], t: float, sprites: dict[int, Image]) -> Image:
    """The frame at time `t`: each object present pasted (clipped to the frame) over `base`."""
    img = base.copy()
    height, width = img.shape[:2]
    for obj in objects:
        box = obj.box_at(t)
        if box is None:
            continue
        x1, y1, x2, y2 = box
        cx1, cx2, cy2 = max(x1, 0), min(x2, width), min(y2, height)
        if cx2 <= cx1:
            continue
        img[y1:cy2, cx1:cx2] = sprites[obj.id][: cy2 - y1, cx1 - x1 : cx2 - x1]
    return img


def background(rng: np.random.Generator, size: tuple[int, int] = SIZE) -> Image:
    """Pale grey "sky" over darker grey "pavement", with a faint smooth texture; no hue."""
    w, h = size
    yy = np.mgrid[0:h, 0:w][0].astype(np.float32) / max(h - 1, 1)
    ramp = np.where(yy < 0.5, 170.0 - 30.0 * yy, 120.0 - 30.0 * (yy - 0.5))
    noise = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
    blurred = np.asarray(cv2.GaussianBlur(noise, (0, 0), sigmaX=5.0), np.float32)
    texture = blurred * (5.0 / max(float(np.abs(blurred).max()), 1e-6))
    grey = np.clip(np.rint(ramp + texture), 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def frame_boxes(obj: Placed, frames: int, fps: int, size: tuple[int, int]) -> list[list[Any]]:
    """[i, x1, y1, x2, y2, fully_inside] for each frame `i` the object is partly visible in.

    Boxes are clipped to the frame; `fully_inside` means horizontally (a head-and-shoulders
    cutout is always cut by the bottom edge, as it was in its photo).
    """
    rows: list[list[Any]] = []
    for i in range(frames):
        box = obj.box_at(i / fps)
        if box is None or box[2] <= 0 or box[0] >= size[0]:
            continue
        x1, y1, x2, y2 = box
        full = x1 >= 0 and x2 <= size[0]
        rows.append([i, max(x1, 0), y1, min(x2, size[0]), min(y2, size[1]), full])
    return rows


def truth_of(
    seed: int, start_time: float, fps: int, objects: list[Placed], size: tuple[int, int] = SIZE
) -> dict[str, Any]:
    """The ground truth of a planned world (see the module docstring for its layout)."""
    frames = math.ceil((max(o.t1 for o in objects) + 0.4) * fps)
    records = []
    for o in objects:
        record: dict[str, Any] = {
            "id": o.id,
            "label": o.sprite.label,
            "sprite": o.sprite.name,
            "size": list(o.size),
            "path": [[o.t0, round(o.x0, 3), o.y], [o.t1, round(o.x1, 3), o.y]],
            "frames": frame_boxes(o, frames, fps, size),
        }
        colours = upper_colours(o)
        if colours is not None:
            record["upper_colour"] = colours
        if o.plate is not None:
            record["plate"] = o.plate
        records.append(record)
    return {
        "world": "street",
        "version": VERSION,
        "seed": seed,
        "start_time": start_time,
        "fps": fps,
        "frames": frames,
        "duration": frames / fps,
        "size": list(size),
        "stream_ids": {"video": STREAM_ID},
        "objects": records,
        "summary": {
            "tracks": dict(sorted(Counter(o.sprite.label for o in objects).items())),
            "upper_colours": {
                str(r["id"]): r["upper_colour"] for r in records if "upper_colour" in r
            },
            "plates": {str(r["id"]): r["plate"] for r in records if "plate" in r},
        },
    }


def validate(truth: dict[str, Any]) -> None:
    """Check the promises a truth makes; raise ValueError naming the first one broken."""
    per_frame: dict[int, list[tuple[int, list[int]]]] = {}
    for obj in truth["objects"]:
        rows = obj["frames"]
        _require(sum(r[5] for r in rows) >= 3, f"object {obj['id']} fully visible < 3 frames")
        for r in rows:
            per_frame.setdefault(r[0], []).append((obj["id"], r[1:5]))
            _require(0 <= r[0] < truth["frames"], f"object {obj['id']} out of time")
    for i, boxes in per_frame.items():
        for k, (ia, a) in enumerate(boxes):
            for ib, b in boxes[k + 1 :]:
                apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
                _require(apart, f"objects {ia} and {ib} overlap in frame {i}")


def generate(
    root: Path,
    *,
    seed: int = 7,
    start_time: float = 1_767_261_600.0,
    progress: Callable[[float], None] | None = None,
) -> StreetWorld:
    """Write a street world into `root` (created if missing) and return its paths.

    Files are written under temporary names and renamed, truth last, so `exists` never sees
    a half-written world.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    world = StreetWorld(root, root / VIDEO_NAME, root / TRUTH_NAME)
    world.truth.unlink(missing_ok=True)
    report = progress or (lambda _: None)
    plan_rng, texture_rng, plate_rng = (np.random.default_rng([seed, k]) for k in (11, 12, 13))
    objects = plan(plan_rng, plate_rng=plate_rng)
    truth = truth_of(seed, start_time, FPS, objects)
    validate(truth)
    base = background(texture_rng)
    sprites = {o.id: cutout(o) for o in objects}
    frames = int(truth["frames"])

    def write_video(tmp: Path) -> None:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            created = dt.datetime.fromtimestamp(start_time, tz=dt.UTC)
            container.metadata["creation_time"] = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            stream = container.add_stream("libx264", rate=FPS)
            stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
            stream.time_base = Fraction(1, FPS)
            stream.options = {"crf": "16", "preset": "veryfast", "g": str(2 * FPS)}
            for i in range(frames):
                image = render(base, objects, i / FPS, sprites)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = i
                container.mux(stream.encode(frame))
                report(0.95 * (i + 1) / frames)
            container.mux(stream.encode())

    replace_atomically(world.video, write_video)
    text = json.dumps(truth, indent=1) + "\n"
    replace_atomically(world.truth, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    report(1.0)
    return world


def exists(root: Path) -> bool:
    """True if `root` holds a complete street world written by this version of the generator."""
    return is_current(root, (VIDEO_NAME,), TRUTH_NAME, "street", VERSION)


def _require(ok: bool, problem: str) -> None:
    require("street", ok, problem)
