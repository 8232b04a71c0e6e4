"""Colour questions said the ways people say them: shades and hues, "the predominant
colour", "most common car colour?", "the first car: its colour?", and a colour checked
("was the first car orange", "is the most common car colour white")."""

from __future__ import annotations

import pytest

from senri.ask.engine import Asker
from senri.ask.vocab import Vocabulary
from senri.indexes.events.store import MemoryEventStore
from senri.records import Event

pytestmark = pytest.mark.unit
T0 = 1_767_261_600.0


def track(tid: int, start: float, label: str, colour: str) -> list[Event]:
    return [Event(f"cam1-{tid}-{i}", "cam1", T0 + start + i, "object", label, 0.8,
                  track_id=tid, attributes={"colour": colour}) for i in range(3)]  # fmt: skip


@pytest.fixture(scope="module")
def asker() -> Asker:
    store = MemoryEventStore()
    store.put(
        track(1, 1, "car", "orange")
        + track(2, 10, "car", "grey")
        + track(3, 20, "car", "grey")
        + track(4, 30, "car", "white")
        + track(5, 40, "bus", "purple")
        + [Event("e1", "mic1", T0 + 5, "sound", "engine_idling", 0.7, end_time=T0 + 9)]
        + [Event("s1", "mic1", T0 + 12, "transcript", "speech", 0.9, end_time=T0 + 14,
                 text="the grey car is back")]
    )  # fmt: skip
    return Asker(store, now=T0 + 60, places={"cam1": "yard", "mic1": "yard"}, vocab=Vocabulary())


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("What shade was the first car?", "orange"),
        ("Which hue was the last car?", "white"),
        ("Most common car colour?", "grey"),
        ("What's the predominant colour of cars?", "grey"),
        ("What was the top colour among cars?", "grey"),
        ("The first car: its colour?", "orange"),
        ("Identify the colour of the bus", "purple"),
        ("Was the first car red or blue?", "orange"),  # neither: the colour says so
        ("What colour were most cars?", "grey"),  # the most common, not each one's
    ],
)
def test_colour_asked_another_way(asker: Asker, question: str, short: str) -> None:
    assert asker.ask(question).short == short


def test_how_things_were_coloured_lists_each_colour(asker: Asker) -> None:
    assert set(asker.ask("How were the cars coloured?").short.split(", ")) == {
        "orange",
        "grey",
        "white",
    }


@pytest.mark.parametrize(
    ("question", "verdict", "said"),
    [
        ("Was the first car orange?", "yes", "Orange"),
        ("Was the first car painted grey?", "no", "Orange"),
        ("Is the most common car colour white?", "no", "Grey"),
        ("Was the last vehicle purple in colour?", "yes", "Purple"),
    ],
)
def test_a_colour_said_is_checked(asker: Asker, question: str, verdict: str, said: str) -> None:
    answer = asker.ask(question)
    assert answer.short == verdict and said in answer.text


def test_a_colour_claim_is_not_an_existence_question(asker: Asker) -> None:
    # "was there a red car" still asks whether there was one, of any order
    assert asker.ask("was there a grey car?").short == "yes"
    assert asker.ask("was there a red car?").short == "no"


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("how many drivers passed?", "5"),  # a driver is a vehicle
        ("were any engines running?", "yes"),  # engine idling
        ("was there any chatter?", "yes"),  # speech
    ],
)
def test_words_for_things_the_archive_holds(asker: Asker, question: str, short: str) -> None:
    assert asker.ask(question).short == short


def test_a_shape_with_its_colour_is_that_thing_and_alone_is_refused(asker: Asker) -> None:
    assert asker.ask("when did the purple square show up?").short == "10:00"  # the bus
    assert asker.ask("how many blobs were there?").value == 5
    circles = asker.ask("how many circles were there?")
    assert circles.refused and "shapes" in circles.text
    biggest = asker.ask("which car was the biggest?")
    assert biggest.refused and "sizes" in biggest.text
    assert not asker.ask("what was the largest number of cars?").refused


@pytest.mark.parametrize(
    "question",
    [
        "Which half had more cars?",
        "Did more cars appear in the first half?",  # than in the second
        "more cars early or late?",
        "did the first half have more cars than the second?",
        "were there more cars at the start or at the end?",
    ],
)
def test_halves_weighed_said_another_way(asker: Asker, question: str) -> None:
    # cars come in at 1, 10, 20 and 30 s of a minute: all in the first half
    answer = asker.ask(question)
    assert answer.short == "first half" and "more in the first half" in answer.text, answer.text


def test_a_time_weighed_against_the_rest(asker: Asker) -> None:
    rest = asker.ask("were there more cars in the first 15 seconds than in the rest?")
    assert rest.value == {"first 15 seconds": 2, "rest": 2}, rest.text
    last = asker.ask("were there more cars in the last 25 seconds?")  # than before them
    assert last.short == "before" and last.value == {"last 25 seconds": 0, "before": 4}
