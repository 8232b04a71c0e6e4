"""Run the street pipeline on a street world and score the event store against its truth.

Rows (name, measured, expected) of a `senri.worlds.Summary`: distinct tracks per class (a
track's class is the label most of its detections carry), the people whose majority
``upper_colour`` matches the truth, the vehicles whose majority ``plate`` (of the frames a plate
was read in, spaces ignored) is the truth's, and the frames in which the detector found each object,
while fully inside the frame, with its class and IoU >= `MIN_IOU` against the drawn box.

Example:
    >>> result, summary = run_street(Path("/tmp/street"))  # doctest: +SKIP
    >>> summary.matches  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from senri.boxes import iou
from senri.engine.run import RunResult
from senri.indexes.events.query import Eq, Query
from senri.indexes.events.sqlite import SqliteEventStore
from senri.records import Event
from senri.worlds import Summary, street

MIN_IOU = 0.5
MIN_DETECTION_RATE = 0.9
"""Share of fully-visible frames an object must be found in for its row to count as a match."""


@dataclass(frozen=True)
class Alignment:
    """Per truth object: frames it is fully inside, and those the detector matched it in."""

    id: int
    label: str
    visible: int
    found: int

    @property
    def rate(self) -> float:
        return self.found / self.visible if self.visible else 1.0


def street_pipeline(world: street.StreetWorld, truth: dict[str, Any]) -> Path:
    """Write the street pipeline next to the world, with its clock and stream id."""
    text = resources.files("senri.pipelines").joinpath("street.yaml").read_text()
    doc = yaml.safe_load(text)
    doc["inputs"]["frames"].update(
        video=world.video.name, stream=truth["stream_ids"]["video"], start_time=truth["start_time"]
    )
    path = world.root / "street.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def load_objects(store_path: Path) -> list[Event]:
    """Every object detection the run stored."""
    store = SqliteEventStore(store_path)
    try:
        return store.search(Query(Eq("kind", "object"), limit=10_000))
    finally:
        store.close()


def frame_index(event: Event, truth: dict[str, Any]) -> int:
    """The frame an event came from, from its time and the world's clock."""
    return round((event.time - float(truth["start_time"])) * int(truth["fps"]))


def align(events: list[Event], truth: dict[str, Any]) -> list[Alignment]:
    """How often each object, while fully inside the frame, was detected where it was drawn."""
    by_frame: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        by_frame[frame_index(e, truth)].append(e)
    out = []
    for obj in truth["objects"]:
        full = [r for r in obj["frames"] if r[5]]
        found = sum(
            any(
                e.label == obj["label"] and e.bbox is not None and iou(e.bbox, r[1:5]) >= MIN_IOU
                for e in by_frame.get(r[0], [])
            )
            for r in full
        )
        out.append(Alignment(obj["id"], obj["label"], len(full), found))
    return out


def tracks(events: list[Event]) -> dict[int, list[Event]]:
    """Detections grouped by confirmed track id."""
    grouped: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        if e.track_id is not None and e.track_id >= 0:
            grouped[e.track_id].append(e)
    return grouped


def majority(values: list[str]) -> str:
    """The most common value (ties: the first seen); ``""`` for none."""
    return Counter(values).most_common(1)[0][0] if values else ""


def match_person_tracks(
    grouped: dict[int, list[Event]], truth: dict[str, Any]
) -> dict[int, int | None]:
    """Truth person id -> the track whose boxes overlap it most often (None if none does)."""
    return match_tracks(grouped, truth, lambda obj: obj["label"] == "person")


def match_tracks(
    grouped: dict[int, list[Event]], truth: dict[str, Any], which: Callable[[dict[str, Any]], bool]
) -> dict[int, int | None]:
    """Truth id -> the track whose boxes of its class overlap it most often (None if none does).

    Only truth objects `which` accepts are matched.
    """
    out: dict[int, int | None] = {}
    for obj in truth["objects"]:
        if not which(obj):
            continue
        boxes = {r[0]: r[1:5] for r in obj["frames"]}
        votes: Counter[int] = Counter()
        for track, events in grouped.items():
            for e in events:
                box = boxes.get(frame_index(e, truth))
                if e.label == obj["label"] and box is not None and e.bbox is not None:
                    votes[track] += iou(e.bbox, box) >= MIN_IOU
        best = votes.most_common(1)
        out[obj["id"]] = best[0][0] if best and best[0][1] > 0 else None
    return out


def plate_of(value: Event | str) -> str:
    """A plate's characters without spaces (PP-OCR may drop them); ``""`` for none."""
    text = value if isinstance(value, str) else str(value.attributes.get("plate") or "")
    return "".join(text.split())


def summarise(store_path: Path, truth: dict[str, Any], dead_letters: int = 0) -> Summary:
    """Tracks per class, people's upper colours and detection rates against the truth."""
    events = load_objects(store_path)
    grouped = tracks(events)
    by_class = Counter(majority([e.label for e in evs]) for evs in grouped.values())
    expected: dict[str, int] = truth["summary"]["tracks"]
    summary = Summary(dead_letters=dead_letters)
    summary.add("tracked objects", len(grouped), sum(expected.values()))
    for label in sorted(set(expected) | set(by_class)):
        summary.add(f"  {label}", by_class.get(label, 0), expected.get(label, 0))
    people = match_person_tracks(grouped, truth)
    colours = truth["summary"]["upper_colours"]
    right = 0
    for pid, track in people.items():
        seen = (
            [] if track is None else [str(e.attributes.get("upper_colour")) for e in grouped[track]]
        )
        right += majority(seen) in colours[str(pid)]
    summary.add("people with the right upper colour", right, len(colours))
    plates: dict[str, str] = truth["summary"].get("plates", {})
    read = 0
    for vid, track in match_tracks(grouped, truth, lambda obj: str(obj["id"]) in plates).items():
        texts = [] if track is None else [plate_of(e) for e in grouped[track]]
        read += majority([t for t in texts if t]) == plate_of(plates[str(vid)])
    summary.add("plates read", read, len(plates))
    aligned = align(events, truth)
    good = sum(a.rate >= MIN_DETECTION_RATE for a in aligned)
    summary.add(f"objects detected in ≥ {MIN_DETECTION_RATE:.0%} of frames", good, len(aligned))
    return summary


def detection_rate(store_path: Path, truth: dict[str, Any]) -> float:
    """Share of (object, fully-visible frame) pairs in which the object was detected."""
    aligned = align(load_objects(store_path), truth)
    return sum(a.found for a in aligned) / max(sum(a.visible for a in aligned), 1)


def prepare_street(root: Path, *, seed: int = 7, regenerate: bool = False) -> street.StreetWorld:
    """The street world under `root`, generated if absent (or if asked to)."""
    if regenerate or not street.exists(root):
        return street.generate(root, seed=seed)
    return street.StreetWorld(root, root / street.VIDEO_NAME, root / street.TRUTH_NAME)


def run_street(
    root: Path, *, seed: int = 7, regenerate: bool = False, on_start: Any = None
) -> tuple[RunResult, Summary]:
    """Generate (if needed) the street world under `root`, run its pipeline, summarise."""
    from senri.engine.run import run_file

    world = prepare_street(Path(root), seed=seed, regenerate=regenerate)
    truth = street.load_truth(world.truth)
    pipeline = street_pipeline(world, truth)
    out = world.root / "street_run"
    for stale in out.glob("events.sqlite*"):
        stale.unlink()
    (out / "dlq.jsonl").unlink(missing_ok=True)
    result = run_file(pipeline, out, on_start=on_start)
    return result, summarise(result.stores["events"], truth, result.report.dead_letters)
