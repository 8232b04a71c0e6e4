"""`Asker`: questions over an event store → answers with evidence and a confidence.

A question is parsed into a typed `Plan` (`senri.ask.parser`), the plan is compiled into
`senri.indexes.events.query` filters and aggregations, which every store (SQLite, Elasticsearch,
memory) answers, and the results become an `Answer`. Objects are counted by track (track
ids are per stream, so counts are summed over per-stream distinct counts) and untracked
detections are left out; speech and sound events count one per span.

Example:
    >>> asker = Asker(store)                                    # doctest: +SKIP
    >>> asker.ask("how many red cars passed camera 3 after 10 am?").text  # doctest: +SKIP
    '4 red cars on cam3 (main road), 2026-11-27 10:00 to 2026-11-28 00:00.'
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from senri.ask.occurrence import (
    Occurrence,
    article,
    describe,
    duration_words,
    group_events,
    hhmm,
    kind_filter,
    moment,
    overlapping,
    phrase,
    seen_before,
    text_of,
    time_zone,
    word_forms,
)
from senri.ask.parser import (
    CARRIED,
    CARRIED_FIELD,
    DAY_FIELD,
    THING_FIELD,
    Directory,
    parse,
    window_label,
)
from senri.ask.plan import AFTER, AROUND, DURING, Plan, Refusal, Subject
from senri.ask.schema import NOUNS, kinds
from senri.ask.timeparse import Window
from senri.ask.types import Answer, Evidence
from senri.ask.vocab import TERMS, TextEmbedder, Vocabulary, plural
from senri.indexes.events import query as q
from senri.indexes.events.store import EventStore
from senri.operators.audio import Loudness
from senri.records import Event

MAX_FETCH = q.MAX_LIMIT
"""Events read per question for lists and times; counts (and lists, past this) aggregate."""
MAX_ANCHORS = 200
MAJORITY_CHECK = 200
"""Tracks whose class is checked by a vote over their frames (one query each) per question."""
# Event kinds come from the operators' declarations (`senri.ask.schema`), not from a list here.
LOUD = Loudness.label
"""What `audio.loudness` calls its spans: a level above a threshold, not a kind of sound."""
ORDINALS = {"second": 2, "third": 3, "fourth": 4, "fifth": 5}
ONE_PICKS = ("first", "last", "longest", "shortest", "loudest", "quietest", *ORDINALS)
"""Picks that answer with one occurrence."""
UNNAMED = "object"
"""The label of a moving thing no detector named (`vision.motion`): its colour tells it apart."""


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class Asker:
    """Answers questions over one event store; thread-safe, reusable."""

    def __init__(
        self,
        store: EventStore,
        *,
        now: float | None = None,
        places: Mapping[str, str] | None = None,
        vocab: Vocabulary | None = None,
        thumbnail: Callable[[Event], str | None] | None = None,
        per_frame: bool = False,
        tz: str | dt.tzinfo | None = None,
    ) -> None:
        self.store = store
        self.per_frame = per_frame
        """One frame's events: objects count one per detection, absent kinds are zero."""
        self.tz = time_zone(tz)
        """The site's time zone: what 'yesterday' and '10 am' mean, and how times are shown."""
        self.places = dict(places or {})
        self.vocab = vocab if vocab is not None else Vocabulary(TextEmbedder.load())
        self.vocab.warm()
        self.thumbnail = thumbnail
        self._now = now
        self._lock = threading.Lock()
        self._directory: Directory | None = None
        self._words: Vocabulary | None = None
        """`vocab` with the sound labels this archive holds, read with the directory."""
        self._span: tuple[float, float] | None = None
        self._holds: dict[q.Filter, bool] = {}
        self._read_at = time.monotonic()

    def refresh(self, older_than: float = 0.0) -> None:
        """Forget the cached streams and clock (after new events were written), if they were
        read more than `older_than` seconds ago."""
        with self._lock:
            if time.monotonic() - self._read_at >= older_than:
                self._directory, self._span, self._words = None, None, None
                self._holds.clear()

    def holds(self, f: q.Filter) -> bool:
        """Whether any event matches `f`; remembered until `refresh` (kinds, plates)."""
        with self._lock:
            known = self._holds.get(f)
        if known is None:
            known = self.store.count(f) > 0
            with self._lock:
                self._holds[f] = known
        return known

    def holdings(self) -> str:
        """What the archive can answer about instead, per stream: "; it holds objects on cam1,
        and speech, sounds and accents on mic1" (empty for an empty archive)."""
        buckets = self.store.aggregate(None, q.Terms("stream_id", size=50))
        declared = kinds()
        per_stream: dict[str, list[str]] = {}
        for b in buckets:
            found = self.store.aggregate(q.Eq("stream_id", b.key), q.Terms("kind", size=20))
            held = {noun for k in found if (noun := declared.noun(str(k.key)))}
            if held:
                per_stream[str(b.key)] = sorted(held, key=NOUNS.index)
        if not per_stream:
            return ""
        by_what: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for stream, names in per_stream.items():
            by_what[tuple(names)].append(stream)
        parts = [
            f"{_and(list(names))} on {', '.join(sorted(streams))}"
            for names, streams in by_what.items()
        ]
        return "; it holds " + _and(parts)

    def span(self) -> tuple[float, float]:
        """(first event time, the archive's clock): `now` if given, else the latest event."""
        with self._lock:
            if self._span is None:
                first = self.store.search(q.Query(limit=1))
                last = self.store.search(q.Query(sort="time", descending=True, limit=1))
                if not first and self._now is not None:
                    self._span = (self._now, self._now)
                    return self._span
                if not first:
                    raise Refusal("the archive is empty")
                ends = self.store.search(q.Query(sort="end_time", descending=True, limit=1))
                latest = max([last[0].time, *(e.end_time for e in ends if e.end_time)])
                self._span = (first[0].time, self._now if self._now is not None else latest)
                self._read_at = time.monotonic()
            return self._span

    def directory(self) -> Directory:
        with self._lock:
            if self._directory is None:
                every = self.store.aggregate(None, q.Terms("stream_id", size=1000))
                declared = kinds()
                video = self.store.aggregate(
                    q.In("kind", declared.video), q.Terms("stream_id", size=1000)
                )
                audio = self.store.aggregate(
                    q.In("kind", declared.audio), q.Terms("stream_id", size=1000)
                )
                modality = {str(b.key): "audio" for b in audio} | {
                    str(b.key): "video" for b in video
                }
                self._directory = Directory.of([str(b.key) for b in every], self.places, modality)
                heard = self.store.aggregate(q.Eq("kind", "sound"), q.Terms("label", size=200))
                labels = [str(b.key) for b in heard if b.key not in (None, "", LOUD)]
                self._words = self.vocab.with_labels("sound", labels)
            return self._directory

    def words(self) -> Vocabulary:
        """The vocabulary, knowing this archive's own sound labels by name."""
        self.directory()
        with self._lock:
            return self._words if self._words is not None else self.vocab

    def plan(self, question: str) -> Plan:
        """The typed plan of a question (raises `Refusal`)."""
        first, now = self.span()
        return parse(question, self.directory(), self.words(), now, self.tz, first)

    def ask(self, question: str) -> Answer:
        """Answer one question; never raises for a bad question, refuses with the reason."""
        t0 = time.perf_counter()
        plan: Plan | None = None
        try:
            plan = self.plan(question)
            answer = _Run(self, plan, question).answer()
        except Refusal as exc:
            answer = Answer.refuse(
                question, f"Cannot answer: {exc.reason}.", plan.to_dict() if plan else None
            )
        return replace(answer, seconds=time.perf_counter() - t0)


