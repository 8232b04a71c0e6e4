"""Questions a short camera-and-microphone archive gets: animals, colours without a noun,
the first seconds of a recording, and partners of a join counted by their majority label."""

from __future__ import annotations

import pytest

from senri.ask.engine import Asker
from senri.ask.vocab import Vocabulary
from senri.indexes.events.store import MemoryEventStore
from senri.records import Event

pytestmark = pytest.mark.unit
T0 = 1_767_261_600.0


def track(stream: str, tid: int, start: float, labels: list[str], colour: str) -> list[Event]:
    attrs = {"colour": colour}
    return [Event(f"{stream}-{tid}-{i}", stream, T0 + start + i, "object", label, 0.8,
                  track_id=tid, attributes=attrs) for i, label in enumerate(labels)]  # fmt: skip


@pytest.fixture(scope="module")
def asker() -> Asker:
    store = MemoryEventStore()
    store.put(
        track("cam1", 1, 1, ["horse"] * 3, "brown")
        + track("cam1", 2, 20, ["motorcycle", "horse", "motorcycle", "motorcycle"], "red")
        + track("cam1", 3, 40, ["dog"] * 2, "red")
        + track("cam1", 4, 50, ["car"] * 2, "blue")
        + [Event("s1", "mic1", T0 + 2, "transcript", "speech", 0.9, end_time=T0 + 4,
                 text="look at that horse")]
        + [Event("s2", "mic1", T0 + 21, "transcript", "speech", 0.9, end_time=T0 + 22,
                 text="loud bike")]
        + [Event("s3", "mic1", T0 + 45, "transcript", "speech", 0.9, end_time=T0 + 46,
                 text="here comes a car")]
    )  # fmt: skip
    places = {"cam1": "yard", "mic1": "yard"}
    return Asker(store, now=T0 + 60, places=places, vocab=Vocabulary())


def test_animals_are_a_group(asker: Asker) -> None:
    assert asker.ask("how many animals passed?").value == 2  # a horse and a dog
    assert set(asker.ask("which animals were seen?").short.split(", ")) == {"horse", "dog"}


def test_colour_questions_need_no_noun(asker: Asker) -> None:
    assert asker.ask("how many different colours were there?").value == 3
    assert asker.ask("which colour was seen most?").short == "red"


def test_the_first_seconds_of_a_recording(asker: Asker) -> None:
    answer = asker.ask("how many things moved past the camera in the first 30 seconds?")
    assert answer.value == 2 and "10:00:01 to 10:00:31" in answer.text  # from the first event
    assert asker.ask("how many objects in the last 15 seconds?").value == 1  # the car


def test_a_join_anchors_on_tracks_that_are_mostly_their_label(asker: Asker) -> None:
    said = asker.ask("what was said when the horse was on camera?")
    # one horse track (the motorcycle with one horse frame is no horse): its words only
    assert said.short == "look at that horse", said.text
    assert "during the horse at 10:00:01–10:00:03 on cam1" in said.text.lower()


def test_while_means_overlapping_and_around_means_within_seconds(asker: Asker) -> None:
    # the dog is in view 10:00:40-10:00:41; "here comes a car" is said at 10:00:45-46
    assert asker.ask("what was said while the dog was on camera?").short == "none"
    near = asker.ask("what was said around the time the dog was on camera?")
    assert near.short == "here comes a car", near.text
    assert "around the dog" in near.text.lower()


def test_clock_times_to_the_second_and_shapes(asker: Asker) -> None:
    between = asker.ask("how many objects between 10:00:19 and 10:00:45?")
    assert between.value == 2 and "10:00:19 to 10:00:45" in between.text  # motorcycle, dog
    seen = asker.ask("what was on camera at 10:00:41?")
    assert seen.short == "dog" and "red dog" in seen.text, seen.text  # the kind, then details
    assert asker.ask("how many shapes crossed the screen?").value == 4


