"""``GET /frames/{stream_id}.jpg``: a JPEG of an archived frame, for the evidence of answers.

Query parameters: ``t`` (epoch seconds, required), ``x1``/``y1``/``x2``/``y2`` (a box in the
video's pixels to outline: all four or none) and ``max_side`` (16-1920, default 320). The
frame is the one nearest ``t``. ``GET /frames/{stream_id}/{t}.jpg`` is the same with the time
in the path (the form `senri.ask.types.Evidence.thumbnail` names).

Faces and text (number plates) are pixelated by the ``vision.redact`` graph for callers
without the ``sensitive`` scope (`senri.api.guard`), and for everyone on a server started
with ``--redact``; on a server with keys, frames are marked ``Cache-Control: private``.

- 404: a stream without a known video, or ``t`` outside its video;
- 422: a missing or malformed parameter, a partial or empty box.

Example:
    >>> app.include_router(frames_router(MediaIndex.from_pipeline("street.yaml")))  # doctest: +SKIP
    >>> client.get("/frames/street1.jpg", params={"t": 1767261602.4}).headers["content-type"]
    'image/jpeg'
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt

from senri.api.openapi import errors
from senri.ask.frame import FrameNotFoundError, MediaIndex
from senri.engine.session import GraphSession
from senri.errors import SenriError
from senri.records import Frame

try:
    from fastapi import APIRouter, HTTPException, Query, Request
    from fastapi.responses import Response
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from senri.errors import MissingDependencyError

    raise MissingDependencyError("fastapi", "the HTTP API (pip install fastapi)") from exc

JPEG = "image/jpeg"
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {JPEG: {}}, "description": "the frame as a JPEG"},
    **errors(404, 422, 503),
}


Redact = Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.uint8]]


class Redactor:
    """An RGB image with faces and text pixelated, through a one-node ``vision.redact`` graph
    set up at the first call (the models load only when a frame needs them)."""

    def __init__(self) -> None:
        self._session: GraphSession | None = None
        self._lock = threading.Lock()

    def __call__(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        with self._lock:
            if self._session is None:
                nodes = {"redact": {"op": "vision.redact", "from": "frames"}}
                self._session = GraphSession.of(nodes, inputs={"frames": Frame}).setup()
            step = self._session.run(frames=[Frame("redact", 0, 0.0, 0.0, image)])
        if step.dead:  # never serve the frame as it was when it could not be redacted
            raise SenriError(f"cannot redact the frame: {step.dead[0].reason}")
        (frame,) = step.outputs["redact"]
        return frame.image


def frames_router(
    media: MediaIndex,
    redact: Callable[[Request], Redact | None] = lambda request: None,
    *,
    private: bool = False,
) -> APIRouter:
    """A router serving thumbnails of the frames of the streams `media` knows; `redact(request)`
    says which redaction, if any, that request's caller gets; `private` keeps shared caches
    from keeping frames (a server with keys)."""
    router = APIRouter(tags=["frames"])
    cache = "private, max-age=86400" if private else "max-age=86400"

    def answer(
        request: Request,
        stream_id: str,
        t: float,
        box: tuple[float | None, float | None, float | None, float | None],
        max_side: int,
    ) -> Response:
        if not math.isfinite(t):
            raise HTTPException(422, "t must be a finite number of epoch seconds")
        given = [v for v in box if v is not None]
        if given and len(given) != 4:
            raise HTTPException(422, "give all of x1, y1, x2, y2 for a box, or none")
        try:
            data = media.thumbnail(
                stream_id,
                t,
                max_side=max_side,
                bbox=tuple(given) if given else None,
                redact=redact(request),
            )
        except FrameNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        except SenriError as exc:
            raise HTTPException(503, str(exc)) from None
        # an archived frame never changes; who sees it unredacted depends on the key
        headers = {"Cache-Control": cache, "Vary": "Authorization, X-API-Key"}
        return Response(data, media_type=JPEG, headers=headers)

    @router.get("/frames/{stream_id}.jpg", response_class=Response, responses=_RESPONSES)
    def frame_at(
        request: Request,
        stream_id: str,
        t: Annotated[float, Query(description="epoch seconds")],
        x1: float | None = None,
        y1: float | None = None,
        x2: float | None = None,
        y2: float | None = None,
        max_side: Annotated[int, Query(ge=16, le=1920)] = 320,
    ) -> Response:
        """The frame of `stream_id` nearest time `t`, with an optional box drawn on it."""
        return answer(request, stream_id, t, (x1, y1, x2, y2), max_side)

    @router.get("/frames/{stream_id}/{t}.jpg", response_class=Response, responses=_RESPONSES)
    def frame_at_path(
        request: Request,
        stream_id: str,
        t: float,
        x1: float | None = None,
        y1: float | None = None,
        x2: float | None = None,
        y2: float | None = None,
        max_side: Annotated[int, Query(ge=16, le=1920)] = 320,
    ) -> Response:
        """The same as ``/frames/{stream_id}.jpg?t=``, with the time in the path."""
        return answer(request, stream_id, t, (x1, y1, x2, y2), max_side)

    return router