class _Run:
    """One plan against one store."""

    def __init__(self, asker: Asker, plan: Plan, question: str) -> None:
        self.asker, self.plan, self.question = asker, plan, question
        self.store = asker.store
        self.directory = asker.directory()
        self.truncated = False
        """Whether some question read only `MAX_FETCH` events of more that matched."""
        self.anchors: list[Occurrence] = []
        """The partner events a joined question was related to (its anchors)."""
        self.tied: list[Any] = []
        """The values that share the top count in the last `values` call (a tie when 2+)."""
        self.top_count = 0
        self.began_after: float | None = None
        """For "the shape that came in after the purple one": tracks that began before this
        are not answers, though they were still in view after it."""
        self.tz = asker.tz

    # ---- compiling --------------------------------------------------------------------

    recognised = q.And(kind_filter("sound"), q.Not(q.Eq("label", LOUD)))
    """Sounds of a recognised kind: any but `audio.loudness`'s "loud"."""

    def tracked(self, subject: Subject) -> bool:
        """Objects of a video count by track; in one frame, and for spans, one by one."""
        return subject.tracked and not self.asker.per_frame

    def filter(
        self,
        subject: Subject,
        streams: Sequence[str],
        extra: q.Filter | None = None,
        window: Window | None = None,
    ) -> q.Filter:
        """Events of `subject` on `streams` within `window` (default: the plan's)."""
        clauses: list[q.Filter] = [kind_filter(subject.kind)]
        if subject.labels:
            clauses.append(q.In("label", subject.labels))
        elif subject.kind == "sound" and self.asker.holds(self.recognised):
            # "loud" is a level, not a kind of sound: "how many sounds", "which sound was
            # first" count what was recognised, when anything was
            clauses.append(q.Not(q.Eq("label", LOUD)))
        for c in subject.conditions:
            options = [q.Eq(f, v) for f in c.fields for v in c.values]
            clauses.append(options[0] if len(options) == 1 else q.Or(*options))
        for word in subject.words:  # "deliveries" finds "delivery" too
            forms = [q.Text(f) for f in word_forms(word)]
            clauses.append(forms[0] if len(forms) == 1 else q.Or(*forms))
        if streams:
            clauses.append(q.In("stream_id", tuple(streams)))
        w = self.plan.window if window is None else window
        if w is not None and w.moment and w.start is not None and not self.tracked(subject):
            # what was going on at that moment: spans that overlap it
            clauses.append(q.Range("end_time", gte=w.start))
            if w.end is not None:
                clauses.append(q.Range("time", lt=w.end))
        elif w is not None and (w.start is not None or w.end is not None):
            bounds: dict[str, float] = {}
            if w.start is not None:
                bounds["gte"] = w.start
            if w.end is not None and self.tracked(subject):
                clauses.append(seen_before(w.end))  # in view before the end counts
            elif w.end is not None:
                bounds["lt"] = w.end
            if bounds:
                clauses.append(q.Range("time", **bounds))
        if self.tracked(subject):
            clauses.append(q.Exists("track_id"))
        if extra is not None:
            clauses.append(extra)
        return q.And(*clauses)

    def occurrences(
        self, f: q.Filter, tracked: bool, newest: bool = False, limit: int = MAX_FETCH
    ) -> list[Occurrence]:
        """Tracks (or spans) matching `f`, in time order, from at most `MAX_FETCH` events:
        the earliest ones, or with `newest` the latest ones. `truncated` says if that cut."""
        events = self.store.search(q.Query(f, descending=newest, limit=limit))
        if len(events) == MAX_FETCH:
            self.truncated = True
        if newest:
            events.reverse()
        if not tracked:
            return self.group(events, tracked)
        found = sorted(self.group(events, tracked), key=lambda o: (o.start, o.stream_id))
        if self.began_after is not None:
            found = self.began_since(found, self.began_after)
        return self.arrived(found)

    def arrived(self, occ: list[Occurrence]) -> list[Occurrence]:
        """For "what appeared after 10:00:15": the tracks that began inside the window, not
        those already in view when it opened."""
        w = self.plan.window
        if not self.plan.arrivals or w is None or w.start is None:
            return occ
        return self.began_since(occ, w.start)

    def began_since(self, occ: list[Occurrence], start: float) -> list[Occurrence]:
        """The tracks of `occ` that began at or after `start`, by all their events, not only
        those read (one store aggregation per stream)."""
        occ = [o for o in occ if o.start >= start]
        by_stream: dict[str, list[int]] = {}
        for o in occ:
            if o.events[0].track_id is not None:
                by_stream.setdefault(o.stream_id, []).append(o.events[0].track_id)
        before: set[tuple[str, Any]] = set()
        for stream, tracks in by_stream.items():
            earlier = q.And(
                q.Eq("stream_id", stream),
                q.In("track_id", tuple(tracks)),
                kind_filter("object"),
                seen_before(start),
            )
            agg = q.Terms("track_id", size=len(tracks))
            before |= {(stream, b.key) for b in self.store.aggregate(earlier, agg)}
        return [o for o in occ if (o.stream_id, o.events[0].track_id) not in before]

    def picked(self, f: q.Filter, tracked: bool) -> list[Occurrence]:
        """Occurrences of `f`; only the first or the last when the question asks for it."""
        occ = self.occurrences(f, tracked, newest=self.plan.pick == "last")
        if tracked:
            occ = self.of_class(occ, self.plan.subject.labels)
        if self.plan.pick == "first":
            return occ[:1]
        if self.plan.pick == "last":
            return occ[-1:]
        if self.plan.pick in ORDINALS:  # "the second sound": in time order, as "first" is
            n = ORDINALS[self.plan.pick]
            return occ[n - 1 : n]
        if self.plan.pick in ("longest", "shortest") and occ:
            chosen = (max if self.plan.pick == "longest" else min)(
                occ, key=lambda o: o.end - o.start
            )
            return [chosen]
        if self.plan.pick == "loudest" and occ:
            return [max(occ, key=self.level)]
        if self.plan.pick == "quietest" and occ:
            return [min(occ, key=self.level)]
        return occ

    def level(self, o: Occurrence) -> float:
        """How loud a span was: the peak of `audio.loudness`'s events over it, in dBFS."""
        over = q.And(
            q.Eq("kind", "sound"),
            q.Eq("label", LOUD),
            q.Eq("stream_id", o.stream_id),
            overlapping(o.start, o.end),
        )
        peaks = [
            float(e.attributes.get("peak_db", -120.0))
            for e in self.store.search(q.Query(over, limit=20))
        ]
        return max(peaks, default=-120.0)

    def count(self, f: q.Filter, tracked: bool, labels: Sequence[str] = ()) -> int:
        """Tracks (or spans) matching `f`; with `labels`, only tracks of that class."""
        if not tracked:
            return self.store.count(f)
        if self.plan.arrivals and self.plan.window is not None:
            occ = self.occurrences(f, True)
            if len(occ) <= MAJORITY_CHECK:  # only the tracks that began in the window
                return len(self.of_class(occ, labels))
        buckets = self.store.aggregate(f, q.Terms("stream_id", size=1000, distinct="track_id"))
        n = sum(b.count for b in buckets)
        if labels and 0 < n <= MAJORITY_CHECK:
            was = self.truncated
            occ = self.occurrences(f, True)
            whole = not (self.truncated and not was) and len(occ) == n
            self.truncated = was
            if whole:  # every matching track was read: vote on each one's class
                n = len(self.of_class(occ, labels))
        return n

    def of_class(self, occ: list[Occurrence], labels: Sequence[str]) -> list[Occurrence]:
        """The tracks whose class is one of `labels`: a track's class is its most common label
        over all its frames, so one frame of a motorcycle called "horse" makes no horse.
        Checked for up to `MAJORITY_CHECK` tracks (one store query each); past that, a track
        counts when any of its frames has the label."""
        if not labels or len(occ) > MAJORITY_CHECK:
            return occ
        kept = []
        for o in occ:
            track = o.events[0].track_id
            if track is None:
                kept.append(o)
                continue
            whole = q.And(
                q.Eq("stream_id", o.stream_id), q.Eq("track_id", track), kind_filter("object")
            )
            votes = Counter(e.label for e in self.store.search(q.Query(whole, limit=MAX_FETCH)))
            if not votes or votes.most_common(1)[0][0] in labels:
                kept.append(o)
        return kept

    def anchor_filter(self) -> tuple[q.Filter | None, list[Occurrence]]:
        plan = self.plan
        if plan.anchor is None:
            return None, []
        tracked = self.tracked(plan.anchor)
        anchors = self.occurrences(self.filter(plan.anchor, plan.anchor_streams), tracked)
        if not anchors and plan.anchor.kind == "transcript" and plan.anchor.words:
            anchors = self.closest_utterances(plan.anchor)
        if tracked:  # a horse is a track that is mostly a horse, as when it is counted
            anchors = self.of_class(anchors, plan.anchor.labels)
        if plan.anchor_pick:  # "before the first sentence": that one, in time order
            n = {"first": 1, "last": len(anchors), **ORDINALS}[plan.anchor_pick]
            anchors = anchors[n - 1 : n]
        if plan.anchor_onset:  # "when the orange shape arrived": the moment it began
            anchors = [replace(a, end=a.start) for a in anchors]
        elif plan.anchor_end:  # "when the horse left": the moment it ended
            anchors = [replace(a, start=a.end) for a in anchors]
        if not anchors:
            return None, []
        if plan.relation == "between":
            return self.between(anchors)
        arrivals = plan.arrivals and tracked and self.tracked(plan.subject)
        if arrivals and plan.relation == "after":  # came in after it came in
            anchors = [replace(a, end=a.start) for a in anchors]
            self.began_after = min(a.start for a in anchors)
        elif arrivals and plan.anchor_onset:  # came in at the same time as it came in
            self.began_after = min(a.start for a in anchors) - DURING
        elif arrivals and plan.relation in ("during", "around"):  # came in while it was there
            self.began_after = min(a.start for a in anchors)
        ranges: list[q.Filter] = []
        for a in anchors[:MAX_ANCHORS]:
            if plan.relation == "after":  # what came after it, not the anchor itself
                moment: q.Filter = q.Range("time", gte=a.end, lt=a.end + AFTER)
            elif plan.relation == "before":
                moment = overlapping(a.start - AFTER, a.start, self.tracked(plan.subject))
            else:
                pad = AROUND if plan.relation == "around" else DURING
                # the pad is for detection lag: a track's `first_seen` is not added to it
                moment = overlapping(a.start - pad, a.end + pad)
            peers = () if plan.streams else self.directory.same_place([a.stream_id])
            if peers:  # no stream named: what happened at the anchor's place
                moment = q.And(moment, q.In("stream_id", peers))
            ranges.append(moment)
        found = ranges[0] if len(ranges) == 1 else q.Or(*ranges)
        if tracked and self.tracked(plan.subject) and self.other_than_anchor():
            own = [
                q.And(q.Eq("stream_id", a.stream_id), q.Eq("track_id", a.events[0].track_id))
                for a in anchors
                if a.events[0].track_id is not None
            ]
            if own:  # "the object after the purple one" is never the purple one
                found = q.And(found, q.Not(own[0] if len(own) == 1 else q.Or(*own)))
        return found, anchors

    def other_than_anchor(self) -> bool:
        """Whether the question asks about things other than its anchor: a thing is not
        before or after itself, and "the colour of the shape that came in with the yellow
        one" is not yellow, nor did it come in while it was there. "How many things were on
        camera while the red car was" counts the red car too."""
        plan = self.plan
        return (
            plan.relation in ("after", "before")
            or plan.type in ("colour", "which")
            or (plan.arrivals)
        )

    def between(self, anchors: list[Occurrence]) -> tuple[q.Filter | None, list[Occurrence]]:
        """The time from the first anchor's end to the start of the first `until` after it:
        both are the partners, and what overlaps the time between them is the answer's."""
        assert self.plan.until is not None
        first = anchors[0]
        tracked = self.tracked(self.plan.until)
        ends = self.occurrences(self.filter(self.plan.until, self.plan.anchor_streams), tracked)
        later = [o for o in ends if o.start >= first.end]
        if not later:
            return None, []
        lo, hi = first.end, later[0].start  # strictly inside: the anchors are not their own
        inside = q.And(
            seen_before(hi),
            q.Or(
                q.Range("end_time", gt=lo),
                q.And(q.Not(q.Exists("end_time")), q.Range("time", gt=lo)),
            ),
        )
        return inside, [first, later[0]]

    def closest_utterances(self, said: Subject) -> list[Occurrence]:
        """The utterances sharing the most of `said`'s words, when no one holds them all:
        a transcript may read "band" where "van" was said. Half the words must match."""
        loose = replace(said, words=())
        found = self.occurrences(self.filter(loose, self.plan.anchor_streams), False)
        want = set(said.words)
        scored = [(len(want & set(q.words(text_of(o.events[0])))), o) for o in found]
        best = max((n for n, _ in scored), default=0)
        if best * 2 < len(want) or best == 0:
            return []
        return [o for n, o in scored if n == best]

    # ---- checking ---------------------------------------------------------------------

    def check_covered(self) -> None:
        first, now = self.asker.span()
        w = self.plan.window
        if w is None:
            return
        if (w.end is not None and w.end <= first) or (w.start is not None and w.start > now):
            held = Window(first, now).describe(self.tz)  # to the second for a short archive
            raise Refusal(f"the archive covers {held}, not {w.describe(self.tz)}")

    def check_recorded(self, subject: Subject, streams: Sequence[str]) -> None:
        base: list[q.Filter] = [kind_filter(subject.kind)]
        if streams:
            base.append(q.In("stream_id", tuple(streams)))
        if not self.asker.holds(q.And(*base)):
            where = f" on {', '.join(streams)}" if streams else " in this archive"
            name = kinds().noun(subject.kind) or subject.kind
            verb = "is" if name in ("speech", "text") else "are"
            raise Refusal(f"no {name} {verb} recorded{where}{self.asker.holdings()}")

    # ---- answering --------------------------------------------------------------------

    def answer(self) -> Answer:
        plan = self.plan
        self.check_covered()
        extra: q.Filter | None = None
        if self.asker.per_frame:
            if plan.subject.kind in ("transcript", "sound"):
                raise Refusal("a picture holds no sound or speech")
            if plan.anchor is not None or plan.window is not None:
                raise Refusal("one picture has no times or moments to relate")
        else:
            self.check_recorded(plan.subject, plan.streams)
            plates = q.Exists("attributes.plate")
            if plan.field == "attributes.plate" and not self.asker.holds(plates):
                raise Refusal("no licence plates were read in this archive")
            extra, anchors = self.anchor_filter()
            if plan.anchor is not None and not anchors:
                return self.no_anchor()
            self.anchors = anchors
        answer: Answer = getattr(self, f"do_{plan.type}")(extra)
        if plan.threshold and isinstance(answer.value, int):  # "more than 5 objects?"
            side, n = plan.threshold
            held = answer.value > n if side == "more" else answer.value < n
            verdict = "Yes" if held else "No"
            text = f"{verdict}: {answer.text[:-1]} ({side} than {n})."
            answer = replace(answer, short=verdict.lower(), text=text)
        if plan.claim and answer.short != "none":  # "was the siren longer than the horn"
            held = str(answer.value) in plan.claim
            said = answer.text[0].upper() + answer.text[1:]
            verdict = "Yes" if held else "No"
            answer = replace(answer, short=verdict.lower(), text=f"{verdict}. {said}")
        return answer

    def where(self, streams: Sequence[str] | None = None) -> str:
        streams = self.plan.streams if streams is None else streams
        if not streams:
            return ""
        infos = [self.directory.streams.get(s.lower()) for s in streams]
        named = [
            s + (f" ({i.place})" if i and i.place else "")
            for s, i in zip(streams, infos, strict=True)
        ]
        return " on " + ", ".join(named)

    def context(self) -> str:
        text = self.where() + window_label(self.plan.window, self.tz) + self.how_often()
        if self.plan.anchor is not None:
            relation = {"during": "during"}.get(self.plan.relation, self.plan.relation)
            text += f" {relation} {self.partners()}"
        return text

    def how_often(self) -> str:
        """' more than once', ' only once', ' at least 3 times': what a list was limited to."""
        least, most = self.plan.times
        if (least, most) == (1, None):
            return ""
        said = {1: "once", 2: "twice"}.get(least, f"{least} times")
        if most is None:
            return " more than once" if least == 2 else f" at least {said}"
        return f" only {said}" if least == most else f" {least} to {most} times"

    def at(self, t: float) -> str:
        """A moment in an answer: to the minute, or to the second in an archive under an hour
        long, where minutes would not tell one event from the next."""
        first, now = self.asker.span()
        form = "%Y-%m-%d %H:%M:%S" if now - first < 3600 else "%Y-%m-%d %H:%M"
        return dt.datetime.fromtimestamp(t, self.tz).strftime(form)

    def partners(self) -> str:
        """The anchors a joined answer relates to, with their times: "the siren at
        10:00:14–10:00:16 on mic1", "3 sirens (10:00:01, 10:05:02, 11:20:40)"."""
        assert self.plan.anchor is not None
        noun = self.plan.anchor.noun or self.plan.anchor.kind
        until = self.plan.until
        if until is not None and len(self.anchors) == 2:
            a, b = self.anchors
            second = until.noun or until.kind
            return f"the {noun} at {moment(a, self.tz)} and the {second} at {moment(b, self.tz)}"
        if not self.anchors:
            return f"{article(noun)} {noun}"
        first, n = self.anchors[0], len(self.anchors)
        if n == 1:
            return f"the {noun} at {moment(first, self.tz)} on {first.stream_id}"
        times = ", ".join(moment(a, self.tz, span=False) for a in self.anchors[:3])
        return f"{n} {plural(noun, n)} ({times}{', …' if n > 3 else ''})"

    def make(
        self,
        text: str,
        short: str,
        value: Any,
        occ: Sequence[Occurrence],
        *,
        confidence: float | None = None,
    ) -> Answer:
        # what was asked about first, then the partner events it was related to
        evidence = tuple(self.evidence(o) for o in [*occ[:10], *self.anchors[:5]])
        if self.truncated:
            text += f" (more than {MAX_FETCH} events matched; this reads the first {MAX_FETCH})"
        data = (
            confidence
            if confidence is not None
            else (sum(o.confidence for o in occ[:50]) / min(len(occ), 50) if occ else 0.9)
        )
        return Answer(
            question=self.question,
            text=text,
            short=short,
            value=value,
            type=self.plan.type,
            evidence=evidence,
            confidence=max(
                0.0, min(1.0, self.plan.confidence * data * (0.8 if self.truncated else 1.0))
            ),
            plan=self.plan.to_dict(),
        )

    def evidence(self, o: Occurrence) -> Evidence:
        e = max(o.events, key=lambda ev: ev.confidence)
        thumb = self.asker.thumbnail(e) if self.asker.thumbnail is not None else None
        return Evidence.of(e, thumb)

    def no_anchor(self) -> Answer:
        plan = self.plan
        assert plan.anchor is not None
        anchor = plan.anchor.noun or plan.anchor.kind
        empty = {"count": "0", "exists": "no", "distinct": "0"}.get(plan.type, "none")
        where = self.where(plan.anchor_streams) + window_label(plan.window, self.tz)
        text = f"No {anchor} was found{where}, so there is nothing to relate to it."
        return self.make(text, empty, None, [], confidence=0.9)

    def do_count(self, extra: q.Filter | None) -> Answer:
        s = self.plan.subject
        f = self.filter(s, self.plan.streams, extra)
        n = self.count(f, self.tracked(s), s.labels)
        occ = self.occurrences(f, self.tracked(s), limit=500) if n else []
        if self.tracked(s):
            occ = self.of_class(occ, s.labels)
        unit = (
            plural(s.noun or s.kind, n)
            if s.kind in ("object", "sound", "transcript", "dialect")
            else ("time" if n == 1 else "times")
        )
        return self.make(f"{n} {unit}{self.context()}.", str(n), n, occ)

    def do_distinct(self, extra: q.Filter | None) -> Answer:
        if self.plan.field is None:
            return self.do_count(extra)
        values, occ = self.values(extra)
        n = len(values)
        what = self.plan.field.split(".")[-1].replace("_", " ") + " value"
        if self.plan.field == CARRIED_FIELD:
            what = "thing carried" if n == 1 else "things carried"
        elif n != 1:
            what += "s"
        return self.make(
            f"{n} different {what}{self.context()}: {', '.join(map(str, values)) or 'none'}.",
            str(n),
            n,
            occ,
        )

    def do_exists(self, extra: q.Filter | None) -> Answer:
        s = self.plan.subject
        f = self.filter(s, self.plan.streams, extra)
        occ = self.occurrences(f, self.tracked(s), limit=500)
        if self.tracked(s):
            occ = self.of_class(occ, s.labels)
        if occ:
            first = occ[0]
            n = self.count(f, self.tracked(s), s.labels)
            found = f"{n} {plural(s.noun or s.kind, n)}{self.context()}"
            text = f"Yes: {found}, first at {self.at(first.start)} on {first.stream_id}."
            if self.asker.per_frame:
                text = f"Yes: {found}."
            return self.make(text, "yes", True, occ)
        return self.make(f"No {s.noun or s.kind}{self.context()}.", "no", False, occ)

    def do_duration(self, extra: q.Filter | None) -> Answer:
        """How long: the total time of the matching spans or tracks, in whole seconds."""
        s = self.plan.subject
        occ = self.picked(self.filter(s, self.plan.streams, extra), self.tracked(s))
        if not occ:
            return self.make(f"No {s.noun or s.kind}{self.context()}.", "0", 0.0, occ)
        total = sum(o.end - o.start for o in occ)
        seconds = round(total)
        each = "" if len(occ) == 1 else f" over {len(occ)} {plural(s.noun or s.kind, len(occ))}"
        text = f"{duration_words(total)}{each}{self.context()}."
        return self.make(text[0].upper() + text[1:], str(seconds), total, occ)

    def do_when(self, extra: q.Filter | None) -> Answer:
        s = self.plan.subject
        occ = self.picked(self.filter(s, self.plan.streams, extra), self.tracked(s))
        if not occ:
            return self.make(f"No {s.noun or s.kind}{self.context()}.", "none", [], occ)
        times = [hhmm(o.start, self.tz) for o in occ]
        listed = ", ".join(f"{self.at(o.start)} ({o.stream_id})" for o in occ[:20])
        more = f" and {len(occ) - 20} more" if len(occ) > 20 else ""
        return self.make(
            f"{plural(s.noun or s.kind, len(occ)).capitalize()}{self.context()}: {listed}{more}.",
            ", ".join(times[:20]),
            [o.start for o in occ],
            occ,
        )

    def values(self, extra: q.Filter | None) -> tuple[list[Any], list[Occurrence]]:
        """Distinct values of the plan's field, most common (by track) first."""
        s, name = self.plan.subject, self.plan.field or "label"
        f = self.filter(s, self.plan.streams, extra)
        occ = self.picked(f, self.tracked(s))
        if self.truncated and self.plan.pick not in ONE_PICKS and name[0] != "@":
            # too many events to read: the store ranks values by the tracks that show them
            agg = q.Terms(name, size=1000, distinct="track_id" if self.tracked(s) else None)
            buckets = [b for b in self.store.aggregate(f, agg) if b.key not in (None, "")]
            self.truncated = False  # the values are complete; only the evidence was cut
            if self.plan.pick == "least":
                buckets.sort(key=lambda b: (b.count, str(b.key)))
            return [b.key for b in buckets], occ
        counts: Counter[Any] = Counter()
        unnamed = name == "label" and all(o.value("label") == UNNAMED for o in occ)
        for o in occ:
            if name == CARRIED_FIELD:  # "what were people carrying": each thing carried
                counts.update(f for f in CARRIED if o.value(f"attributes.{f}") is True)
                continue
            if name == THING_FIELD or (unnamed and s.kind == "object"):
                v = describe(o)  # "which object came first": the green one, not "object"
            else:
                v = self.moment(o.start, name) if name.startswith("@") else o.value(name)
            if v is not None:
                counts[v] += 1
        least, most = self.plan.times  # "which colours appeared more than once"
        counts = Counter(
            {v: n for v, n in counts.items() if n >= least and (most is None or n <= most)}
        )
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        if self.plan.pick == "least":
            ranked = sorted(counts.items(), key=lambda kv: (kv[1], str(kv[0])))
        self.tied = [k for k, n in ranked if n == ranked[0][1]] if len(occ) > 1 else []
        self.top_count = ranked[0][1] if ranked else 0
        return [k for k, _ in ranked], occ

    def tie(self, noun: str) -> str | None:
        """'A tie: blue, green (2 objects each)' when the most (or least) common values of the
        last `values` call are equally common; None when one value leads."""
        if len(self.tied) < 2 or self.truncated:
            return None
        names = ", ".join(str(v) for v in self.tied)
        return f"A tie: {names} ({phrase(noun, self.top_count)} each){self.context()}."

    def moment(self, t: float, name: str) -> str:
        """The day (2026-11-25) or hour (14:00) of a time, in the site's zone."""
        local = dt.datetime.fromtimestamp(t, self.tz)
        return local.strftime("%Y-%m-%d" if name == DAY_FIELD else "%H:00")

    def do_describe(self, extra: q.Filter | None) -> Answer:
        """What is in view: things with their colours and counts, text in reading order,
        faces, and (for an archived moment) the sounds and speech around it."""
        plan = self.plan
        clauses: list[q.Filter] = []
        if plan.streams:
            clauses.append(q.In("stream_id", tuple(plan.streams)))
        w = plan.window
        if w is not None and (w.start is not None or w.end is not None):
            clauses.append(overlapping(w.start or 0.0, w.end or self.asker.span()[1]))
        elif not self.asker.per_frame:
            raise Refusal(
                "an archive has many moments: say which, e.g. 'describe camera 1 at 10:05'"
            )
        scope = q.And(*clauses) if len(clauses) > 1 else clauses[0] if clauses else None
        found = self.store.search(q.Query(scope, limit=MAX_FETCH))  # no scope: the picture
        seen = self.group([e for e in found if e.kind in kinds().things], not self.asker.per_frame)
        seen.sort(key=lambda o: -o.confidence)  # the surest first
        things = Counter(describe(o) for o in seen)
        lines = sorted(
            (e for e in found if e.kind == "text"),
            key=lambda e: (round((e.bbox or (0, 0, 0, 0))[1] / 10), (e.bbox or (0,))[0]),
        )
        text = [str(e.attributes.get("text") or e.text or "") for e in lines]
        faces = sum(e.kind == "face" for e in found)
        heard = Counter(e.label for e in found if e.kind == "sound" and e.label != LOUD)
        said = [e.text for e in found if e.kind == "transcript" and e.text]
        parts = [phrase(name, n) for name, n in sorted(things.items(), key=lambda kv: -kv[1])]
        if faces:
            parts.append(phrase("face", faces))
        sentence = (
            ", ".join(parts[:-1])
            + (" and " if len(parts) > 1 else "")
            + (parts[-1] if parts else "")
        )
        pieces = [sentence] if parts else []
        if text:
            pieces.append("text: " + " / ".join(f'"{t}"' for t in text if t))
        if heard:
            pieces.append("heard: " + ", ".join(n.replace("_", " ") for n in heard))
        if said:
            pieces.append("said: " + " / ".join(f'"{t}"' for t in said))
        value = {"things": dict(things), "faces": faces, "text": text}
        if not pieces:
            return self.make(f"Nothing recognisable{self.context()}.", "nothing", value, [])
        text_out = "; ".join(pieces)
        text_out += "" if text_out.endswith(('."', '?"', '!"')) else "."
        return self.make(text_out[0].upper() + text_out[1:], ", ".join(parts) or "text", value, [])

    def group(self, events: list[Event], tracked: bool) -> list[Occurrence]:
        return group_events(events, tracked)

    def do_list(self, extra: q.Filter | None) -> Answer:
        if self.plan.pick in ("most", "least") and self.plan.field not in (None, "text"):
            return self.do_which(extra)  # "what kind of thing passed most often": one kind
        if self.plan.field in (None, "text"):
            return self.do_said(extra)
        values, occ = self.values(extra)
        values = self.as_places(values)
        what = (self.plan.field or "label").split(".")[-1].replace("_", " ")
        if not values:
            if self.plan.field == CARRIED_FIELD and occ:  # people seen, none carrying
                carried = ", ".join(CARRIED[:-1]) + f" or {CARRIED[-1]}"
                text = f"No {self.plan.subject.noun} was seen carrying a {carried}"
                return self.make(f"{text}{self.context()}.", "none", [], occ)
            return self.make(f"No {self.plan.subject.noun}{self.context()}.", "none", [], occ)
        shown = [str(v) for v in values]
        short = ", ".join(shown)
        if self.plan.field == THING_FIELD:  # "what was on camera": each thing, with its count
            counts = Counter(describe(o) for o in occ)
            shown = [f"{v} ×{counts[v]}" if counts[v] > 1 else str(v) for v in values]
            heading = "On camera" if not self.plan.streams else "Seen"
            # the short answer names the kinds ("car, person"); a thing no detector named
            # is told apart by its colour ("red object ×2")
            kinds_seen = {str(o.value("label")) for o in occ} - {UNNAMED}
            short = ", ".join(sorted(kinds_seen)) if kinds_seen else ", ".join(shown)
            if self.plan.subject.labels == ("person",):  # "who was on camera": each person
                short = ", ".join(shown)
        elif self.plan.subject.kind == "dialect":  # "Accents heard on mic1: en-us, en-gb."
            heading = f"{plural(self.plan.subject.noun).capitalize()} heard"
        elif self.plan.field == CARRIED_FIELD:  # "Carried by people today: backpack, phone."
            heading = f"Carried by {plural(self.plan.subject.noun)}"
        elif self.plan.field == "stream_id":  # "Streams with dogs yesterday: cam4."
            where = "Places" if self.places_asked() else "Streams"
            heading = f"{where} with {plural(self.plan.subject.noun)}"
        elif what == "label":  # "Sounds before the utterance at 10:00:03: beeps."
            heading = plural(self.plan.subject.noun).capitalize()
        else:
            heading = f"{what.capitalize()}s of {plural(self.plan.subject.noun)}"
        return self.make(f"{heading}{self.context()}: {', '.join(shown)}.", short, values, occ)

    def places_asked(self) -> bool:
        """Whether the question asks which places ("which places heard a horn", "where")."""
        asked = re.search(r"\b(?:places?|locations?|where)\b", self.question.lower())
        return self.plan.field == "stream_id" and asked is not None

    def as_places(self, values: list[Any]) -> list[Any]:
        """Stream ids as their places' names, when the question asks for places and every
        stream has one; two streams of one place are one place."""
        if not self.places_asked():
            return values
        place = {s.id: s.place for s in self.directory.streams.values() if s.place}
        if not all(v in place for v in values):
            return values
        return list(dict.fromkeys(place[v] for v in values))

    def do_which(self, extra: q.Filter | None) -> Answer:
        values, occ = self.values(extra)
        values = self.as_places(values)
        noun = plural(self.plan.subject.noun or self.plan.subject.kind)
        if not values:
            return self.make(f"None: no {noun}{self.context()}.", "none", None, occ)
        if self.plan.pick in ONE_PICKS and occ:
            o, best = occ[0], values[0]
            one = self.plan.subject.noun or self.plan.subject.kind
            which = {
                "longest": f"the {one} that lasted longest ({o.end - o.start:.1f} s)",
                "shortest": f"the {one} that lasted shortest ({o.end - o.start:.1f} s)",
            }.get(self.plan.pick, f"the {self.plan.pick} {one}")
            return self.make(
                f"{str(best).replace('_', ' ')}: {which}{self.context()},"
                f" at {self.at(o.start)} on {o.stream_id}.",
                str(best),
                best,
                occ,
            )
        one = self.plan.subject.noun or self.plan.subject.kind
        if self.plan.pick in ("most", "least") and (tie := self.tie(one)) is not None:
            return self.make(tie, ", ".join(map(str, self.tied)), self.tied, occ)
        if self.plan.pick in ("most", "least") or len(values) == 1:
            best = values[0]
            how = {"most": "most ", "least": "fewest "}.get(self.plan.pick, "")
            return self.make(
                f"{best}: {how}{noun}{self.context()}.",
                str(best),
                best,
                occ,
            )
        shown = [str(v) for v in values]
        return self.make(
            f"{', '.join(shown)} ({noun}{self.context()}).", ", ".join(shown), values, occ
        )

    def do_colour(self, extra: q.Filter | None) -> Answer:
        values, occ = self.values(extra)
        noun = self.plan.subject.noun or "object"
        if not values:
            return self.make(f"No {noun}{self.context()} with a known colour.", "none", None, occ)
        if (tie := self.tie(noun)) is not None:  # "which colour was most common": say so
            return self.make(tie, ", ".join(map(str, self.tied)), self.tied, occ)
        share = sum(1 for o in occ if o.value(self.plan.field or "") == values[0]) / max(
            len(occ), 1
        )
        most = "least" if self.plan.pick == "least" else "most"
        text = f"{values[0]}" + (
            f" (the {most} common of {len(occ)} {plural(noun)}: {', '.join(map(str, values))})"
            if len(values) > 1
            else ""
        )
        return self.make(
            f"{text.capitalize()}{self.context()}.",
            str(values[0]),
            values[0],
            occ,
            confidence=share,
        )

    def do_said(self, extra: q.Filter | None) -> Answer:
        s = self.plan.subject
        occ = self.picked(self.filter(s, self.plan.streams, extra), self.tracked(s))
        texts = list(dict.fromkeys(t for o in occ if (t := text_of(o.events[0]))))
        if not texts:
            return self.make(f"Nothing{self.context()}.", "none", [], occ)
        if self.asker.per_frame:
            return self.make(f'It reads: "{" / ".join(texts)}".', ", ".join(texts), texts, occ)
        quoted = "; ".join(
            f'{self.at(o.start)} {o.stream_id}: "{text_of(o.events[0])}"' for o in occ[:10]
        )
        if self.plan.anchor is not None:  # say what it was said around, and when that was
            relation = self.plan.relation.capitalize()
            quoted = f"{relation} {self.partners()}: {quoted}"
        return self.make(quoted, ", ".join(texts[:20]), texts, occ)

    def more(self, winner: str) -> str:
        """'more cars' for a kind, 'more red' for a colour or a carried thing, 'more heard'
        for a side the question named."""
        plan = self.plan
        if plan.side_names:
            return winner
        other = plan.other
        kinds = other is not None and (
            other.labels != plan.subject.labels or other.kind != plan.subject.kind
        )
        return plural(winner) if kinds else winner

    def when_side(self, window: Window | None) -> str:
        """A compared time's name in the question's words where it has them ("after"),
        else its span."""
        if window is None:
            return "all time"
        return window.describe(self.tz)

    def on(self, side: str) -> str:
        """'on cam1', or 'at the entrance' for a side named by its place."""
        places = {i.place for i in self.directory.streams.values()}
        return f"at the {side}" if side in places else f"on {side}"

    def side(self, streams: Sequence[str], subject: Subject) -> str:
        """A compared side's name: the place the question named it by ("the entrance"), or
        its streams that can hold the subject (cam1, not mic1)."""
        places = {i.place for s in streams if (i := self.directory.streams.get(s.lower()))}
        if len(places) == 1:
            place = places.pop()
            if place and re.search(r"\b" + re.escape(place.lower()) + r"\b", self.question.lower()):
                return place
        want = "video" if subject.kind in kinds().video else "audio"
        fit = [
            s
            for s in streams
            if (i := self.directory.streams.get(s.lower())) and i.modality == want
        ]
        return ", ".join(fit or streams)

    def do_compare(self, extra: q.Filter | None) -> Answer:
        plan = self.plan
        other = plan.other or plan.subject
        if plan.other_relation and self.anchors:  # before the siren or after it
            first, last = min(a.start for a in self.anchors), max(a.end for a in self.anchors)
            lo, hi = (plan.window.start, plan.window.end) if plan.window else (None, None)
            sides = {"before": Window(lo, first), "after": Window(last, hi)}
            a, b = (
                self.began_in(s, plan.streams, None, sides[r])
                if self.tracked(s)
                else self.count(self.filter(s, plan.streams, None, sides[r]), False)
                for s, r in ((plan.subject, plan.relation), (other, plan.other_relation))
            )
        elif plan.other_window is not None and plan.window is not None and self.tracked(other):
            # "more objects in the first 5 seconds or after": each thing counts once, on the
            # side where it came in, not on both when it stayed across
            a = self.began_in(plan.subject, plan.streams, extra, plan.window)
            b = self.began_in(other, plan.other_streams, extra, plan.other_window)
        else:
            a = self.count(
                self.filter(plan.subject, plan.streams, extra),
                self.tracked(plan.subject),
                plan.subject.labels,
            )
            b = self.count(
                self.filter(other, plan.other_streams, extra, plan.other_window),
                self.tracked(other),
                other.labels,
            )
        by_stream = plan.other_streams != plan.streams
        name_a = self.side(plan.streams, plan.subject) if by_stream else plan.subject.noun
        name_b = self.side(plan.other_streams, other) if by_stream else other.noun
        if plan.side_names:  # "before" / "after" it, "heard" / "seen", "first half" ...
            name_a, name_b = plan.side_names[:2]
        elif plan.other_window is not None:  # two times, as the window's own words
            name_a, name_b = self.when_side(plan.window), self.when_side(plan.other_window)
        asked = self.question.lower()
        fewer = re.search(r"\b(?:fewer|less|smaller|lower)\b", asked) is not None
        first_wins = a < b if fewer else a > b  # "were there fewer red than blue": the fewer
        winner = "same" if a == b else (name_a if first_wins else name_b)
        short = winner
        if a != b and not by_stream and plan.subject.labels != other.labels:
            # two kinds of thing: answer in the question's own word ("motorbikes")
            short = self.said_as(plan.subject if first_wins else other) or winner
        more = "fewer" if fewer else "more"
        span = "" if plan.other_window is not None else window_label(plan.window, self.tz)
        if plan.other_relation:  # "(the car horn at 10:00:08-10:00:10 on mic1)"
            span += f" ({self.partners()})"
        text = f"{name_a}: {a}, {name_b}: {b}{span}" + (
            " (the same)."
            if a == b
            else f"; {more} {self.on(winner) if by_stream else self.more(winner)}."
        )
        if re.search(r"\bas many\b|\b(?:same|equal) (?:number|amount|count)\b|\bequal to\b", asked):
            text = ("Yes, " if a == b else "No, ") + text  # "were there as many red as blue"
        occ = self.occurrences(
            self.filter(plan.subject, plan.streams, extra), self.tracked(plan.subject), limit=200
        )[:5]
        return self.make(text, short, {name_a: a, name_b: b}, occ)

    def began_in(
        self, subject: Subject, streams: Sequence[str], extra: q.Filter | None, w: Window
    ) -> int:
        """How many tracks of `subject` began inside `w`."""
        occ = self.occurrences(self.filter(subject, streams, extra, w), True)
        if w.start is not None:
            occ = self.began_since(occ, w.start)
        return len(self.of_class(occ, subject.labels))

    def said_as(self, subject: Subject) -> str | None:
        """The word the question used for `subject`'s kind ("motorbikes", "lorries",
        "animals"), or None when it named it otherwise (a colour, a place)."""
        want = set(subject.labels)
        if not want:
            return None
        for token in re.findall(r"[a-z]+", self.question.lower()):
            term = TERMS.get(token)
            if term is not None and term.kind == "object" and set(term.labels) == want:
                return token
        return None