def test_halves_of_the_recording(asker: Asker) -> None:
    first = asker.ask("how many objects in the first half?")  # 10:00:01 to 10:00:30.5
    assert first.value == 2 and "10:00:01 to 10:00:30" in first.text
    assert asker.ask("how many objects in the second half?").value == 2  # the dog, the car


def test_which_sentence_first_or_last(asker: Asker) -> None:
    assert asker.ask("which sentence was spoken first?").short == "look at that horse"
    assert asker.ask("which phrase was said last?").short == "here comes a car"


def test_a_track_began_when_its_thing_came_into_view() -> None:
    """`vision.track` ids a track a few frames after its first detection; the events' own
    `first_seen` says when the thing came into view, and windows and times go by that."""

    def confirmed(tid: int, first: float, start: float, end: float, colour: str) -> list[Event]:
        extra = {"colour": colour, "first_seen": T0 + first}
        return [
            Event(f"k{tid}-{t}", "cam1", T0 + t, "motion", "object", 0.9, track_id=tid,
                  attributes=extra)
            for t in (start, (start + end) / 2, end)
        ]  # fmt: skip

    store = MemoryEventStore()
    recording = Event("r", "mic1", T0, "sound", "loud", 0.9, end_time=T0 + 1)
    horn = Event("h", "mic1", T0 + 3, "sound", "car_horn", 0.9, end_time=T0 + 4)
    siren = Event("s", "mic1", T0 + 6.2, "sound", "siren", 0.9, end_time=T0 + 7)
    store.put(
        confirmed(1, 4.8, 5.2, 7.0, "blue") + confirmed(2, 6, 6.4, 8, "red")
        + [recording, horn, siren]
    )  # fmt: skip
    asker = Asker(store, now=T0 + 60, vocab=Vocabulary())
    before = asker.ask("how many objects appeared before 10:00:05?")
    assert before.value == 1 and "2026-01-01 before 10:00:05" in before.text, before.text
    assert asker.ask("what colours were seen before 10:00:05?").short == "blue"
    assert asker.ask("how many objects appeared after 10:00:05?").value == 1  # only the red
    assert asker.ask("what colour was the first object?").short == "blue"
    assert "10:00:04" in asker.ask("when did the blue object appear?").text
    between = asker.ask("what colours appeared between the horn and the siren?")
    assert between.short == "blue, red", between.text  # the red came into view at 6.0 s
    before = asker.ask("how many objects appeared before the siren?")  # the siren at 6.2 s
    assert before.value == 2, before.text


def test_which_colour_came_in_after_one_is_the_next_one() -> None:
    def thing(tid: int, start: int, colour: str) -> list[Event]:
        return [
            Event(f"c{tid}-{t}", "cam1", T0 + t, "motion", "object", 0.9, track_id=tid,
                  attributes={"colour": colour})
            for t in range(start, start + 3)
        ]  # fmt: skip

    store = MemoryEventStore()
    store.put(thing(1, 10, "purple") + thing(2, 12, "green") + thing(3, 13, "orange"))
    asker = Asker(store, now=T0 + 60, vocab=Vocabulary())
    after = asker.ask("which colour came in after the purple one?")
    assert after.short == "green", after.text  # the next, not a tie of all that came later


@pytest.mark.parametrize(
    "question",
    [
        "what was on the cameras when someone said loud bike?",
        "what did the cameras see while someone said loud bike?",
        "what was recorded in the yard while someone said loud bike?",  # cam1 and mic1
    ],
)
def test_a_join_that_names_only_cameras_asks_what_they_saw(asker: Asker, question: str) -> None:
    # "loud bike" is said 10:00:21-22, while the red motorcycle (10:00:20-23) is in view
    answer = asker.ask(question)
    assert not answer.refused and answer.short == "motorcycle", answer.text


def test_a_modal_or_activity_is_not_a_property_asked_for(asker: Asker) -> None:
    heard = asker.ask("what could be heard while the dog was on camera?")
    # "could" is no property ("the coulds of things"): it asks for sounds, which this lacks
    assert "no sounds are recorded" in heard.text, heard.text
    assert not asker.ask("what activity was there when someone said loud bike?").refused
