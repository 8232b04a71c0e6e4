"""Typed plans: what a question asks, before any store is touched.

A `Plan` names its type (count, duration, exists, list, when, which, colour, distinct,
compare, said), the `Subject` it is about (an event kind, labels, attribute conditions,
words), the streams and time window, and, for questions across modalities, an `anchor`:
another subject whose moments bound the time ("what was said on mic 2 *when the siren
sounded*"; or after it, or before it).

Plans are plain data: `to_dict` shows them in answers (``plan``) so a user can see how the
question was read, and the executor compiles them into `senri.indexes.events.query` filters only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from senri.ask.timeparse import Window

AFTER = 300.0
DURING = 1.0
"""Seconds of slack for 'when' and 'while': a detector or a VAD marks a span a frame or a
window late, so a sound that ends as an object enters still counts as at the same time."""
AROUND = 5.0
"""Seconds either side of the anchor for 'around the time of' and 'near'."""
"""'After the siren' means within five minutes after it ended; 'before' within five before."""


@dataclass(frozen=True)
class Condition:
    """An attribute must equal one of `values` (an Or over `fields`, e.g. colour of anything)."""

    fields: tuple[str, ...]
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Subject:
    """Which events: their kind, labels (empty: any), attribute conditions, words in text."""

    kind: str
    labels: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    words: tuple[str, ...] = ()
    noun: str = ""
    """How the answer names one of them ("red car", "person with a backpack")."""

    @property
    def tracked(self) -> bool:
        """Objects are counted by track; spans (speech, sounds) one by one."""
        return self.kind == "object"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "labels": list(self.labels),
            "conditions": [
                {"fields": list(c.fields), "values": list(c.values)} for c in self.conditions
            ],
            "words": list(self.words),
        }


@dataclass(frozen=True)
class Plan:
    type: str
    subject: Subject
    streams: tuple[str, ...] = ()
    window: Window | None = None
    field: str | None = None
    """For list / which / distinct / colour: the field whose values answer."""
    other: Subject | None = None
    """For compare: the second subject (None: the same subject on `other_streams`)."""
    other_streams: tuple[str, ...] = ()
    other_window: Window | None = None
    """For compare: the second side's time ("before 10:00 or after"); None: `window`."""
    other_relation: str = ""
    """For compare: "before" / "after" the anchor for the second side ("more objects before
    the siren or after it"); the first side's is `relation`."""
    side_names: tuple[str, ...] = ()
    """For compare: each side as the question named it ("first half", "after"), if it did."""
    anchor: Subject | None = None
    anchor_streams: tuple[str, ...] = ()
    relation: str = "during"
    """How the answer's events relate to the anchor: during it (overlapping, give or take
    `DURING` seconds of detection lag), around it (within `AROUND` seconds), or within
    `AFTER` seconds after / before it."""
    until: Subject | None = None
    """For relation "between": the second anchor ("between the horn and the siren")."""
    times: tuple[int, int | None] = (1, None)
    """How many occurrences a listed value needs, at least and at most: "which colours
    appeared more than once" is (2, None), "only once" (1, 1)."""
    anchor_pick: str = ""
    """Which anchor, when the question names one: "before the first sentence" ("first",
    "last", "second" ...); "": every anchor."""
    anchor_onset: bool = False
    """The anchor's start, not its whole span: "when the orange shape arrived"."""
    anchor_end: bool = False
    """The anchor's end, not its whole span: "when the horse left", "when the siren stopped"."""
    arrivals: bool = False
    """Things that appeared within the window ("what appeared after 10:00:15"), not every
    thing in view during it ("what was on camera between 10:00 and 10:05")."""
    pick: str = ""
    """'first' / 'last' for when-questions, 'most' / 'least' for which-questions."""
    threshold: tuple[str, int] | None = None
    """For "were there more than 5 objects": ("more" | "fewer", 5), a count checked."""
    claim: tuple[str, ...] = ()
    """For "was the siren longer than the horn": the labels that must win the which-question
    for a yes."""
    confidence: float = 1.0
    """How sure the reading is: lower when words were matched by meaning, not by the table."""
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        w = self.window
        return {
            "type": self.type,
            "subject": self.subject.to_dict(),
            "streams": list(self.streams),
            "window": None if w is None else {"start": w.start, "end": w.end, "text": w.describe()},
            "field": self.field,
            "other": None if self.other is None else self.other.to_dict(),
            "other_streams": list(self.other_streams),
            "other_window": None if self.other_window is None else self.other_window.describe(),
            "other_relation": self.other_relation,
            "anchor": None if self.anchor is None else self.anchor.to_dict(),
            "anchor_streams": list(self.anchor_streams),
            "relation": self.relation if self.anchor is not None else None,
            "until": None if self.until is None else self.until.to_dict(),
            "times": list(self.times),
            "anchor_pick": self.anchor_pick,
            "anchor_onset": self.anchor_onset,
            "anchor_end": self.anchor_end,
            "pick": self.pick,
            "claim": list(self.claim),
            "threshold": list(self.threshold) if self.threshold else None,
            "arrivals": self.arrivals,
            "confidence": round(self.confidence, 3),
            "notes": list(self.notes),
        }


class Refusal(Exception):  # noqa: N818 (a refusal is an answer, not a failure)
    """The question cannot be answered from the archive; `reason` says why, for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
