"""What every source shares: the `Source` protocol, reconnect policy, URI checks, dead letters.

A source is a synchronous iterable that the runtime drains in a worker thread. It yields records,
or a `DeadLetter` for input it could not read; it never raises out of iteration because of bad
data. `SourceError` is raised only when a source cannot be opened at all, and then as early as
possible: by the constructor, so a pipeline fails when it is built rather than at its first frame.

The rule all sources follow:

- missing file, directory where a file is expected, unsupported URI scheme, bad setting
  → `SourceError` from the constructor;
- a file that exists but cannot be read or decoded (not a video, broken header, permission
  denied) → one `DeadLetter` with the reason, then the iteration ends, so a graph running many
  streams keeps the others going and the reason lands in the dead-letter sink;
- one bad item in a collection (an unreadable image, a bad catalog row) → a `DeadLetter`, and on.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit
from urllib.request import url2pathname

from senri.errors import SourceError
from senri.records import DeadLetter

T_co = TypeVar("T_co", covariant=True)

Clock = Callable[[], float]
"""Returns the wall-clock time in epoch seconds (`time.time` unless a test injects one)."""

NETWORK_SCHEMES = ("rtsp", "rtsps", "http", "https")


@runtime_checkable
class Source(Protocol[T_co]):
    """A stream of records (or `DeadLetter`s) from one input; see the module docstring."""

    stream_id: str
    output_type: type

    def __iter__(self) -> Iterator[T_co | DeadLetter]: ...

    def close(self) -> None:
        """Ask the iteration to end; safe to call from another thread, and more than once."""
        ...


class ClosableSource:
    """Holds the stop flag that `close()` sets and iterations poll between items."""

    def __init__(self) -> None:
        self._stop = threading.Event()

    def close(self) -> None:
        """Stop early: the iteration ends at its next item (or wakes from a reconnect wait)."""
        self._stop.set()

    @property
    def closed(self) -> bool:
        return self._stop.is_set()


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Exponential backoff with jitter between reconnect attempts of a live source.

    The n-th consecutive failed attempt waits ``min(max_delay, initial * factor**(n-1))`` seconds,
    shortened by up to `jitter` of itself at random so many cameras dropped by one network blip
    do not reconnect in lock-step. `max_attempts=None` retries forever.

        >>> ReconnectPolicy(initial=1, factor=2, max_delay=3, jitter=0).delay(3)
        3.0
    """

    initial: float = 0.5
    factor: float = 2.0
    max_delay: float = 30.0
    max_attempts: int | None = None
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.initial < 0 or self.max_delay < 0:
            raise SourceError(f"reconnect delays must be >= 0; got {self}")
        if self.factor < 1:
            raise SourceError(f"reconnect factor must be >= 1; got {self.factor}")
        if not 0 <= self.jitter <= 1:
            raise SourceError(f"reconnect jitter must be in [0, 1]; got {self.jitter}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise SourceError(
                f"reconnect max_attempts must be >= 1 or None; got {self.max_attempts}"
            )

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempt`-th consecutive failure (1-based)."""
        base = min(self.max_delay, self.initial * self.factor ** max(attempt - 1, 0))
        if self.jitter == 0:
            return float(base)
        return float(base * (1.0 - self.jitter * (rng or random).random()))

    def gives_up_after(self, failures: int) -> bool:
        return self.max_attempts is not None and failures >= self.max_attempts


@dataclass(frozen=True, slots=True)
class Location:
    """Where a media source reads from: a local file (`path`) or a network URL."""

    uri: str
    scheme: str
    path: Path | None

    @property
    def is_network(self) -> bool:
        return self.path is None

    @property
    def target(self) -> str:
        """What to hand to the demuxer: the file path, or the URL as given."""
        return str(self.path) if self.path is not None else self.uri

    def __str__(self) -> str:
        return self.uri


def locate(
    uri: str | os.PathLike[str], what: str, schemes: tuple[str, ...] = NETWORK_SCHEMES
) -> Location:
    """Check a path or URI without opening it; `SourceError` if it cannot possibly be read."""
    text = os.fspath(uri)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in schemes:
        return Location(text, scheme, None)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise SourceError(f"{what} source {text!r}: file:// URIs must name a local path")
        path = Path(url2pathname(parts.path))
    elif scheme == "" or len(scheme) == 1:  # a plain path (one letter: a Windows drive)
        path = Path(text)
    else:
        valid = ", ".join(f"{s}://" for s in schemes)
        raise SourceError(
            f"{what} source {text!r}: unsupported scheme {scheme!r} "
            f"(supported: a file path, file://, {valid})"
        )
    if not path.exists():
        raise SourceError(f"{what} source {text!r}: no such file {str(path)!r}")
    if not path.is_file():
        raise SourceError(f"{what} source {text!r}: {str(path)!r} is not a regular file")
    return Location(text, "file", path)


def network_options(scheme: str, timeout: float) -> dict[str, str]:
    """FFmpeg options for a network input: RTSP over TCP, and socket timeouts in microseconds."""
    micros = str(round(timeout * 1_000_000))
    if scheme in ("rtsp", "rtsps"):
        return {"rtsp_transport": "tcp", "timeout": micros}
    return {"rw_timeout": micros, "timeout": micros}


def default_start_time(metadata: Mapping[str, str], location: Location, clock: Clock) -> float:
    """Capture time of a stream's first sample when the caller gave none.

    The container's ``creation_time`` tag if it has a plausible one; else, for a file, its
    modification time; else (a network stream) the wall clock now.
    """
    created = parse_creation_time(metadata.get("creation_time"))
    if created is not None:
        return created
    if location.path is not None:
        try:
            return location.path.stat().st_mtime
        except OSError:
            pass
    return clock()


def parse_creation_time(value: str | None) -> float | None:
    """Epoch seconds from an ISO-8601 ``creation_time`` tag, or None if absent or implausible."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:  # FFmpeg writes UTC; a tag without zone is taken as UTC too
        moment = moment.replace(tzinfo=UTC)
    stamp = moment.timestamp()
    # Cameras with an unset clock write 1904/1970; such a tag says nothing about capture time.
    return stamp if stamp > 315_532_800 else None  # 1980-01-01


def describe(exc: BaseException) -> str:
    """``TypeName: message`` for the `error` field of a dead letter."""
    return f"{type(exc).__name__}: {exc}"


def dead_letter(
    stream_id: str,
    key: str,
    stage: str,
    reason: str,
    exc: BaseException | None = None,
    clock: Clock = time.time,
) -> DeadLetter:
    return DeadLetter(
        stream_id=stream_id,
        key=key,
        stage=stage,
        reason=reason,
        error=describe(exc) if exc is not None else "",
        time=clock(),
    )
