"""Plan the moving shapes of a synthetic camera scene, deterministically from a random generator.

Every object is a solid, saturated shape that moves in a straight line at constant speed between
two points (either may lie just outside the frame, so it enters or leaves across an edge; or
inside it, so it pops in or vanishes). The planner enforces what simple operators need to see
each object cleanly: bounding boxes never come within `MARGIN` px of each other, at most
`MAX_ON_SCREEN` objects exist at once, each is visible for a while, and a few windows are kept
free of any motion.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (250, 130, 20),
    "yellow": (240, 220, 30),
    "green": (30, 190, 50),
    "blue": (30, 70, 230),
    "purple": (150, 50, 210),
}
"""Object colours: saturated, far apart in hue, and far from the low-saturation grey background."""

SHAPES = ("rect", "ellipse")
MARGIN = 12.0
"""Minimum gap in px between the bounding boxes of any two objects (keeps motion blobs apart)."""
MAX_ON_SCREEN = 3
MIN_VISIBLE_S = 2.0
MAX_VISIBLE_S = 7.0
SPEED_RANGE = (30.0, 75.0)
SIZE_RANGE = (26, 50)
QUIET_HEAD_S = 1.5
"""Motionless lead-in, so a background model can settle before anything moves."""
QUIET_TAIL_S = 1.0
QUIET_MID_S = 1.5


@dataclass(frozen=True)
class MovingObject:
    """A shape that exists during [t0, t1] and moves linearly from p0 to p1 (centre, px)."""

    id: int
    shape: str
    colour: str
    size: tuple[int, int]
    t0: float
    t1: float
    p0: tuple[float, float]
    p1: tuple[float, float]

    @property
    def rgb(self) -> tuple[int, int, int]:
        return PALETTE[self.colour]

    @property
    def velocity(self) -> tuple[float, float]:
        span = self.t1 - self.t0
        return ((self.p1[0] - self.p0[0]) / span, (self.p1[1] - self.p0[1]) / span)

    def centres(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centre x, y at times `t` and a mask of the times at which the object exists."""
        vx, vy = self.velocity
        dt = t - self.t0
        alive = (t >= self.t0 - 1e-9) & (t <= self.t1 + 1e-9)
        return self.p0[0] + vx * dt, self.p0[1] + vy * dt, alive

    def inside_interval(self, size: tuple[int, int], *, fully: bool) -> tuple[float, float] | None:
        """The time span during which the box is partly (or `fully`) inside the frame."""
        lo_t, hi_t = self.t0, self.t1
        for axis, extent in enumerate(size):
            half = self.size[axis] / 2
            lo, hi = (half, extent - half) if fully else (-half, extent + half)
            start, speed = self.p0[axis], self.velocity[axis]
            if abs(speed) < 1e-12:
                if not (lo <= start <= hi if fully else lo < start < hi):
                    return None
                continue
            a = self.t0 + (lo - start) / speed
            b = self.t0 + (hi - start) / speed
            lo_t, hi_t = max(lo_t, min(a, b)), min(hi_t, max(a, b))
        return (lo_t, hi_t) if hi_t > lo_t else None

    def to_truth(self, size: tuple[int, int]) -> dict[str, Any]:
        """The ground-truth record: times are seconds from the start of the stream."""
        seen = self.inside_interval(size, fully=False)
        full = self.inside_interval(size, fully=True)
        assert seen is not None, "planner accepted an object that is never visible"
        return {
            "id": self.id,
            "shape": self.shape,
            "colour": self.colour,
            "rgb": list(self.rgb),
            "size": list(self.size),
            "enter": round(seen[0], 4),
            "exit": round(seen[1], 4),
            "fully_inside": None if full is None else [round(full[0], 4), round(full[1], 4)],
            "speed": round(float(np.hypot(*self.velocity)), 3),
            "path": [
                [round(self.t0, 4), round(self.p0[0], 3), round(self.p0[1], 3)],
                [round(self.t1, 4), round(self.p1[0], 3), round(self.p1[1], 3)],
            ],
        }


def plan_objects(
    rng: np.random.Generator, duration: float, fps: int, size: tuple[int, int]
) -> list[MovingObject]:
    """Rejection-sample about one object per two seconds that satisfy every scene constraint.

    Returns the objects ordered by appearance with ids 1..N.
    """
    quiet = quiet_windows(rng, duration)
    target = max(1, round(duration / 2))
    grid = _grid(duration, fps)
    accepted: list[MovingObject] = []
    for _ in range(3000):
        if len(accepted) >= target:
            break
        cand = _sample(rng, duration, fps, size)
        if cand is None or any(cand.t0 < b and cand.t1 > a for a, b in quiet):
            continue
        if conflicts(cand, accepted, grid):
            continue
        busy = {o.colour for o in accepted if o.t0 <= cand.t1 and o.t1 >= cand.t0}
        free = [c for c in PALETTE if c not in busy] or list(PALETTE)
        accepted.append(replace(cand, colour=str(rng.choice(free))))
    accepted.sort(key=lambda o: (o.t0, o.t1))
    return [replace(o, id=i) for i, o in enumerate(accepted, start=1)]


