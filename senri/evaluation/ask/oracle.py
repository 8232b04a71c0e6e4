"""The benchmark's oracle: what a question's `truth` spec means, answered from truth entities.

It never touches an `EventStore` or the query model, so a bug there cannot make the benchmark
agree with itself. A spec is a small JSON object:

Filter (selects truth entities):
    {"of": "tracks" | "utterances" | "sounds" | "signs",
     "label": "car" | ["car", "truck"],      object label / sound label
     "stream": "cam3" | [...], "place": "entrance" | [...],
     "attrs": {"colour": "red", "backpack": true},
     "contains": "van",                      words every matching text contains
     "from": "2026-11-27T10:00", "to": null} an entity matches when its START is in [from, to)

Ops (a filter's keys sit beside "op"; compare and join nest filters):
    count        number of matching entities                          -> "3"
    exists       any match?                                           -> "yes" / "no"
    list         distinct values of "field" (colour, plate, label, stream, text, ...)
    when         HH:MM of each match's start, sorted ("pick": "first" | "last" for one)
    which        "field" value with most matches ("by": "max", default) or of the matches
                 ("by": "match")
    colour       majority value of "field" (default "colour")
    distinct     how many distinct values of "field"
    compare      "a" vs "b" filters; the one with more matches, named by "names" (default each
                 filter's label), or "same"
    join         matches of "of" whose span lies within "within" seconds of a match of "near"
                 (same place unless "same_place" is false); "answer" is text | exists | count |
                 when | label | stream
    unanswerable "reason" says why                                    -> "unanswerable"

References: the canonical answer three times, then near misses once each (see `evaluate`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from senri.ask.types import UNANSWERABLE
from senri.worlds.archive import TRACK_ATTRIBUTES, Truth

KINDS = ("tracks", "utterances", "sounds", "signs")
OPS = (
    "count",
    "exists",
    "list",
    "when",
    "which",
    "colour",
    "distinct",
    "compare",
    "join",
    "unanswerable",
)
FIELDS = {"stream", "place", "label", "track_id", "text", *TRACK_ATTRIBUTES}
_RESERVED = {"op", "of", "from", "to", "attrs", "contains", "field", "pick", "by"}
Row = dict[str, Any]


class SpecError(ValueError):
    """A truth spec that does not follow the spec language."""


@dataclass(frozen=True)
class Expected:
    """The oracle's answer to a spec: canonical short answer and the references it is scored by.

    `ambiguous` is set when the truth has no single answer (a tie for "which"/"colour"); a
    benchmark question should never be ambiguous.
    """

    canonical: str
    references: tuple[str, ...]
    matches: int
    answerable: bool = True
    ambiguous: bool = False


def parse_time(value: str | None) -> float | None:
    """Epoch seconds of an ISO time (naive times are UTC), or None."""
    if value is None:
        return None
    dt = datetime.fromisoformat(value)
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def hhmm(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M")


def rows(truth: Truth, of: str) -> list[Row]:
    """Truth entities of one kind as flat rows: stream, place, label, start, end, text, attrs."""
    out: list[Row] = []
    if of == "tracks":
        for t in truth.tracks:
            out.append(
                {**t.attributes, "stream": t.stream, "label": t.label, "start": t.start}
                | {"end": t.end, "track_id": t.track_id}
            )
    elif of == "utterances":
        out = [
            {"stream": u.stream, "label": "speech", "start": u.start, "end": u.end, "text": u.text}
            for u in truth.utterances
        ]
    elif of == "sounds":
        out = [
            {"stream": s.stream, "label": s.label, "start": s.start, "end": s.end}
            for s in truth.sounds
        ]
    elif of == "signs":
        out = [
            {"stream": g.stream, "label": "text", "start": g.start, "end": g.start, "text": g.text}
            for g in truth.signs
        ]
    else:
        raise SpecError(f"'of' must be one of {KINDS}; got {of!r}")
    for row in out:
        row["place"] = truth.places.get(row["stream"], row["stream"])
    return out


def _wanted(value: Any) -> set[Any]:
    return set(value) if isinstance(value, list) else {value}


def select(truth: Truth, spec: Mapping[str, Any], *, overlap: bool = False) -> list[Row]:
    """Rows matching a filter; with `overlap`, a span touching the window counts too."""
    lo, hi = parse_time(spec.get("from")), parse_time(spec.get("to"))
    conditions = {k: v for k, v in spec.items() if k not in _RESERVED}
    conditions |= dict(spec.get("attrs") or {})
    unknown = set(conditions) - FIELDS
    if unknown:
        raise SpecError(f"unknown filter fields {sorted(unknown)}; use {sorted(FIELDS)}")
    words = str(spec.get("contains") or "").lower().split()
    found = []
    for row in rows(truth, str(spec.get("of", "tracks"))):
        if overlap:
            inside = (lo is None or row["end"] >= lo) and (hi is None or row["start"] < hi)
        else:
            inside = (lo is None or row["start"] >= lo) and (hi is None or row["start"] < hi)
        if not inside:
            continue
        if any(row.get(k) not in _wanted(v) for k, v in conditions.items()):
            continue
        if words and not all(w in str(row.get("text", "")).lower().split() for w in words):
            continue
        found.append(row)
    return sorted(found, key=lambda r: (r["start"], r["stream"]))


def _join_list(values: Iterable[str]) -> str:
    return ", ".join(values)


def _distinct(matches: Sequence[Row], field: str) -> list[str]:
    values = {str(r[field]) for r in matches if r.get(field) not in (None, "")}
    return sorted(values)


def _top(values: Sequence[str]) -> tuple[str, bool]:
    """The most common value and whether it ties with another."""
    if not values:
        return "none", True
    ranked = Counter(values).most_common()
    tie = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
    return ranked[0][0], tie


def _times(matches: Sequence[Row], pick: str | None) -> tuple[str, list[str]]:
    """HH:MM of the matches (deduplicated, in order), and the rounded-minute near miss."""
    chosen = list(matches)
    if pick == "first":
        chosen = chosen[:1]
    elif pick == "last":
        chosen = chosen[-1:]
    exact = list(dict.fromkeys(hhmm(r["start"]) for r in chosen))
    rounded = list(dict.fromkeys(hhmm(round(r["start"] / 60) * 60) for r in chosen))
    canonical = _join_list(exact) if exact else "none"
    return canonical, ([_join_list(rounded)] if rounded != exact else [])


def _stream_aliases(stream: str, places: Mapping[str, str]) -> list[str]:
    number = "".join(ch for ch in stream if ch.isdigit())
    device = "camera" if stream.startswith("cam") else "microphone"
    return [f"{device} {number}", places[stream]]


def _join(truth: Truth, spec: Mapping[str, Any]) -> list[Row]:
    anchors = select(truth, spec["near"])
    within = float(spec.get("within", 5))
    same_place = bool(spec.get("same_place", True))
    found = []
    for row in select(truth, spec["of"]):
        for a in anchors:
            near = row["start"] <= a["end"] + within and row["end"] >= a["start"] - within
            if near and (not same_place or row["place"] == a["place"]):
                found.append(row)
                break
    return found


def _answer(
    op: str,
    matches: Sequence[Row],
    spec: Mapping[str, Any],
    overlap_count: int,
    places: Mapping[str, str],
) -> tuple[str, list[str], bool]:
    """(canonical, near misses, ambiguous) of a single-filter op over its matches."""
    field = str(spec.get("field", "colour" if op == "colour" else "label"))
    if op == "count":
        near = [str(overlap_count)] if overlap_count != len(matches) else []
        return str(len(matches)), near, False
    if op == "exists":
        return ("yes" if matches else "no"), [], False
    if op == "list":
        values = _distinct(matches, field)
        return (_join_list(values) if values else "none"), [], False
    if op == "distinct":
        return str(len(_distinct(matches, field))), [], False
    if op == "when":
        canonical, near = _times(matches, spec.get("pick"))
        return canonical, near, not matches
    if op == "colour":
        value, tie = _top([str(r[field]) for r in matches if r.get(field)])
        return value, [], tie
    if op == "which":
        if spec.get("by", "max") == "match":
            values = _distinct(matches, field)
            value, tie = (_join_list(values), False) if values else ("none", True)
        else:
            value, tie = _top([str(r[field]) for r in matches if r.get(field) not in (None, "")])
        near = _stream_aliases(value, places) if field == "stream" and value in places else []
        return value, near, tie
    raise SpecError(f"unknown op {op!r}; use one of {OPS}")


def evaluate(spec: Mapping[str, Any], truth: Truth, extra: Sequence[str] = ()) -> Expected:
    """Answer `spec` from `truth`, with its reference answers.

    References are the canonical answer three times, then once each: for counts, the count
    with every span that overlaps the window's edge (an annotator could count a car already in
    view at 10:00); for times, the start rounded rather than truncated to the minute; for a
    stream, "camera N"/"microphone N" and its place name; then any `extra` answers given with
    the question.
    """
    op = str(spec.get("op", ""))
    if op == "unanswerable":
        if not spec.get("reason"):
            raise SpecError("an unanswerable spec needs a 'reason'")
        refs = (UNANSWERABLE,) * 3 + tuple(extra)
        return Expected(UNANSWERABLE, refs, 0, answerable=False)
    near: list[str]
    if op == "compare":
        a, b = select(truth, spec["a"]), select(truth, spec["b"])
        names = spec.get("names") or [spec["a"].get("label"), spec["b"].get("label")]
        if len(names) != 2 or not all(isinstance(n, str) for n in names):
            raise SpecError("compare needs two 'names' or a single label in each filter")
        canonical = "same" if len(a) == len(b) else names[0] if len(a) > len(b) else names[1]
        near = _stream_aliases(canonical, truth.places) if canonical in truth.places else []
        matches, ambiguous = len(a) + len(b), False
    elif op == "join":
        found = _join(truth, spec)
        answer = str(spec.get("answer", "text"))
        if answer == "text":
            texts = list(dict.fromkeys(str(r["text"]) for r in found))
            canonical, near, ambiguous = (_join_list(texts) if texts else "none"), [], not texts
        else:
            sub_op = {"label": "list", "stream": "list"}.get(answer, answer)
            canonical, near, ambiguous = _answer(
                sub_op, found, {"field": answer}, len(found), truth.places
            )
        matches = len(found)
    elif op in OPS:
        found = select(truth, spec)
        overlap = len(select(truth, spec, overlap=True)) if op == "count" else len(found)
        canonical, near, ambiguous = _answer(op, found, spec, overlap, truth.places)
        matches = len(found)
    else:
        raise SpecError(f"unknown op {op!r}; use one of {OPS}")
    refs = (canonical,) * 3 + tuple(n for n in near if n != canonical) + tuple(extra)
    return Expected(canonical, refs, matches, ambiguous=ambiguous)
