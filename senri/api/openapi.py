"""What `/openapi.json` promises, kept true: error bodies, JSON request bodies, `Allow` on 405.

- Every error answers ``{"detail": ...}``: a sentence saying what is wrong, or FastAPI's list
  of field errors. `errors(...)` declares the codes a route can answer with that schema (it
  replaces FastAPI's default 422 schema, which allows only the list).
- `/ask` and `POST /events` read their JSON bodies themselves (to name unknown fields and
  bad values in one sentence); `ASK_BODY` and `EVENTS_BODY` describe those bodies.
- A method a path does not take is 405 with ``Allow`` naming every method the path takes,
  across all its routes (Starlette names only the first route's).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

ERROR_TEXT = {
    400: "Not a request the server can read (a broken multipart body)",
    401: "No API key, or an unknown one (when the server requires keys)",
    403: "The key lacks this route's scope",
    404: "Nothing there: an unknown collection, item or stream, or no frame at that time",
    409: "A collection this server follows from Kafka; write to its topic instead",
    413: "The body or the image is over the server's limits",
    415: "Not an image type the server reads, or bytes that are not the declared type",
    422: "A field is missing or malformed; `detail` says which and why",
    429: "Over the caller's rate limit; `Retry-After` says when to come back",
    503: "The event store or a model is not available",
}


class ErrorBody(BaseModel):
    """An error: what is wrong, as a sentence or as a list of field errors."""

    detail: str | list[dict[str, Any]] = Field(
        description="why the request failed: a sentence, or a list of field errors"
    )


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry declaring `codes` with `ErrorBody`."""
    return {code: {"model": ErrorBody, "description": ERROR_TEXT[code]} for code in codes}


def _body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {
        "requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}
    }


_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 256}}
_TIME = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1e11},
        {"type": "string", "format": "date-time"},
        {"type": "null"},
    ],
    "description": "epoch seconds or an ISO 8601 date-time",
}
_SCALAR = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}

ASK_BODY = _body(
    {
        "type": "object",
        "properties": {
            "question": {"type": "string", "minLength": 1, "maxLength": 1600},
            "now": {
                "anyOf": [{"type": "number", "minimum": 0, "maximum": 1e11}, {"type": "null"}],
                "description": "the clock, epoch seconds",
            },
            "tz": {"type": ["string", "null"], "maxLength": 64, "description": "IANA zone"},
        },
        "required": ["question"],
        "additionalProperties": False,
    }
)

EVENTS_BODY = _body(
    {
        "type": "object",
        "description": "fields of a search (senri.search.events.SearchRequest); all optional",
        "properties": {
            "streams": _STRINGS,
            "kinds": _STRINGS,
            "labels": _STRINGS,
            "attributes": {
                "type": "object",
                "additionalProperties": {"anyOf": [_SCALAR, {"type": "array", "items": _SCALAR}]},
            },
            "start": _TIME,
            "end": _TIME,
            "text": {"type": ["string", "null"]},
            "min_confidence": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "tracked_only": {"type": ["boolean", "null"]},
            "aggregate": {"enum": ["none", "count", "tracks", "histogram", "terms", None]},
            "interval": {"type": ["number", "null"], "minimum": 1, "maximum": 366 * 86400},
            "group_by": {"type": ["string", "null"]},
            "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 1000},
            "offset": {"type": ["integer", "null"], "minimum": 0, "maximum": 10_000},
            "order": {"enum": ["asc", "desc", None]},
        },
        "additionalProperties": False,
    },
    required=False,  # no body: every event, first page
)


def allow_every_method(app: Any) -> None:
    """Answer 405 with ``Allow`` listing every method the OpenAPI document gives the path."""
    import re

    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    default = app.exception_handlers.get(HTTPException)
    table: list[tuple[re.Pattern[str], set[str]]] = []

    def methods_of(path: str) -> set[str]:
        if not table:
            for template, ops in app.openapi().get("paths", {}).items():
                pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
                table.append((re.compile(pattern + "$"), {m.upper() for m in ops}))
        return set().union(*(m for rx, m in table if rx.match(path)))

    async def handler(request: Any, exc: HTTPException) -> Any:
        if exc.status_code != 405:
            return await default(request, exc)
        allow = ", ".join(sorted(methods_of(request.url.path)))
        return JSONResponse({"detail": "Method Not Allowed"}, 405, headers={"Allow": allow})

    app.add_exception_handler(HTTPException, handler)
