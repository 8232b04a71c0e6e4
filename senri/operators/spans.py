"""Turning per-window activity (loud / speech) into spans with start and end times.

Short gaps (`merge_gap`) inside a span are bridged; spans shorter than `min_duration` are
dropped. State is a few floats, kept per stream and snapshot-able.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Span:
    start: float
    end: float
    peak: float


@dataclass
class SpanTracker:
    """Feed windows in time order with `update`; closed spans come back from it and `close`."""

    min_duration: float
    merge_gap: float
    open_start: float | None = None
    open_end: float = 0.0
    open_peak: float = float("-inf")

    def update(self, start: float, end: float, active: bool, value: float) -> list[Span]:
        closed: list[Span] = []
        if self.open_start is not None and start - self.open_end > self.merge_gap:
            closed.extend(self.close())
        if active:
            if self.open_start is None:
                self.open_start = start
                self.open_peak = value
            self.open_end = end
            self.open_peak = max(self.open_peak, value)
        return closed

    def close(self) -> list[Span]:
        if self.open_start is None:
            return []
        span = Span(self.open_start, self.open_end, self.open_peak)
        self.open_start = None
        self.open_peak = float("-inf")
        return [span] if span.end - span.start >= self.min_duration else []

    def snapshot(self) -> dict[str, float | None]:
        return asdict(self)
