"""A generated archive for the `ask` benchmark: events as senri's pipelines store them, plus truth.

Four days of a small site (Tue 24 Nov 2026 00:00 UTC to Fri 27 Nov 2026 18:00 UTC): four cameras
and two microphones. Every object track, utterance, sound and sign is generated first as a truth
entity; the events are then written from those entities the way the smoothed vision pipeline,
the speech pipeline and the sound tagger write them (one object event per second of a track,
one transcript or sound event per span). A few low-confidence untracked detections are added
as noise; they are events but never truth. Everything follows from the seed.

Example:
    >>> archive = generate(seed=7)
    >>> archive.places["cam3"]
    'main road'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from senri.indexes.events.store import EventStore
from senri.records import AttrValue, Event

START = datetime(2026, 11, 24, tzinfo=UTC).timestamp()
NOW = datetime(2026, 11, 27, 18, tzinfo=UTC).timestamp()
DAY = 86_400.0
CAMERAS = {"cam1": "entrance", "cam2": "car park", "cam3": "main road", "cam4": "loading dock"}
MICS = {"mic1": "entrance", "mic2": "car park"}
PLACES = {**CAMERAS, **MICS}
FRAME_SIZE = (1280, 720)
FPS = 10

VEHICLES = ("car", "truck", "bus", "motorcycle")
# Colour names, all from `senri.operators.colour.COLOURS`, with how common each is on vehicles.
COLOUR_WEIGHTS = {
    "black": 5,
    "white": 6,
    "grey": 4,
    "red": 3,
    "orange": 1,
    "yellow": 1,
    "green": 1,
    "blue": 3,
    "purple": 1,
}
CLOTHES_WEIGHTS = {**COLOUR_WEIGHTS, "black": 7, "blue": 5, "grey": 4, "white": 3}
LABEL_MIX: dict[str, dict[str, float]] = {
    "cam1": {"person": 0.7, "dog": 0.1, "bicycle": 0.1, "car": 0.05, "motorcycle": 0.05},
    "cam2": {"car": 0.5, "person": 0.35, "motorcycle": 0.05, "truck": 0.05, "dog": 0.05},
    "cam3": {
        "car": 0.5,
        "truck": 0.12,
        "bus": 0.1,
        "motorcycle": 0.1,
        "bicycle": 0.1,
        "person": 0.08,
    },
    "cam4": {"truck": 0.45, "person": 0.4, "car": 0.1, "dog": 0.05},
}
PERSON_FLAGS = {
    "backpack": 0.25,
    "handbag": 0.15,
    "suitcase": 0.06,
    "umbrella": 0.1,
    "phone": 0.2,
    "riding": 0.04,
}
TRACK_ATTRIBUTES = (
    "vehicle_type",
    "colour",
    "plate",
    "upper_colour",
    "lower_colour",
    *PERSON_FLAGS,
)
PLATE_STATES = ("KA", "MH", "TN", "DL", "KL")
SOUND_WEIGHTS = {
    "dog_bark": 2,
    "car_horn": 3,
    "children_playing": 1,
    "street_music": 1,
    "drilling": 1,
    "engine_idling": 3,
    "jackhammer": 1,
    "gun_shot": 0.2,
    "air_conditioner": 2,
}
SIGNS = {"cam1": ("EXIT", "WELCOME"), "cam2": ("NO PARKING",), "cam4": ("DELIVERIES ONLY",)}
SENTENCES = (
    "please move the blue van away from the gate",
    "the delivery for unit four has arrived",
    "can someone open the side door",
    "the barrier at the car park is stuck again",
    "we need more trolleys at the entrance",
    "there is a parcel waiting at reception",
    "the lorry is blocking the loading bay",
    "could the driver of the white car come to the desk",
    "the lift on the ground floor is out of order",
    "please keep the fire exit clear",
    "the cleaners will be here at six",
    "has anyone seen the keys for the shed",
    "the visitor is waiting at the front door",
    "the shift change is in ten minutes",
    "we are closing the car park early today",
    "the coffee machine is broken again",
    "please mind the wet floor near the stairs",
    "the courier wants a signature",
    "there is a dog loose near the entrance",
    "an ambulance is coming down the main road",
    "stand back from the road please",
    "the fire engine went past the gate",
    "somebody is honking at the barrier",
    "move along please you cannot stop here",
    "the parking meter is not taking cards",
    "the bus is running late this morning",
    "the forklift needs charging",
    "the pallets go to bay two",
    "lock the shutter when you leave",
    "the alarm test is at noon",
    "who left the bicycle by the door",
    "the cyclist nearly hit the post",
    "that car has been parked there all day",
    "the security guard is on his break",
    "there is a leak in the roof of the shed",
    "please sign in at the front desk",
    "the taxi is waiting outside",
    "turn off the engine while you wait",
    "the lights in the car park are flickering",
    "the last delivery is at five",
)
SIREN_LINES = (
    "an ambulance is coming down the main road",
    "stand back from the road please",
    "the fire engine went past the gate",
)
HORN_LINES = ("somebody is honking at the barrier", "move along please you cannot stop here")


@dataclass(frozen=True)
class Track:
    """One object followed by a camera's tracker from `start` to `end` (epoch seconds)."""

    stream: str
    track_id: int
    label: str
    start: float
    end: float
    attributes: dict[str, AttrValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Utterance:
    """One transcribed sentence heard by a microphone."""

    stream: str
    index: int
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Sound:
    """One span of a tagged sound heard by a microphone."""

    stream: str
    index: int
    label: str
    start: float
    end: float


@dataclass(frozen=True)
class Sign:
    """Text read (OCR) from a camera's picture at one moment."""

    stream: str
    index: int
    text: str
    start: float


@dataclass(frozen=True)
class Truth:
    """What really happened: the entities questions are answered from, and where each stream
    is (a join pairs a camera and a microphone at the same place)."""

    tracks: tuple[Track, ...]
    utterances: tuple[Utterance, ...]
    sounds: tuple[Sound, ...]
    signs: tuple[Sign, ...]
    places: Mapping[str, str] = field(default_factory=lambda: dict(PLACES))


@dataclass(frozen=True)
class Archive:
    """Events as stored, the truth behind them, the archive's clock and where each stream is."""

    events: list[Event]
    truth: Truth
    now: float
    places: dict[str, str]
    start: float


def _pick(rng: np.random.Generator, weights: Mapping[str, float]) -> str:
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _plate(rng: np.random.Generator) -> str:
    if rng.random() < 0.15:
        return ""
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    state = PLATE_STATES[int(rng.integers(len(PLATE_STATES)))]
    two = "".join(letters[int(i)] for i in rng.integers(0, len(letters), 2))
    return f"{state}{int(rng.integers(1, 60)):02d}{two}{int(rng.integers(0, 10_000)):04d}"


def _attributes(rng: np.random.Generator, label: str) -> dict[str, AttrValue]:
    if label in VEHICLES:
        return {"vehicle_type": label, "colour": _pick(rng, COLOUR_WEIGHTS), "plate": _plate(rng)}
    if label == "bicycle":
        return {"colour": _pick(rng, COLOUR_WEIGHTS)}
    if label == "person":
        attrs: dict[str, AttrValue] = {
            "upper_colour": _pick(rng, CLOTHES_WEIGHTS),
            "lower_colour": _pick(rng, CLOTHES_WEIGHTS),
        }
        for flag, p in PERSON_FLAGS.items():
            attrs[flag] = bool(rng.random() < p)
        return attrs
    return {}


def _active_times(rng: np.random.Generator, day: int, n: int) -> list[float]:
    """`n` start times on `day` (0 = 24 Nov) between 06:00 and 22:00, all before now."""
    base = START + day * DAY
    hi = min(base + 22 * 3600.0, NOW - 120.0)
    times = rng.uniform(base + 6 * 3600.0, hi, n)
    return sorted(round(float(t), 1) for t in times)


def _day_count(rng: np.random.Generator, day: int, lo: int, hi: int) -> int:
    n = int(rng.integers(lo, hi + 1))
    return max(lo // 2, round(n * 12 / 16)) if day == 3 else n


def _tracks(rng: np.random.Generator) -> list[Track]:
    raw: list[tuple[str, str, float, int, dict[str, AttrValue]]] = []
    for day in range(4):
        for cam, mix in LABEL_MIX.items():
            starts = _active_times(rng, day, _day_count(rng, day, 5, 25))
            if rng.random() < 0.3:  # now and then something passes at night
                starts.append(round(START + day * DAY + float(rng.uniform(1, 5)) * 3600.0, 1))
            for t in starts:
                label = _pick(rng, mix)
                raw.append((cam, label, t, int(rng.integers(2, 13)), _attributes(rng, label)))
    tracks: list[Track] = []
    for cam in CAMERAS:
        mine = sorted((r for r in raw if r[0] == cam), key=lambda r: r[2])
        for i, (_, label, t, dur, attrs) in enumerate(mine, start=1):
            tracks.append(Track(cam, i, label, t, t + dur, attrs))
    return tracks


def _spans(rng: np.random.Generator) -> tuple[list[Utterance], list[Sound]]:
    speech: list[tuple[str, str, float, float]] = []
    sounds: list[tuple[str, str, float, float]] = []
    for day in range(4):
        for mic in MICS:
            for t in _active_times(rng, day, _day_count(rng, day, 10, 30)):
                text = SENTENCES[int(rng.integers(len(SENTENCES)))]
                speech.append((mic, text, t, round(float(rng.uniform(2, 6)), 1)))
            for t in _active_times(rng, day, _day_count(rng, day, 3, 7)):
                label = _pick(rng, SOUND_WEIGHTS)
                sounds.append((mic, label, t, round(float(rng.uniform(1, 20)), 1)))
                if label == "car_horn" and rng.random() < 0.5:  # someone reacts to the horn
                    line = HORN_LINES[int(rng.integers(len(HORN_LINES)))]
                    at = round(t + float(rng.uniform(1, 4)), 1)
                    speech.append((mic, line, at, round(float(rng.uniform(2, 4)), 1)))
    # A few sirens in the whole archive, each with someone speaking while it sounds.
    for day in sorted(int(d) for d in rng.choice(4, size=3, replace=False)):
        mic = list(MICS)[int(rng.integers(len(MICS)))]
        t = _active_times(rng, day, 1)[0]
        sounds.append((mic, "siren", t, round(float(rng.uniform(8, 20)), 1)))
        line = SIREN_LINES[int(rng.integers(len(SIREN_LINES)))]
        speech.append((mic, line, round(t + float(rng.uniform(0.5, 4)), 1), 3.5))
    utterances = [
        Utterance(mic, i, text, t, round(t + dur, 1))
        for mic in MICS
        for i, (_, text, t, dur) in enumerate(
            sorted((s for s in speech if s[0] == mic), key=lambda s: s[2]), start=1
        )
    ]
    spans = [
        Sound(mic, i, label, t, round(t + dur, 1))
        for mic in MICS
        for i, (_, label, t, dur) in enumerate(
            sorted((s for s in sounds if s[0] == mic), key=lambda s: s[2]), start=1
        )
    ]
    return utterances, spans


def _barks(rng: np.random.Generator, tracks: Sequence[Track], sounds: list[Sound]) -> list[Sound]:
    """Dogs seen at the entrance or the car park are often heard by that place's microphone."""
    mic_of = {place: mic for mic, place in MICS.items()}
    extra: list[Sound] = []
    for tr in tracks:
        mic = mic_of.get(CAMERAS[tr.stream])
        if tr.label == "dog" and mic is not None and rng.random() < 0.6:
            t = round(tr.start + float(rng.uniform(0, 2)), 1)
            extra.append(Sound(mic, 0, "dog_bark", t, round(t + float(rng.uniform(1, 4)), 1)))
    merged = sorted([*sounds, *extra], key=lambda s: (s.stream, s.start))
    out: list[Sound] = []
    for mic in MICS:
        mine = [s for s in merged if s.stream == mic]
        out += [Sound(mic, i, s.label, s.start, s.end) for i, s in enumerate(mine, start=1)]
    return out


def _signs(rng: np.random.Generator) -> list[Sign]:
    signs: list[Sign] = []
    for cam, texts in SIGNS.items():
        times = _active_times(rng, int(rng.integers(0, 4)), 2 * len(texts))
        for i, t in enumerate(times, start=1):
            signs.append(Sign(cam, i, texts[(i - 1) % len(texts)], t))
    return signs


def _bbox(rng: np.random.Generator, label: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    w, h = FRAME_SIZE
    size = {"person": (60, 160), "dog": (70, 50), "bicycle": (110, 90)}.get(label, (220, 140))
    bw, bh = (float(s * rng.uniform(0.8, 1.3)) for s in size)
    start = np.array([rng.uniform(0, w - bw), rng.uniform(h * 0.3, h - bh)])
    stop = np.array([rng.uniform(0, w - bw), rng.uniform(h * 0.3, h - bh)])
    return start, stop, bw, bh


def _frame_seq(t: float) -> int:
    return round((t - START) * FPS)


def _track_events(rng: np.random.Generator, tr: Track) -> list[Event]:
    a, b, bw, bh = _bbox(rng, tr.label)
    steps = round(tr.end - tr.start)
    conf = float(rng.uniform(0.55, 0.9))
    events = []
    for k in range(steps + 1):
        t = round(tr.start + k, 1)
        x, y = a + (b - a) * (k / max(steps, 1))
        seq = _frame_seq(t)
        events.append(
            Event(
                id=Event.make_id(tr.stream, seq, "object", tr.track_id),
                stream_id=tr.stream,
                time=t,
                kind="object",
                label=tr.label,
                confidence=round(min(0.95, max(0.5, conf + float(rng.normal(0, 0.03)))), 3),
                track_id=tr.track_id,
                bbox=(round(x, 1), round(y, 1), round(x + bw, 1), round(y + bh, 1)),
                attributes=dict(tr.attributes),
                source=f"{tr.stream}:{seq}",
            )
        )
    return events


def _noise(rng: np.random.Generator) -> list[Event]:
    """Untracked low-confidence detections: events a pipeline keeps but no truth entity."""
    events = []
    labels = ("car", "person", "dog", "truck", "bicycle", "umbrella", "bench")
    for day in range(4):
        for cam in CAMERAS:
            for t in _active_times(rng, day, int(rng.integers(2, 5))):
                seq = _frame_seq(t)
                x, y = float(rng.uniform(0, 1100)), float(rng.uniform(200, 600))
                events.append(
                    Event(
                        id=Event.make_id(cam, seq, "object", "noise"),
                        stream_id=cam,
                        time=t,
                        kind="object",
                        label=labels[int(rng.integers(len(labels)))],
                        confidence=round(float(rng.uniform(0.15, 0.34)), 3),
                        bbox=(round(x, 1), round(y, 1), round(x + 80, 1), round(y + 80, 1)),
                        source=f"{cam}:{seq}",
                    )
                )
    return events


def _span_events(rng: np.random.Generator, truth: Truth) -> list[Event]:
    events = []
    for u in truth.utterances:
        events.append(
            Event(
                id=Event.make_id(u.stream, "transcript", u.index),
                stream_id=u.stream,
                time=u.start,
                end_time=u.end,
                kind="transcript",
                label="speech",
                confidence=round(float(rng.uniform(0.7, 0.98)), 3),
                text=u.text,
                attributes={"language": "en"},
                source=f"{u.stream}:{int(u.start - START)}",
            )
        )
    for s in truth.sounds:
        events.append(
            Event(
                id=Event.make_id(s.stream, "sound", s.index),
                stream_id=s.stream,
                time=s.start,
                end_time=s.end,
                kind="sound",
                label=s.label,
                confidence=round(float(rng.uniform(0.6, 0.95)), 3),
                source=f"{s.stream}:{int(s.start - START)}",
            )
        )
    for g in truth.signs:
        seq = _frame_seq(g.start)
        events.append(
            Event(
                id=Event.make_id(g.stream, seq, "text", g.index),
                stream_id=g.stream,
                time=g.start,
                kind="text",
                label="text",
                confidence=round(float(rng.uniform(0.8, 0.95)), 3),
                bbox=(400.0, 80.0, 880.0, 160.0),
                text=g.text,
                source=f"{g.stream}:{seq}",
            )
        )
    return events


def generate(seed: int = 7) -> Archive:
    """The archive for `seed`: the same seed always gives the same events and truth."""
    rng = np.random.default_rng(seed)
    tracks = _tracks(rng)
    utterances, sounds = _spans(rng)
    sounds = _barks(rng, tracks, sounds)
    truth = Truth(tuple(tracks), tuple(utterances), tuple(sounds), tuple(_signs(rng)))
    events = [e for tr in tracks for e in _track_events(rng, tr)]
    events += _noise(rng) + _span_events(rng, truth)
    events.sort(key=lambda e: (e.time, e.stream_id, e.id))
    return Archive(events=events, truth=truth, now=NOW, places=dict(PLACES), start=START)


def store_archive(archive: Archive, store: EventStore, batch: int = 2_000) -> int:
    """Put every event of `archive` into `store`, flush, and return how many were written."""
    for i in range(0, len(archive.events), batch):
        store.put(archive.events[i : i + batch])
    store.flush()
    return len(archive.events)
