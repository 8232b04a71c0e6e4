"""`Comparing`: "were there more red cars or blue ones", "more before the horn or after it":
two sides counted, each thing once, and the larger (or a tie) said."""

from __future__ import annotations

import re
from collections.abc import Sequence

from senri.ask.lookup import Lookup
from senri.ask.plan import Subject
from senri.ask.schema import kinds
from senri.ask.timeparse import Window, window_label
from senri.ask.types import Answer
from senri.ask.vocab import TERMS, plural
from senri.indexes.events import query as q


class Comparing(Lookup):
    """The comparison answer and the names of its sides."""

    def more(self, winner: str) -> str:
        """'more cars' for a kind, 'more red' for a colour or a carried thing, 'more heard'
        for a side the question named."""
        plan = self.plan
        if plan.side_names:  # "more in the second half", "more after", "more yesterday"
            timed = plan.other_window is not None and not re.match(
                r"(?:before|after|during|yesterday|today|tonight|this|on|at|in|\d)\b", winner
            )
            return f"in the {winner}" if timed else winner
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
