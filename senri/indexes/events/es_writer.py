"""Retries and the buffered bulk writer behind `ElasticsearchEventStore`.

`put()` only serialises events and appends them to a bounded in-memory buffer; one background
thread sends the buffer to the bulk API in order, one batch at a time, and retries what failed
for a transient reason (connection refused or reset, timeouts, HTTP 429 and 5xx, per item or for
the whole request) with exponential backoff and full jitter, for as long as it takes. So an
Elasticsearch restart of tens of seconds loses nothing: writes wait in the buffer, and when the
buffer is full `put()` blocks (backpressure; nothing is ever dropped silently). Items rejected
for a permanent reason (a mapping conflict: HTTP 400 `document_parsing_exception`,
`mapper_parsing_exception`, `illegal_argument_exception`, ...) are not retried: they become a
`StoreError` naming the event id and the field, raised by the next `put()`, `flush()` or
`close()`. One writer and in-order batches keep "last write wins" for an id written twice.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from elastic_transport import TlsError
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch

from senri.errors import StoreError
from senri.indexes.events.es_query import public_field

T = TypeVar("T")
_FIELD = re.compile(r"field \[([^\]]+)\]")


def is_transient(exc: BaseException) -> bool:
    """Whether a failed request is worth retrying: no answer, or an overloaded/unready node.
    A certificate that does not verify is not: waiting will not change it."""
    if isinstance(exc, TlsError):
        return False
    if isinstance(exc, ConnectionError | ConnectionTimeout):
        return True
    return isinstance(exc, ApiError) and (exc.status_code == 429 or exc.status_code >= 500)


def backoff(attempt: int, base: float = 0.1, cap: float = 2.0) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0.0, min(cap, base * 2.0 ** min(attempt, 30)))


def with_retries(
    call: Callable[[], T], what: str, timeout: float, stop: threading.Event | None = None
) -> T:
    """Run `call`, retrying transient failures until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            if isinstance(exc, TlsError):
                cause = exc.errors[0] if exc.errors else exc.__cause__
                raise StoreError(
                    f"{what} failed: TLS with Elasticsearch failed: {cause} (SENRI_ES_CA_FILE "
                    "names the CA that signed the node's certificate)"
                ) from None
            if not is_transient(exc):
                raise StoreError(f"{what} failed: {exc}") from None
            delay = backoff(attempt)
            if time.monotonic() + delay > deadline or (stop is not None and stop.is_set()):
                raise StoreError(
                    f"{what} failed: Elasticsearch unavailable for {timeout:.0f}s ({exc})"
                ) from None
            time.sleep(delay)
            attempt += 1


def rejection(event_id: str, error: Any) -> StoreError:
    """A `StoreError` for an item Elasticsearch refused for good, naming the field if it can."""
    if not isinstance(error, dict):
        return StoreError(f"event {event_id!r} rejected by Elasticsearch: {error}")
    reason = str(error.get("reason", ""))
    cause = error.get("caused_by") or {}
    found = _FIELD.search(reason)
    field = public_field(found.group(1)) if found else "?"
    detail = f"{error.get('type')}: {reason}"
    if cause.get("reason"):
        detail += f" ({cause.get('type')}: {cause['reason']})"
    return StoreError(f"event {event_id!r} rejected by Elasticsearch, field {field!r}: {detail}")


@dataclass(frozen=True, slots=True)
class Op:
    """One bulk item, already serialised: the action line and (for index) the source line."""

    id: str
    lines: tuple[bytes, ...]

    @classmethod
    def index(cls, event_id: str, source: dict[str, Any]) -> Op:
        action = json.dumps({"index": {"_id": event_id}}, ensure_ascii=False)
        try:
            body = json.dumps(source, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except ValueError as exc:  # nan or inf: not JSON, and no field type accepts it
            raise StoreError(f"event {event_id!r} cannot be written: {exc}") from None
        return cls(event_id, (action.encode(), body.encode("utf-8", "surrogatepass")))

    @classmethod
    def delete(cls, event_id: str) -> Op:
        return cls(event_id, (json.dumps({"delete": {"_id": event_id}}).encode(),))

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line in self.lines)


