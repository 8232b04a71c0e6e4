"""The ask engine learns what events are from the operators that write them (`Emits`)."""

from __future__ import annotations

from typing import Any

import pytest

from senri.ask.engine import Asker
from senri.ask.schema import kinds
from senri.ask.vocab import Vocabulary
from senri.engine.operator import Emits, Operator, Stateless, registry
from senri.indexes.events.store import MemoryEventStore
from senri.records import Event, Frame, FrameDetections

pytestmark = pytest.mark.unit
T0 = 1_767_261_600.0


class AnimalSpotter(Stateless, Operator[Frame, FrameDetections]):
    """A new operator: it writes `animal` events and says they are things on camera."""

    name = "test.animals"
    input_type = Frame
    output_type = FrameDetections
    emits = (Emits("animal", "video", "objects"),)

    def process(self, items: list[Frame]) -> list[Any]:
        return []


def archive() -> MemoryEventStore:
    store = MemoryEventStore()
    store.put(
        [Event(f"a{t}-{i}", "cam9", T0 + 10 * t + i, "animal", label, 0.8, track_id=t)
         for t, label in enumerate(["dog", "dog", "fox"]) for i in range(3)]
        + [Event("s", "mic1", T0, "transcript", "speech", 0.9, end_time=T0 + 2, text="hello")]
    )  # fmt: skip
    return store


def test_the_built_in_operators_declare_what_their_events_are() -> None:
    declared = kinds()
    assert set(declared.things) == {"motion", "object"}
    assert {"transcript", "sound", "dialect", "speech"} <= set(declared.audio)
    assert {"face", "text"} <= set(declared.video)
    assert declared.noun("dialect") == "accents" and declared.noun("speech") is None


def test_a_new_operators_events_become_askable_by_declaring_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = Asker(archive(), now=T0 + 60, vocab=Vocabulary())
    refused = before.ask("how many objects were on cam9?")
    assert refused.refused and "no objects are recorded on cam9" in refused.text
    assert "speech on mic1" in refused.text  # what the archive does hold, and nothing of cam9
    assert "cam9" not in before.holdings()

    monkeypatch.setitem(registry._ops, AnimalSpotter.name, AnimalSpotter)
    after = Asker(archive(), now=T0 + 60, vocab=Vocabulary())
    counted = after.ask("how many objects were on cam9?")
    assert not counted.refused and counted.value == 3, counted.text  # three tracks
    assert after.ask("how many dogs were on cam9?").value == 2
    assert "objects on cam9" in after.holdings()


def test_loud_is_a_level_not_a_kind_of_sound() -> None:
    store = MemoryEventStore()
    store.put([Event("l1", "mic1", T0, "sound", "loud", 0.9, end_time=T0 + 1),
               Event("l2", "mic1", T0 + 5, "sound", "loud", 0.9, end_time=T0 + 6),
               Event("h1", "mic1", T0 + 5, "sound", "siren", 0.7, end_time=T0 + 6)])  # fmt: skip
    asker = Asker(store, now=T0 + 10, vocab=Vocabulary())
    assert asker.ask("what kinds of sounds were there?").short == "siren"
    only_loud = MemoryEventStore()
    only_loud.put([Event("l1", "mic1", T0, "sound", "loud", 0.9, end_time=T0 + 1)])
    alone = Asker(only_loud, now=T0 + 10, vocab=Vocabulary())
    assert alone.ask("what kinds of sounds were there?").short == "loud"  # nothing else known
