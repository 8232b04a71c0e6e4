"""`Run`: one plan answered: counts, lists, times, values, descriptions and what was said.

`Asker.ask` makes one per question; `answer` checks the archive covers it, finds its
anchors, and hands it to the `do_<type>` of its plan.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import replace
from typing import Any

from senri.ask.compare import Comparing
from senri.ask.forms import CARRIED, CARRIED_FIELD, DAY_FIELD, THING_FIELD
from senri.ask.lookup import LOUD, MAX_FETCH, ONE_PICKS, UNNAMED
from senri.ask.occurrence import (
    Occurrence,
    describe,
    duration_words,
    group_events,
    hhmm,
    overlapping,
    phrase,
    text_of,
)
from senri.ask.plan import Refusal
from senri.ask.schema import kinds
from senri.ask.types import Answer
from senri.ask.vocab import plural
from senri.indexes.events import query as q


class Run(Comparing):
    """One plan against one store, answered."""

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
        things_seen = [e for e in found if e.kind in kinds().things]
        seen = group_events(things_seen, not self.asker.per_frame)
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
            return self.make(f"{best}: {how}{noun}{self.context()}.", str(best), best, occ)
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
