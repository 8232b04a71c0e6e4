"""The failover matrix's comparison and its crash switch: what they count, and what they refuse."""

from __future__ import annotations

from typing import Any

import pytest

from senri.engine.kafka_runtime import Crash
from senri.evaluation.failover import compare


def _event(i: int, **changes: Any) -> dict[str, Any]:
    event = {
        "id": f"e{i}",
        "kind": "motion",
        "label": "object",
        "stream_id": "cam1",
        "time": 100.0 + i,
        "track_id": i % 3,
        "text": None,
    }
    return {**event, **changes}


REFERENCE = {f"e{i}": _event(i) for i in range(6)}


def test_an_identical_run_is_clean() -> None:
    published = list(REFERENCE.values())
    outcome = compare("same", REFERENCE, dict(REFERENCE), published, 1.0)
    assert outcome.clean
    assert outcome.events == 6


def test_lost_duplicated_and_changed_are_told_apart() -> None:
    stored = {k: v for k, v in REFERENCE.items() if k != "e0"}  # lost
    stored["e1"] = _event(1, track_id=7)  # a reused track id: changed
    stored["x9"] = _event(9, id="x9")  # an id the reference does not have
    outcome = compare("mixed", REFERENCE, stored, list(stored.values()), 1.0)
    assert (outcome.lost, outcome.duplicated, outcome.changed) == (1, 1, 1)
    assert (outcome.topic_lost, outcome.topic_duplicated, outcome.topic_changed) == (1, 1, 1)
    assert not outcome.clean
    assert any(line.startswith("lost motion/object of cam1") for line in outcome.examples)
    assert any('"track_id": [1, 7]' in line for line in outcome.examples)


def test_an_event_published_twice_is_a_topic_duplicate() -> None:
    """The store upserts by id and hides a replay; the results topic does not."""
    published = [*REFERENCE.values(), REFERENCE["e2"], REFERENCE["e2"]]
    outcome = compare("replayed", REFERENCE, dict(REFERENCE), published, 1.0)
    assert (outcome.lost, outcome.duplicated, outcome.changed) == (0, 0, 0)
    assert outcome.topic_duplicated == 2
    assert not outcome.clean


def test_crash_points_parse_and_bad_ones_are_refused() -> None:
    assert Crash.parse("state:senri.frames.cam1:40") == Crash("state", "senri.frames.cam1", 40)
    assert Crash.parse("results:t:3", "/tmp/m").marker == "/tmp/m"
    with pytest.raises(ValueError, match=r"expected results\|state:TOPIC:OFFSET"):
        Crash.parse("commit:t:3")
    with pytest.raises(ValueError, match="invalid literal"):
        Crash.parse("state:t:many")
