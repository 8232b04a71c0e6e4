"""The generated `ask` archive and the oracle that answers truth specs from it."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from senri.evaluation.ask.oracle import SpecError, evaluate
from senri.indexes.events import query as q
from senri.indexes.events.sqlite import SqliteEventStore
from senri.indexes.events.store import MemoryEventStore
from senri.operators.colour import COLOURS
from senri.worlds import archive as arc

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def archive() -> arc.Archive:
    return arc.generate(7)


def test_same_seed_same_archive(archive: arc.Archive) -> None:
    again = arc.generate(7)
    assert [e.to_dict() for e in again.events] == [e.to_dict() for e in archive.events]
    assert again.truth == archive.truth
    other = arc.generate(8)
    assert [e.to_dict() for e in other.events] != [e.to_dict() for e in archive.events]


def test_clock_places_and_span(archive: arc.Archive) -> None:
    assert archive.now == 1_795_802_400.0  # 2026-11-27 18:00 UTC
    assert archive.start == 1_795_478_400.0  # 2026-11-24 00:00 UTC
    assert archive.places["cam3"] == "main road" and archive.places["mic2"] == "car park"
    assert all(archive.start <= e.time < archive.now for e in archive.events)
    assert all(e.end_time is None or e.end_time <= archive.now for e in archive.events)
    assert len({e.id for e in archive.events}) == len(archive.events)


def test_tracks_become_one_event_per_second(archive: arc.Archive) -> None:
    by_track = Counter((e.stream_id, e.track_id) for e in archive.events if e.track_id is not None)
    for track in archive.truth.tracks:
        assert by_track[(track.stream, track.track_id)] == round(track.end - track.start) + 1
        assert 2 <= track.end - track.start <= 12
    for stream in arc.CAMERAS:
        ids = [t.track_id for t in archive.truth.tracks if t.stream == stream]
        assert ids == list(range(1, len(ids) + 1))
    for e in archive.events:
        if e.kind == "object" and e.track_id is not None:
            assert 0.5 <= e.confidence <= 0.95 and e.bbox is not None
            assert e.source == f"{e.stream_id}:{round((e.time - arc.START) * arc.FPS)}"


def test_attributes_use_the_colour_operator_names(archive: arc.Archive) -> None:
    for track in archive.truth.tracks:
        attrs = track.attributes
        if track.label in arc.VEHICLES:
            assert attrs["vehicle_type"] == track.label and attrs["colour"] in COLOURS
            plate = str(attrs["plate"])
            assert plate == "" or (len(plate) == 10 and " " not in plate)
        if track.label == "person":
            assert attrs["upper_colour"] in COLOURS and attrs["lower_colour"] in COLOURS
            assert all(isinstance(attrs[f], bool) for f in arc.PERSON_FLAGS)


def test_noise_is_untracked_and_not_truth(archive: arc.Archive) -> None:
    noise = [e for e in archive.events if e.kind == "object" and e.track_id is None]
    assert noise and all(e.confidence < 0.35 for e in noise)


def test_spans_and_cross_modal_coincidences(archive: arc.Archive) -> None:
    truth = archive.truth
    assert all(2 <= u.end - u.start <= 6 for u in truth.utterances)
    sirens = [s for s in truth.sounds if s.label == "siren"]
    assert 1 <= len(sirens) <= 5
    for siren in sirens:
        assert any(
            u.stream == siren.stream and u.start <= siren.end and u.end >= siren.start
            for u in truth.utterances
        )
    transcripts = [e for e in archive.events if e.kind == "transcript"]
    assert len(transcripts) == len(truth.utterances)
    assert all(e.attributes == {"language": "en"} and e.end_time for e in transcripts)


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_store_archive_writes_every_event(archive: arc.Archive, store_kind: str) -> None:
    store: Any = MemoryEventStore() if store_kind == "memory" else SqliteEventStore()
    try:
        assert arc.store_archive(archive, store) == len(archive.events)
        assert store.count() == len(archive.events)
        assert store.count(q.Eq("kind", "sound")) == len(archive.truth.sounds)
    finally:
        store.close()


def _truth() -> arc.Truth:
    base = arc.START + 2 * arc.DAY + 10 * 3600  # Thu 26 Nov 10:00
    tracks = (
        arc.Track("cam3", 1, "car", base - 3, base + 4, {"colour": "red", "plate": "KA01AB0001"}),
        arc.Track("cam3", 2, "car", base + 100.0, base + 105, {"colour": "red", "plate": ""}),
        arc.Track("cam3", 3, "car", base + 200.0, base + 205, {"colour": "blue", "plate": ""}),
        arc.Track("cam3", 4, "truck", base + 290.0, base + 296, {"colour": "white"}),
        arc.Track("cam1", 1, "person", base + 10, base + 15, {"upper_colour": "red"}),
    )
    utterances = (arc.Utterance("mic1", 1, "an ambulance is coming", base + 302, base + 305),)
    sounds = (arc.Sound("mic1", 1, "siren", base + 300, base + 310),)
    return arc.Truth(tracks, utterances, sounds, ())


CAR = {"of": "tracks", "label": "car", "stream": "cam3"}


@pytest.mark.parametrize(
    ("spec", "references"),
    [
        ({"op": "count", **CAR, "from": "2026-11-26T10:00"}, ("2", "2", "2", "3")),
        ({"op": "count", **CAR, "attrs": {"colour": "blue"}}, ("1",) * 3),
        ({"op": "exists", "of": "tracks", "label": "bus"}, ("no",) * 3),
        ({"op": "when", **CAR, "pick": "last"}, ("10:03",) * 3),
        ({"op": "when", "of": "tracks", "label": "truck"}, ("10:04", "10:04", "10:04", "10:05")),
        ({"op": "colour", **CAR}, ("red",) * 3),
        ({"op": "list", **CAR, "field": "plate"}, ("KA01AB0001",) * 3),
        ({"op": "distinct", "of": "tracks", "field": "stream"}, ("2",) * 3),
        (
            {"op": "which", "of": "tracks", "field": "stream"},
            ("cam3", "cam3", "cam3", "camera 3", "main road"),
        ),
        (
            {"op": "compare", "a": {**CAR}, "b": {"of": "tracks", "label": "truck"}},
            ("car",) * 3,
        ),
        (
            {
                "op": "compare",
                "a": {"of": "tracks", "label": "truck"},
                "b": {"of": "tracks", "label": "person"},
            },
            ("same",) * 3,
        ),
        (
            {
                "op": "join",
                "of": {"of": "utterances"},
                "near": {"of": "sounds", "label": "siren"},
                "answer": "text",
            },
            ("an ambulance is coming",) * 3,
        ),
        (
            {
                "op": "join",
                "of": {"of": "tracks"},
                "near": {"of": "sounds", "label": "siren"},
                "within": 60,
                "answer": "exists",
            },
            ("no",) * 3,  # the truck on cam3 is close in time but not at the same place
        ),
        ({"op": "unanswerable", "reason": "the future"}, ("unanswerable",) * 3),
    ],
)
def test_oracle_answers_and_references(spec: dict[str, Any], references: tuple[str, ...]) -> None:
    assert evaluate(spec, _truth()).references == references


def test_oracle_flags_ties_and_rejects_bad_specs() -> None:
    tie = evaluate({"op": "colour", "of": "tracks", "label": ["car", "truck"]}, _truth())
    assert tie.ambiguous is False
    even = {"op": "colour", "of": "tracks", "stream": "cam3", "from": "2026-11-26T10:01:30"}
    assert evaluate(even, _truth()).ambiguous
    with pytest.raises(SpecError):
        evaluate({"op": "count", "of": "tracks", "colour_of": "red"}, _truth())
    with pytest.raises(SpecError):
        evaluate({"op": "guess"}, _truth())
    with pytest.raises(SpecError):
        evaluate({"op": "unanswerable"}, _truth())