class BulkWriter:
    """Sends queued `Op`s to one index from a background thread; see the module docstring."""

    def __init__(
        self,
        client: Elasticsearch,
        index: str,
        *,
        batch_size: int = 1000,
        batch_bytes: int = 8 << 20,
        max_buffer: int = 50_000,
    ) -> None:
        self.client = client
        self.index = index
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.max_buffer = max_buffer
        self.io = threading.Lock()  # held while a bulk request (and its retries) runs
        self.last_problem = ""  # why the latest attempt failed, for timeout messages
        self._queue: deque[Op] = deque()
        self._inflight = 0
        self._errors: list[StoreError] = []
        self._cond = threading.Condition()
        self._closing = False
        self._abandon = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"senri-es-{index}", daemon=True)
        self._thread.start()

    # ---- caller side ----------------------------------------------------------------------

    def submit(self, ops: Sequence[Op], timeout: float) -> None:
        """Queue ops, blocking while the buffer is full; `StoreError` if it stays full."""
        deadline = time.monotonic() + timeout
        start = 0
        with self._cond:
            while start < len(ops):
                if self._closing:
                    raise StoreError(f"event store {self.index!r} is closed")
                room = self.max_buffer - len(self._queue) - self._inflight
                if room <= 0:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise StoreError(
                            f"write buffer of {self.max_buffer} events still full after "
                            f"{timeout:.0f}s; {len(ops) - start} events not accepted "
                            f"(last problem: {self.last_problem or 'none'})"
                        )
                    self._cond.wait(min(left, 1.0))
                    continue
                self._queue.extend(ops[start : start + room])
                start += room
                self._cond.notify_all()

    def drain(self, timeout: float) -> None:
        """Wait until every queued op has been sent; `StoreError` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreError(
                        f"{len(self._queue) + self._inflight} events still unwritten after "
                        f"{timeout:.0f}s (last problem: {self.last_problem or 'none'}); "
                        "they stay buffered and are retried"
                    )
                self._cond.wait(min(left, 1.0))

    def discard(self) -> None:
        """Drop everything queued, and wait for the batch in flight (if any) to finish."""
        with self._cond:
            self._queue.clear()
        with self.io:
            pass

    def raise_errors(self) -> None:
        """Raise (once) the rejections collected since the last call."""
        with self._cond:
            errors, self._errors = self._errors, []
        if len(errors) == 1:
            raise errors[0]
        if errors:
            more = f" (and {len(errors) - 1} more rejected events)"
            raise StoreError(f"{errors[0]}{more}") from errors[0]

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._inflight

    def close(self, abandon: bool = False) -> None:
        """Stop the thread after the queue is sent (or at once, dropping it, if `abandon`)."""
        with self._cond:
            self._closing = True
            if abandon:
                self._queue.clear()
                self._abandon.set()
            self._cond.notify_all()
        self._thread.join()

    # ---- sending --------------------------------------------------------------------------

    def send(self, ops: Sequence[Op], timeout: float | None = None) -> list[dict[str, Any]]:
        """Send ops now, retrying transient failures; returns each op's final bulk result.

        Holds `io`, so it never interleaves with a background batch. Permanent failures come
        back as results with an ``error``; the caller decides what they mean. With a
        `timeout`, gives up with `StoreError` once it has passed (the background writer has
        none: it retries until the node is back or the store is closed).
        """
        results: list[dict[str, Any]] = [{} for _ in ops]
        todo = list(range(len(ops)))
        attempt = 0
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.io:
            while todo and not self._abandon.is_set():
                if deadline is not None and attempt and time.monotonic() > deadline:
                    raise StoreError(
                        f"{len(todo)} of {len(ops)} bulk operations not done after "
                        f"{timeout:.0f}s: {self.last_problem}"
                    )
                body = [line for i in todo for line in ops[i].lines]
                try:
                    response = self.client.bulk(
                        index=self.index,
                        operations=cast(Any, body),  # pre-serialised NDJSON lines
                        filter_path="errors,items.*.status,items.*.error,items.*.result",
                    )
                except Exception as exc:
                    if not is_transient(exc):
                        error = {"type": type(exc).__name__, "reason": str(exc)}
                        for i in todo:
                            results[i] = {"status": 0, "error": error}
                        return results
                    self.last_problem = str(exc)
                    self._abandon.wait(backoff(attempt))
                    attempt += 1
                    continue
                retry = []
                for i, item in zip(todo, response["items"], strict=True):
                    result = next(iter(item.values()))
                    status = int(result.get("status", 0))
                    if "error" in result and (status == 429 or status >= 500):
                        retry.append(i)
                        self.last_problem = str(result["error"])
                    else:
                        results[i] = result
                todo = retry
                if todo:
                    self._abandon.wait(backoff(attempt))
                    attempt += 1
        return results

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                batch: list[Op] = []
                size = 0
                while self._queue and len(batch) < self.batch_size:
                    size += self._queue[0].size
                    if batch and size > self.batch_bytes:
                        break
                    batch.append(self._queue.popleft())
                self._inflight = len(batch)
            errors = []
            try:
                for op, result in zip(batch, self.send(batch), strict=True):
                    if "error" in result:
                        errors.append(rejection(op.id, result["error"]))
            except Exception as exc:  # a bug or a malformed response: report, never die
                errors.append(StoreError(f"writing {len(batch)} events failed: {exc!r}"))
            with self._cond:
                self._errors.extend(errors)
                self._inflight = 0
                self._cond.notify_all()
