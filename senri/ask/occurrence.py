"""Occurrences: one track or one span of events, as questions count and describe them, and
the small helpers that read, filter and word them (times, colours, plurals, zones).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from senri.ask.schema import kinds
from senri.ask.vocab import plural
from senri.errors import QueryError
from senri.indexes.events import query as q
from senri.records import Event


def describe(o: Occurrence) -> str:
    """A thing on camera as a person would name it: "red car", "blue object", "person"."""
    colour = o.value("attributes.colour") or o.value("attributes.upper_colour")
    label = str(o.value("label") or "object")
    return f"{colour} {label}" if colour else label


def phrase(thing: str, n: int) -> str:
    """'1 person in red', '2 red cars', '1 face'."""
    words = thing.split(" ")
    colour, label = (words[0], " ".join(words[1:])) if len(words) > 1 else ("", thing)
    if label == "person":
        noun = "person" if n == 1 else "people"
        return f"{n} {noun} in {colour}" if colour else f"{n} {noun}"
    return f"{n} {plural(thing, n)}"


def kind_filter(kind: str) -> q.Filter:
    """Events of `kind`; for objects, every kind the operators declare a thing on camera."""
    if kind == "object":
        return q.In("kind", kinds().things)
    return q.Eq("kind", kind)


@dataclass
class Occurrence:
    """One track (objects) or one span (speech, sounds) and its events."""

    stream_id: str
    start: float
    end: float
    events: list[Event] = field(default_factory=list)

    def value(self, name: str) -> Any:
        """The track's most common non-empty value of a field."""
        values = [v for e in self.events if (v := q.value_of(e, name)) not in (None, "")]
        return Counter(values).most_common(1)[0][0] if values else None

    @property
    def confidence(self) -> float:
        return max(e.confidence for e in self.events)


def group_events(events: list[Event], tracked: bool) -> list[Occurrence]:
    """Events as occurrences: one per track (untracked ones of a stream together), or one per
    event (spans, and the detections of one picture)."""
    if not tracked:
        return [Occurrence(e.stream_id, e.time, e.end_time or e.time, [e]) for e in events]
    groups: dict[tuple[str, int], list[Event]] = defaultdict(list)
    for e in events:
        groups[(e.stream_id, e.track_id if e.track_id is not None else -1)].append(e)
    return [
        Occurrence(s, min(first_seen(x) for x in evs), max(x.time for x in evs), evs)
        for (s, _), evs in groups.items()
    ]


FIRST_SEEN = "attributes.first_seen"
"""When a track's thing came into view (`vision.track` writes it on each event): the track's
first event comes a few frames later, once the tracker is sure."""


def first_seen(e: Event) -> float:
    """When the thing of `e` came into view: its track's `first_seen`, else the event's time."""
    seen = e.attributes.get("first_seen")
    ok = isinstance(seen, int | float) and not isinstance(seen, bool)
    return min(e.time, float(seen)) if ok else e.time  # type: ignore[arg-type]


def seen_before(t: float) -> q.Filter:
    """Events of things that were in view before `t`, though perhaps not yet tracked then."""
    return q.Or(q.Range("time", lt=t), q.Range(FIRST_SEEN, lt=t))


def overlapping(start: float, end: float, tracked: bool = False) -> q.Filter:
    """Events whose span (or moment, without `end_time`) touches [start, end]; with
    `tracked`, a track's events count from when its thing came into view."""
    return q.And(
        q.Or(q.Range("time", lte=end), q.Range(FIRST_SEEN, lte=end))
        if tracked
        else q.Range("time", lte=end),
        q.Or(
            q.Range("end_time", gte=start),
            q.And(q.Not(q.Exists("end_time")), q.Range("time", gte=start)),
        ),
    )


def duration_words(seconds: float) -> str:
    """'17 seconds', '2 minutes 5 seconds', '1 hour 3 minutes'."""
    s = round(seconds)
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    shown = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0 seconds"


def word_forms(word: str) -> list[str]:
    """A word with its plain singular and plural: delivery / deliveries, key / keys."""
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    elif word.endswith(("ches", "shes", "sses", "xes")):
        forms.append(word[:-2])
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.append(word[:-1])
    elif word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        forms.append(word[:-1] + "ies")
    elif re.search(r"[a-z]$", word):
        forms.append(word + ("es" if word.endswith(("ch", "sh", "s", "x")) else "s"))
    return list(dict.fromkeys(forms))


def text_of(event: Event) -> str:
    """What an event says: a transcript's text, or an OCR line's ``attributes["text"]``."""
    text = event.text or event.attributes.get("text")
    return str(text).strip() if text else ""


def hhmm(t: float, tz: dt.tzinfo = dt.UTC) -> str:
    return dt.datetime.fromtimestamp(t, tz).strftime("%H:%M")


def moment(o: Occurrence, tz: dt.tzinfo = dt.UTC, *, span: bool = True) -> str:
    """When an occurrence happened, to the second: "10:00:14–10:00:16" (its start alone
    without `span`, or when it lasted under a second)."""
    start = dt.datetime.fromtimestamp(o.start, tz).strftime("%H:%M:%S")
    if not span or o.end - o.start < 1.0:
        return start
    return f"{start}–{dt.datetime.fromtimestamp(o.end, tz).strftime('%H:%M:%S')}"


def article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def time_zone(name: str | dt.tzinfo | None) -> dt.tzinfo:
    """A tzinfo from an IANA name ("Europe/London"), "UTC" or None (UTC)."""
    if name is None or isinstance(name, dt.tzinfo):
        return name or dt.UTC
    if name.upper() == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise QueryError(
            f"unknown time zone {name!r}: use an IANA name like Europe/London"
        ) from exc