def quiet_windows(rng: np.random.Generator, duration: float) -> list[tuple[float, float]]:
    """Spans kept free of objects: the head, the tail and one more per full 10 s."""
    windows = [(0.0, QUIET_HEAD_S), (duration - QUIET_TAIL_S, duration)]
    lo, hi = QUIET_HEAD_S + 1.5, duration - QUIET_TAIL_S - 1.5 - QUIET_MID_S
    count = int(duration // 10)
    if count and hi > lo:
        # one window per equal slice of the middle, so windows never touch each other
        edges = np.linspace(lo, hi + QUIET_MID_S, count + 1)
        for a, b in itertools.pairwise(edges):
            start = float(rng.uniform(a, max(a, b - QUIET_MID_S)))
            windows.append((start, start + QUIET_MID_S))
    return sorted(windows)


def conflicts(cand: MovingObject, others: list[MovingObject], grid: np.ndarray) -> bool:
    """True if `cand` would come within MARGIN px of another object or crowd the screen."""
    t = grid[(grid >= cand.t0 - 1e-9) & (grid <= cand.t1 + 1e-9)]
    cx, cy, _ = cand.centres(t)
    crowd = np.ones(len(t), dtype=int)
    for other in others:
        ox, oy, alive = other.centres(t)
        crowd += alive
        gap_x = np.abs(cx - ox) - (cand.size[0] + other.size[0]) / 2
        gap_y = np.abs(cy - oy) - (cand.size[1] + other.size[1]) / 2
        if np.any(alive & (gap_x < MARGIN) & (gap_y < MARGIN)):
            return True
    return bool(np.any(crowd > MAX_ON_SCREEN))


def _grid(duration: float, fps: int) -> np.ndarray:
    """Check times: four per frame, so the guarantees hold between frames too."""
    return np.arange(round(duration * fps * 4) + 1) / (fps * 4.0)


def _sample(
    rng: np.random.Generator, duration: float, fps: int, size: tuple[int, int]
) -> MovingObject | None:
    """Draw one candidate trajectory, or None if the draw breaks a speed or visibility bound."""
    w, h = (2 * int(rng.integers(SIZE_RANGE[0] // 2, SIZE_RANGE[1] // 2 + 1)) for _ in range(2))
    shape = str(rng.choice(SHAPES))
    mode = str(rng.choice(["cross", "cross", "appear", "enter", "leave"]))
    inside = _inside_point(rng, size, (w, h))
    if mode == "appear":
        angle = rng.uniform(0, 2 * np.pi)
        travel = rng.uniform(*SPEED_RANGE) * rng.uniform(MIN_VISIBLE_S, 4.5)
        p0, p1 = inside, (inside[0] + travel * np.cos(angle), inside[1] + travel * np.sin(angle))
    else:
        side = int(rng.integers(4))
        p0 = _edge_point(rng, size, (w, h), side)
        if mode == "cross":
            p1 = _edge_point(rng, size, (w, h), (side + int(rng.integers(1, 4))) % 4)
        else:
            p1 = inside
        if mode == "leave":
            p0, p1 = p1, p0
    length = float(np.hypot(p1[0] - p0[0], p1[1] - p0[1]))
    frames = round(length / rng.uniform(*SPEED_RANGE) * fps)
    if frames < 2:
        return None
    start = int(rng.integers(0, max(1, int(duration * fps) - frames)))
    obj = MovingObject(0, shape, "red", (w, h), start / fps, (start + frames) / fps, p0, p1)
    seen = obj.inside_interval(size, fully=False)
    full = obj.inside_interval(size, fully=True)
    speed = float(np.hypot(*obj.velocity))
    if not 20.0 <= speed <= 80.0 or seen is None or full is None or obj.t1 > duration:
        return None
    if not MIN_VISIBLE_S <= seen[1] - seen[0] <= MAX_VISIBLE_S or full[1] - full[0] < 1.0:
        return None
    return obj


def _inside_point(
    rng: np.random.Generator, size: tuple[int, int], box: tuple[int, int]
) -> tuple[float, float]:
    pad = 6.0
    return (
        float(rng.uniform(box[0] / 2 + pad, size[0] - box[0] / 2 - pad)),
        float(rng.uniform(box[1] / 2 + pad, size[1] - box[1] / 2 - pad)),
    )


def _edge_point(
    rng: np.random.Generator, size: tuple[int, int], box: tuple[int, int], side: int
) -> tuple[float, float]:
    """A centre just outside edge `side` (0 left, 1 top, 2 right, 3 bottom): box fully hidden."""
    x, y = _inside_point(rng, size, box)
    if side == 0:
        return (-box[0] / 2 - 1, y)
    if side == 1:
        return (x, -box[1] / 2 - 1)
    if side == 2:
        return (size[0] + box[0] / 2 + 1, y)
    return (x, size[1] + box[1] / 2 + 1)


def still_spans(
    objects: list[MovingObject], duration: float, fps: int, size: tuple[int, int]
) -> list[list[float]]:
    """Spans of at least one second (on the frame grid) in which no object is visible."""
    times = np.arange(round(duration * fps)) / fps
    busy = np.zeros(len(times), dtype=bool)
    for obj in objects:
        seen = obj.inside_interval(size, fully=False)
        if seen is not None:
            busy |= (times >= seen[0]) & (times <= seen[1])
    spans: list[list[float]] = []
    start: int | None = None
    for i, flag in enumerate([*busy.tolist(), True]):
        if not flag and start is None:
            start = i
        elif flag and start is not None:
            if (i - start) / fps >= 1.0:
                spans.append([round(start / fps, 4), round((i - 1) / fps, 4)])
            start = None
    return spans
