"""`Lookup`: one question's plan compiled to store filters, its anchors found, and the
shared pieces of an answer (where, when, evidence, confidence).

The answer kinds build on it: `senri.ask.compare.Comparing` and `senri.ask.answers.Run`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from senri.ask.occurrence import (
    Occurrence,
    article,
    group_events,
    kind_filter,
    moment,
    overlapping,
    seen_before,
    text_of,
    word_forms,
)
from senri.ask.plan import AFTER, AROUND, DURING, Plan, Refusal, Subject
from senri.ask.schema import kinds
from senri.ask.timeparse import Window, window_label
from senri.ask.types import Answer, Evidence
from senri.ask.vocab import plural
from senri.indexes.events import query as q
from senri.operators.audio import Loudness

if TYPE_CHECKING:
    from senri.ask.engine import Asker

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


class Lookup:
    """One plan against one store: its filters, occurrences and anchors."""

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
            return group_events(events, tracked)
        found = sorted(group_events(events, tracked), key=lambda o: (o.start, o.stream_id))
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
        elif not tracked and re.search(r"\belse\b", self.question.lower()):
            # "what else was heard during the horn": sounds other than the horn
            labels = sorted({str(a.value("label")) for a in anchors})
            found = q.And(found, q.Not(q.In("label", labels)))
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
            or plan.arrivals
            or re.search(r"\belse\b", self.question.lower()) is not None  # "what else"
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

    # ---- saying ----------------------------------------------------------------------

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
