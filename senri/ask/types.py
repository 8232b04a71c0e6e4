"""What `ask`, `vqa` and structured search return: answers with their evidence.

An `Answer` always carries a sentence for people (`text`), a short form for scoring and
scripts (`short`: digits for counts, ``yes``/``no``, a colour name, ``HH:MM`` times, or a
comma-separated list), the structured `value`, the events it rests on (`evidence`) and a
`confidence` in [0, 1]. A question the archive cannot answer is `refused`, with the `reason`
in `text`, and ``short == "unanswerable"``; nothing is ever made up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from senri.records import Event

UNANSWERABLE = "unanswerable"


@dataclass(frozen=True)
class Evidence:
    """One event an answer rests on, with where to see it."""

    event_id: str
    stream_id: str
    time: float
    kind: str
    label: str
    end_time: float | None = None
    track_id: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    text: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    thumbnail: str | None = None
    """A URL or path of a picture of the moment (``/frames/<stream>/<time>.jpg``), if known."""

    @classmethod
    def of(cls, event: Event, thumbnail: str | None = None) -> Evidence:
        return cls(
            event_id=event.id,
            stream_id=event.stream_id,
            time=event.time,
            kind=event.kind,
            label=event.label,
            end_time=event.end_time,
            track_id=event.track_id,
            bbox=event.bbox,
            text=event.text,
            attributes=dict(event.attributes),
            thumbnail=thumbnail,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "stream_id": self.stream_id,
            "time": self.time,
            "end_time": self.end_time,
            "kind": self.kind,
            "label": self.label,
            "track_id": self.track_id,
            "bbox": list(self.bbox) if self.bbox is not None else None,
            "text": self.text,
            "attributes": self.attributes,
            "thumbnail": self.thumbnail,
        }


@dataclass(frozen=True)
class Answer:
    """The answer to one question."""

    question: str
    text: str
    short: str
    value: Any = None
    type: str = ""
    """The plan type: count, duration, exists, list, when, which, colour, distinct, compare,
    said (or refuse)."""
    evidence: tuple[Evidence, ...] = ()
    confidence: float = 0.0
    refused: bool = False
    plan: dict[str, Any] | None = None
    seconds: float = 0.0

    @classmethod
    def refuse(cls, question: str, reason: str, plan: dict[str, Any] | None = None) -> Answer:
        return cls(
            question=question,
            text=reason,
            short=UNANSWERABLE,
            type="refuse",
            refused=True,
            confidence=1.0,
            plan=plan,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "short": self.short,
            "value": self.value,
            "type": self.type,
            "confidence": round(self.confidence, 3),
            "refused": self.refused,
            "plan": self.plan,
            "evidence": [e.to_dict() for e in self.evidence],
            "seconds": round(self.seconds, 4),
        }
