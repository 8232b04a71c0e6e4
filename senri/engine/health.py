"""Per-stream health of live sources: up, or down since when, why, and when the next try is.

A camera that drops says so only through what its source yields: frames while it is up, and a
`DeadLetter` from the source stage ("connecting to rtsp://… failed: Connection refused;
reconnecting in 2.00s") each time it goes down. `StreamHealth` reads those, keeps one state per
stream, and reports each change once as a line an operator can act on:

    cam1: down since 10:02:13, Connection refused, reconnecting in 2.0 s
    cam1: up again at 10:02:25, after 12 s down

`senri run` and `senri ingest` print the lines above their progress, log them, and the runtime
exports ``senri_stream_up{stream}`` (1 or 0) and ``senri_stream_down_since{stream}`` (epoch s).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from senri.records import DeadLetter

log = logging.getLogger(__name__)

SOURCE_STAGES = ("source.video", "source.audio")
DOWN = ": down since"
"""What every line of a stream that is down holds."""
_RETRY = re.compile(r";\s*reconnecting in ([0-9.]+)s\s*$")
_GAVE_UP = re.compile(r";\s*giving up after (\d+) failed attempts\s*$")
_CONNECT = re.compile(r"^connecting to .+? failed:\s*")


@dataclass
class Health:
    """One stream's state: `up`, since when, and for a stream that is down its `reason`, the
    seconds until the next try (`retry_in`), or `gave_up` when its source stopped trying."""

    stream: str
    up: bool
    since: float
    reason: str = ""
    retry_in: float | None = None
    gave_up: bool = False
    outages: int = 0

    def line(self, tz: dt.tzinfo | None = None) -> str:
        """The operator's one-line view: "cam1: down since 10:02:13, Connection refused,
        reconnecting in 2.0 s"."""
        at = dt.datetime.fromtimestamp(self.since, tz).strftime("%H:%M:%S")
        if self.up:
            return f"{self.stream}: up since {at}"
        tail = (
            "gave up"
            if self.gave_up
            else f"reconnecting in {self.retry_in:.1f} s"
            if self.retry_in is not None
            else "reconnecting"
        )
        return f"{self.stream}: down since {at}, {self.reason}, {tail}"


def cause(reason: str) -> tuple[str, float | None, bool]:
    """(why the stream dropped, seconds to the next try, whether the source gave up) from a
    source dead letter's reason."""
    retry = _RETRY.search(reason)
    gave_up = _GAVE_UP.search(reason)
    core = reason[: (retry or gave_up).start()] if (retry or gave_up) else reason  # type: ignore[union-attr]
    core = _CONNECT.sub("", core).strip()
    core = re.sub(r"^\[Errno -?\d+\]\s*", "", core)
    core = re.sub(r":\s*'[^']*'$", "", core)  # pyav repeats the URL after the error
    return core, (float(retry.group(1)) if retry else None), gave_up is not None


def is_outage(letter: DeadLetter) -> bool:
    """Whether a dead letter says a live source lost its stream (not a single bad item)."""
    return letter.stage in SOURCE_STAGES and (
        _RETRY.search(letter.reason) is not None or _GAVE_UP.search(letter.reason) is not None
    )


class StreamHealth:
    """Up/down state per stream from what live sources yield; thread-safe.

    `report` is called with each change's line: down, up again, a stream that is down for a
    new reason, or its source giving up (more failed tries for the same reason are not news).
    Lines are logged too: at WARNING for a stream going down when no `report` shows them,
    else at INFO. `gauge(stream, up, since)`, if given, mirrors the state into metrics;
    `watch` adds more such listeners (the `senri.health` reporter).
    """

    def __init__(
        self,
        report: Callable[[str], None] | None = None,
        gauge: Callable[[str, bool, float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._report = report
        self._gauges: list[Callable[[str, bool, float], None]] = [gauge] if gauge else []
        self._clock = clock
        self._lock = threading.Lock()
        self._streams: dict[str, Health] = {}

    def watch(self, gauge: Callable[[str, bool, float], None]) -> None:
        """Call `gauge(stream, up, since)` on each change from now on, beside the others."""
        self._gauges.append(gauge)

    def listen(self, report: Callable[[str], None]) -> None:
        """Send each change's line to `report` from now on (the terminal of `senri run`)."""
        self._report = report

    def seen(self, item: Any) -> None:
        """A record or a dead letter from a source."""
        if isinstance(item, DeadLetter):
            if is_outage(item):
                self.down(item.stream_id, item.reason, item.time or self._clock())
            return
        stream = getattr(item, "stream_id", None)
        if isinstance(stream, str):
            self.up(stream)

    def up(self, stream: str) -> None:
        known = self._streams.get(stream)  # the common case, a stream already up: no lock
        if known is not None and known.up:
            return
        with self._lock:
            now = self._clock()
            state = self._streams.get(stream)
            if state is not None and state.up:
                return
            line = None
            if state is not None:  # back after an outage
                line = f"{stream}: up again at {_clock(now)}, after {now - state.since:.0f} s down"
            outages = state.outages if state is not None else 0
            self._streams[stream] = Health(stream, True, now, outages=outages)
        self._changed(stream, True, now, line)

    def down(self, stream: str, reason: str, at: float) -> None:
        why, retry, gave_up = cause(reason)
        with self._lock:
            state = self._streams.get(stream)
            was_down = state is not None and not state.up
            since = state.since if state is not None and was_down else at
            outages = (state.outages if state is not None else 0) + (0 if was_down else 1)
            health = Health(stream, False, since, why, retry, gave_up, outages)
            self._streams[stream] = health
            # another failed try for the same reason is no news; a new reason or giving up is
            news = not was_down or gave_up or (state is not None and state.reason != why)
        self._changed(stream, False, since, health.line() if news else None)

    def _changed(self, stream: str, up: bool, since: float, line: str | None) -> None:
        for gauge in self._gauges:
            gauge(stream, up, since)
        if line is not None:
            # WARNING for a stream going down, unless a terminal already shows it
            quiet = up or self._report is not None
            (log.info if quiet else log.warning)("%s", line)
            if self._report is not None:
                self._report(line)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every stream's state, for a status page or `/healthz`."""
        with self._lock:
            return {s: asdict(h) for s, h in sorted(self._streams.items())}

    def lines(self) -> list[str]:
        with self._lock:
            return [h.line() for _, h in sorted(self._streams.items())]


def coloured(line: str) -> str:
    """A health line as rich markup: red when the stream went down, green when it came back."""
    from rich.markup import escape

    return f"[{'red' if DOWN in line else 'green'}]{escape(line)}[/]"


def _clock(t: float) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%H:%M:%S")
