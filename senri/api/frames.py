"""``GET /frames/{stream_id}.jpg``: a JPEG of an archived frame, for the evidence of answers.

Query parameters: ``t`` (epoch seconds, required), ``x1``/``y1``/``x2``/``y2`` (a box in the
video's pixels to outline: all four or none) and ``max_side`` (16-1920, default 320). The
frame is the one nearest ``t``. ``GET /frames/{stream_id}/{t}.jpg`` is the same with the time
in the path (the form `senri.ask.types.Evidence.thumbnail` names).

- 404: a stream without a known video, or ``t`` outside its video;
- 422: a missing or malformed parameter, a partial or empty box.

Example:
    >>> app.include_router(frames_router(MediaIndex.from_pipeline("street.yaml")))  # doctest: +SKIP
    >>> client.get("/frames/street1.jpg", params={"t": 1767261602.4}).headers["content-type"]
    'image/jpeg'
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from senri.api.openapi import errors
from senri.ask.frame import FrameNotFoundError, MediaIndex

try:
    from fastapi import APIRouter, HTTPException, Query
    from fastapi.responses import Response
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from senri.errors import MissingDependencyError

    raise MissingDependencyError("fastapi", "the HTTP API (pip install fastapi)") from exc

JPEG = "image/jpeg"
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {JPEG: {}}, "description": "the frame as a JPEG"},
    **errors(404, 422),
}


def frames_router(media: MediaIndex) -> APIRouter:
    """A router serving thumbnails of the frames of the streams `media` knows."""
    router = APIRouter(tags=["frames"])

    def answer(
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
                stream_id, t, max_side=max_side, bbox=tuple(given) if given else None
            )
        except FrameNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        # an archived frame never changes
        return Response(data, media_type=JPEG, headers={"Cache-Control": "max-age=86400"})

    @router.get("/frames/{stream_id}.jpg", response_class=Response, responses=_RESPONSES)
    def frame_at(
        stream_id: str,
        t: Annotated[float, Query(description="epoch seconds")],
        x1: float | None = None,
        y1: float | None = None,
        x2: float | None = None,
        y2: float | None = None,
        max_side: Annotated[int, Query(ge=16, le=1920)] = 320,
    ) -> Response:
        """The frame of `stream_id` nearest time `t`, with an optional box drawn on it."""
        return answer(stream_id, t, (x1, y1, x2, y2), max_side)

    @router.get("/frames/{stream_id}/{t}.jpg", response_class=Response, responses=_RESPONSES)
    def frame_at_path(
        stream_id: str,
        t: float,
        x1: float | None = None,
        y1: float | None = None,
        x2: float | None = None,
        y2: float | None = None,
        max_side: Annotated[int, Query(ge=16, le=1920)] = 320,
    ) -> Response:
        """The same as ``/frames/{stream_id}.jpg?t=``, with the time in the path."""
        return answer(stream_id, t, (x1, y1, x2, y2), max_side)

    return router
