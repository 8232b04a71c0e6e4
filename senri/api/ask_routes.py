"""``POST /ask`` and ``POST /vqa``: questions over the archive and about single frames.

``POST /ask`` takes JSON ``{"question": "...", "now": <epoch s>, "tz": "Europe/London"}``
(``now`` and ``tz`` optional: the latest event, and the server's ``--tz``) and answers
`senri.ask.types.Answer.to_dict()`: the sentence, the short answer, the structured value,
the plan it was read as, evidence events (with ``thumbnail`` URLs under ``/frames`` when the
server knows the stream's video) and a confidence. A question the archive cannot answer is
still a 200, with ``refused: true`` and the reason; a malformed request is a 422.

``POST /vqa`` is a multipart form: ``question`` plus either ``image`` (a file; the vision
models describe it) or ``stream`` and ``time`` (an archived frame: its stored events).

Example:
    curl -s localhost:8000/ask -H 'content-type: application/json' \\
        -d '{"question": "how many red cars passed camera 3 after 10 am?"}'
    curl -s localhost:8000/vqa -F question='what colour is the car?' -F image=@frame.jpg
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from senri.api.events import json_object
from senri.api.openapi import ASK_BODY, errors
from senri.ask.parser import MAX_CHARS
from senri.errors import (
    DecodeError,
    MissingDependencyError,
    ModelUnavailableError,
    QueryError,
    SenriError,
    StoreError,
)
from senri.indexes.events.store import EventStore
from senri.records import Event

try:
    from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
    from fastapi.concurrency import run_in_threadpool
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from senri.errors import MissingDependencyError

    raise MissingDependencyError("fastapi", "the HTTP API (pip install fastapi)") from exc

MAX_BODY = 16 * 1024
REFRESH_SECONDS = 5.0
"""How stale the streams and the clock an answer uses may be while the archive grows."""
_UNAVAILABLE = (StoreError, OSError, sqlite3.Error)


class AskServices:
    """What the question routes share: the store, the vocabulary, the askers, the media."""

    def __init__(
        self,
        store_factory: Callable[[], EventStore],
        *,
        places: Mapping[str, str] | None = None,
        media: Any = None,
        vocab: Any = None,
        perception: Any = None,
        tz: str = "UTC",
    ) -> None:
        self._store_factory = store_factory
        self.tz = tz
        self.places = dict(places or {})
        self.media = media
        self._vocab = vocab
        self._perception = perception
        self._store: EventStore | None = None
        self._askers: dict[tuple[float | None, str], Any] = {}
        self._frame_qa: Any = None
        self._lock = threading.Lock()

    def vocab(self) -> Any:
        with self._lock:
            if self._vocab is None:
                from senri.ask.vocab import TextEmbedder, Vocabulary

                self._vocab = Vocabulary(TextEmbedder.load())
            return self._vocab

    def store(self) -> EventStore:
        with self._lock:
            if self._store is None:
                self._store = self._store_factory()
            return self._store

    def thumbnail(self, event: Event) -> str | None:
        if self.media is None or event.stream_id not in self.media:
            return None
        url = f"/frames/{event.stream_id}.jpg?t={event.time!r}"
        if event.bbox is not None:
            x1, y1, x2, y2 = (round(v, 1) for v in event.bbox)
            url += f"&x1={x1}&y1={y1}&x2={x2}&y2={y2}"
        return url

    def asker(self, now: float | None, tz: str | None = None) -> Any:
        from senri.ask.engine import Asker

        vocab, store = self.vocab(), self.store()
        key = (now, tz or self.tz)
        with self._lock:
            if key not in self._askers:
                if len(self._askers) > 32:
                    self._askers.clear()
                self._askers[key] = Asker(
                    store,
                    now=now,
                    places=self.places,
                    vocab=vocab,
                    thumbnail=self.thumbnail,
                    tz=key[1],
                )
            asker = self._askers[key]
        asker.refresh(older_than=REFRESH_SECONDS)  # the archive grows while it is served
        return asker

    def frame_qa(self) -> Any:
        from senri.ask.vqa import FrameQA

        vocab = self.vocab()
        with self._lock:
            if self._frame_qa is None:
                self._frame_qa = FrameQA(vocab, self._perception)
            return self._frame_qa


_NO_MODEL = (ModelUnavailableError, MissingDependencyError)


def _question(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise HTTPException(422, "question: a non-empty string is required")
    if len(value) > MAX_CHARS * 4:
        raise HTTPException(422, f"question: longer than {MAX_CHARS * 4} characters")
    return value


def _now(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise HTTPException(422, "now: epoch seconds (a finite number) or null")
    from senri.search.events import parse_time

    try:  # and within the range every date computation can take
        return parse_time("now", value)
    except QueryError as exc:
        raise HTTPException(422, str(exc)) from None


def ask_router(services: AskServices, read_image: Callable[[UploadFile], Any]) -> APIRouter:
    """The question routes over `services`; `read_image` checks and decodes uploads."""
    router = APIRouter()

    @router.post("/ask", responses=errors(413, 422, 503), openapi_extra=ASK_BODY)
    async def ask(request: Request) -> dict[str, Any]:
        doc = await json_object(request, MAX_BODY, shape='like {"question": "..."}', empty=b"null")
        unknown = set(doc) - {"question", "now", "tz"}
        if unknown:
            raise HTTPException(422, f"unknown field(s): {', '.join(sorted(unknown))}")
        question, now = _question(doc.get("question")), _now(doc.get("now"))
        tz = doc.get("tz")
        if tz is not None:
            from senri.ask.occurrence import time_zone

            if not isinstance(tz, str) or len(tz) > 64:
                raise HTTPException(422, "tz: an IANA time zone name like Europe/London")
            try:
                time_zone(tz)
            except QueryError as exc:
                raise HTTPException(422, f"tz: {exc}") from None

        def run() -> dict[str, Any]:
            try:
                result: dict[str, Any] = services.asker(now, tz).ask(question).to_dict()
            except _UNAVAILABLE as exc:
                raise HTTPException(503, f"the event store is unavailable: {exc}") from None
            except _NO_MODEL as exc:
                raise HTTPException(503, f"the question models are unavailable: {exc}") from None
            return result

        return await run_in_threadpool(run)

    @router.post("/vqa", responses=errors(400, 404, 413, 415, 422, 503))
    def vqa(
        question: Annotated[str, Form(min_length=1, max_length=MAX_CHARS * 4)],
        image: Annotated[UploadFile | None, File(description="the picture")] = None,
        stream: Annotated[str | None, Form(max_length=128)] = None,
        time: Annotated[float | None, Form()] = None,
    ) -> dict[str, Any]:
        if (image is None) == (stream is None):
            raise HTTPException(422, "send either an image, or a stream and a time")
        if image is not None:
            rgb = read_image(image)
            try:
                answer = services.frame_qa().ask_image(question, rgb)
            except DecodeError as exc:  # the picture itself: bad input
                raise HTTPException(422, str(exc)) from None
            except SenriError as exc:
                raise HTTPException(503, f"vision models unavailable: {exc}") from None
            return {**answer.to_dict(), "source": "image"}
        if time is None or not math.isfinite(time):
            raise HTTPException(422, "time: epoch seconds of the archived frame")
        from senri.ask.frame import frame_events

        try:
            events = frame_events(services.store(), str(stream), time)
        except _UNAVAILABLE as exc:
            raise HTTPException(503, f"the event store is unavailable: {exc}") from None
        if not events:
            raise HTTPException(404, f"no stored frame of {stream!r} within 0.5 s of {time}")
        try:
            answer = services.frame_qa().ask_events(question, events, at=events[0].time)
        except _NO_MODEL as exc:
            raise HTTPException(503, f"the question models are unavailable: {exc}") from None
        return {**answer.to_dict(), "source": "archive", "frame_time": events[0].time}

    return router
