"""The oracle's `Truth` for the two media worlds, so the `ask` benchmark can question them too.

The generated archive carries its own `Truth`; the shapes ("demo") and street worlds only write
a truth JSON beside their media. These functions turn that JSON into the same entities the
oracle answers from, as senri would record them: the shapes camera sees moving "object"s of a
colour (it cannot tell their kind), the street camera sees labelled objects while they are
fully in the frame. Each also returns the world's "now" (the end of its recording).

Example:
    >>> truth, now = demo_truth(json.loads(Path("truth.json").read_text()))  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from senri.records import AttrValue
from senri.worlds.archive import Archive, Sound, Track, Truth, Utterance

DEMO_LABEL = "object"
"""What the shapes camera calls everything it tracks: it detects motion, not kinds."""
DEMO_PLACE = "yard"
"""Where the shapes world's camera and microphone both are, so joins pair them."""
STREET_PLACE = "street"


def _now(truth: Mapping[str, Any]) -> float:
    return float(truth["start_time"]) + float(truth["duration"])


def demo_truth(truth: Mapping[str, Any]) -> tuple[Truth, float]:
    """Entities of the shapes world's truth.json, and its "now".

    One track per object (label "object", its colour, from entering to leaving the frame), one
    utterance per phrase and one sound per sound span on the microphone; no signs.
    """
    origin = float(truth["start_time"])
    video, audio = truth["stream_ids"]["video"], truth["stream_ids"]["audio"]
    tracks = tuple(
        Track(
            stream=video,
            track_id=int(o["id"]),
            label=DEMO_LABEL,
            start=origin + float(o["enter"]),
            end=origin + float(o["exit"]),
            attributes={"colour": str(o["colour"])},
        )
        for o in truth["objects"]
    )
    utterances = tuple(
        Utterance(audio, i, str(s["text"]), origin + float(s["start"]), origin + float(s["end"]))
        for i, s in enumerate(truth["speech"], start=1)
    )
    sounds = tuple(
        Sound(audio, i, str(s["label"]), origin + float(s["start"]), origin + float(s["end"]))
        for i, s in enumerate(truth["sounds"], start=1)
    )
    places = {video: DEMO_PLACE, audio: DEMO_PLACE}
    return Truth(tracks, utterances, sounds, (), places), _now(truth)


def plate_text(plate: str) -> str:
    """A plate as OCR-independent text: letters and digits only, upper case ("KA09JM5383")."""
    return re.sub(r"[^0-9A-Za-z]", "", plate).upper()


def _span(frames: Sequence[Sequence[Any]]) -> tuple[int, int]:
    """First and last frame index in which the object is wholly inside the frame.

    The generator promises every object at least three such frames; should one have none, its
    partly visible frames are used rather than dropping it.
    """
    full = [int(f[0]) for f in frames if f[5]] or [int(f[0]) for f in frames]
    return full[0], full[-1]


def street_truth(truth: Mapping[str, Any]) -> tuple[Truth, float]:
    """Entities of the street world's truth JSON, and its "now".

    One track per object, spanning its first to last fully visible frame, with its label,
    the first accepted ``upper_colour`` (people) and its ``plate`` (letters and digits only);
    no audio, no signs.
    """
    origin, fps = float(truth["start_time"]), float(truth["fps"])
    stream = truth["stream_ids"]["video"]
    tracks: list[Track] = []
    for o in truth["objects"]:
        span = _span(o["frames"])
        attrs: dict[str, AttrValue] = {}
        if o.get("upper_colour"):
            attrs["upper_colour"] = str(o["upper_colour"][0])
        if o.get("plate"):
            attrs["plate"] = plate_text(str(o["plate"]))
        tracks.append(
            Track(
                stream=stream,
                track_id=int(o["id"]),
                label=str(o["label"]),
                start=origin + span[0] / fps,
                end=origin + span[1] / fps,
                attributes=attrs,
            )
        )
    return Truth(tuple(tracks), (), (), (), {stream: STREET_PLACE}), _now(truth)


def media_archive(name: str, root: Path, *, seed: int = 7) -> tuple[Archive, Path]:
    """World `name` ("demo": the shapes world, or "street") generated under `root` and run
    through its pipeline, as `senri demo` does: the benchmark's `Archive` (truth, clock,
    places) and the SQLite store the pipeline wrote."""
    from senri import worlds

    world, truth_file, read = {
        "demo": ("shapes", "truth.json", demo_truth),
        "street": ("street", "street_truth.json", street_truth),
    }[name]
    result, _ = worlds.run(world, root, seed=seed)
    doc = worlds.load_truth(root / truth_file)
    truth, now = read(doc)
    archive = Archive([], truth, now, dict(truth.places), float(doc["start_time"]))
    return archive, Path(result.stores["events"])
