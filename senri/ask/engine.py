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
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import replace

from senri.ask.answers import Run
from senri.ask.directory import Directory
from senri.ask.lookup import LOUD
from senri.ask.occurrence import time_zone
from senri.ask.parser import parse
from senri.ask.plan import Plan, Refusal
from senri.ask.schema import NOUNS, kinds
from senri.ask.types import Answer
from senri.ask.vocab import TextEmbedder, Vocabulary
from senri.indexes.events import query as q
from senri.indexes.events.store import EventStore
from senri.records import Event


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
            answer = Run(self, plan, question).answer()
        except Refusal as exc:
            answer = Answer.refuse(
                question, f"Cannot answer: {exc.reason}.", plan.to_dict() if plan else None
            )
        return replace(answer, seconds=time.perf_counter() - t0)
