"""senri's HTTP API (FastAPI): similar-by-image, face search, and questions over the archive.

Routes: ``GET /`` (a web page for all of it), ``POST /similar`` and ``POST /faces/search``
(below); ``GET/POST /events``
(structured search, `senri.api.events`); ``POST /ask`` and ``POST /vqa`` (questions,
`senri.api.ask_routes`); ``GET /frames/{stream}.jpg`` (thumbnails, `senri.api.frames`, when
the server knows the streams' videos); ``GET /healthz``.

``POST /similar`` takes a multipart form: ``image`` (the file), ``collection``, ``k`` (1-100),
``same_only`` (bool) and ``filter`` (a JSON object of metadata equalities, e.g.
``{"category": "shoe"}``; a list value means "any of"). It answers
``{"collection", "k", "query_phash", "hits": [{id, score, metadata, hash_distance,
same_product}]}``.

Input is checked before any model runs, with one status per kind of problem:

- 413: the request or the image is over `Limits.max_bytes`, or the image over `max_pixels`;
- 415: the upload is not declared as (or does not start like) a supported image type;
- 422: a missing or malformed field, or bytes that do not decode as an image;
- 404: no such collection.

Example:
    >>> from fastapi.testclient import TestClient                  # doctest: +SKIP
    >>> client = TestClient(create_app())                           # doctest: +SKIP
    >>> client.post("/similar", data={"collection": "stickers", "k": "5"},
    ...             files={"image": ("q.png", png_bytes, "image/png")})  # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from senri.api.collections import Collections, collections_router, replica_health
from senri.api.guard import Guard
from senri.device import Device
from senri.engine.session import GraphSession
from senri.errors import DecodeError, StoreError
from senri.indexes.vectors.collections import CollectionError
from senri.operators.embed import decode_image, image_size, phash

try:
    from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
    from fastapi.responses import HTMLResponse, JSONResponse
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from senri.errors import MissingDependencyError

    raise MissingDependencyError(
        "fastapi", "the HTTP API (pip install fastapi python-multipart)"
    ) from exc

ALLOWED_TYPES = {
    "image/jpeg": (b"\xff\xd8",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/bmp": (b"BM",),
}
_FORM_SLACK = 64 * 1024  # multipart headers and the other fields around the image


@dataclass(frozen=True)
class Limits:
    """Upload limits of the API."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_k: int = 100


def _metadata_filter(text: str | None) -> Any:
    """``{"key": value | [values]}`` → a vector-collection filter (AND of equalities)."""
    from senri.indexes.vectors.filters import MetaAnd, MetaEq, MetaIn

    if not text:
        return None
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"filter is not valid JSON: {exc.msg}") from None
    if not isinstance(spec, dict) or not spec:
        raise HTTPException(422, 'filter must be a non-empty JSON object like {"category": "x"}')
    parts: list[Any] = []
    for key, value in spec.items():
        if not (isinstance(key, str) and key.isidentifier()):
            raise HTTPException(422, f"filter key {key!r} is not an identifier")
        values = value if isinstance(value, list) else [value]
        if not values or not all(
            isinstance(v, str | int | float | bool) and v == v for v in values
        ):
            raise HTTPException(422, f"filter value of {key!r} must be a scalar or scalars")
        parts.append(MetaEq(key, values[0]) if len(values) == 1 else MetaIn(key, tuple(values)))
    return parts[0] if len(parts) == 1 else MetaAnd(*parts)


def create_app(
    embedder: GraphSession | None = None,
    limits: Limits | None = None,
    *,
    store: str | None = None,
    places: Mapping[str, str] | None = None,
    media: Any = None,
    vocab: Any = None,
    perception: Any = None,
    tz: str = "UTC",
    replicas: Mapping[str, Any] | None = None,
    device: Device | None = None,
    guard: Guard | None = None,
    redact: bool = False,
    status: Any = None,
) -> FastAPI:
    """The API application; `embedder` (a ``vision.embed`` graph) defaults to
    `senri.search.similar.image_embedder`, loaded at the first similar-by-image request.

    `store` (``sqlite:PATH`` or ``elasticsearch://HOST:PORT[/INDEX]``) is the event archive
    behind ``/events``, ``/ask`` and ``/vqa`` (503 while none is set); `places` names where
    streams are; `media` (a `senri.ask.frame.MediaIndex`) serves ``/frames`` thumbnails;
    `replicas` (name → started `VectorReplica`) are collections followed from Kafka, searched
    by ``/similar`` and reported (items, lag) by ``/healthz``; `device` is where the vector
    searches of the collections opened here run (default cpu; see `FaissCollection`); `guard`
    (a `senri.api.guard.Guard`: API keys, rate limits, audit log) decides who may call each
    route but ``/healthz`` and the page (None: everyone, unlimited, for a server on
    localhost). Frames show faces and number plates pixelated to keys without the
    ``sensitive`` scope, and to everyone with `redact`. `status` (a
    `senri.api.status.KafkaStatus`) serves ``/status``: the worker groups' lag and rates.
    """
    from senri.api.admin import admin_router
    from senri.api.ask_routes import AskServices, ask_router
    from senri.api.events import events_router
    from senri.api.openapi import allow_every_method, errors
    from senri.api.timeline import timeline_router

    guard = guard or Guard()
    needs = guard.needs
    denied = errors(*guard.statuses()) or None
    lim = limits or Limits()
    collections = Collections(embedder, replicas or {}, device)
    detectors: list[Any] = []  # one face detector per app, made on first use
    detector_lock = threading.Lock()
    app = FastAPI(title="senri", summary="similar-by-image over senri collections")

    @app.middleware("http")
    async def refuse_large_bodies(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > lim.max_bytes + _FORM_SLACK:
            return JSONResponse(
                {"detail": f"request of {length} bytes exceeds the limit of {lim.max_bytes}"},
                status_code=413,
            )
        return await call_next(request)

    @app.middleware("http")
    async def audit_writes(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        path = request.url.path
        if guard.audit is not None and (
            path.startswith("/admin/")
            or (path.startswith("/collections/") and request.method not in ("GET", "HEAD"))
        ):
            key = getattr(request.state, "key", None)
            guard.audit.write(
                {
                    "key": key.name if key is not None else None,
                    "client": request.client.host if request.client else None,
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                }
            )
        return response

    def open_archive() -> Any:
        if store is None:
            raise StoreError("no event store is configured: start with senri serve --store URL")
        from senri.indexes.events.stores import open_store

        return open_store(store)

    services = AskServices(
        open_archive, places=places, media=media, vocab=vocab, perception=perception, tz=tz
    )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        """The web page: ask the archive, ask about a picture, similar images."""
        from importlib.resources import files

        html = files("senri.api").joinpath("static/index.html").read_text(encoding="utf-8")
        policy = (
            "default-src 'none'; connect-src 'self'; img-src 'self' blob: data:; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'"
        )
        return HTMLResponse(html, headers={"content-security-policy": policy})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """``ok``, and for each followed collection its items and how far it lags its topic."""
        health: dict[str, Any] = {"status": "ok"}
        if collections.replicas:
            health["replicas"] = {
                name: replica_health(replica) for name, replica in collections.replicas.items()
            }
        return health

    def read_image(image: UploadFile) -> Any:
        """The upload as RGB, or the 4xx that says what is wrong with it."""
        declared = (image.content_type or "").split(";")[0].strip().lower()
        if declared not in ALLOWED_TYPES:
            raise HTTPException(
                415,
                f"unsupported content type {declared or 'none'!r}; send one of "
                + ", ".join(sorted(ALLOWED_TYPES)),
            )
        data = image.file.read(lim.max_bytes + 1)
        if len(data) > lim.max_bytes:
            raise HTTPException(413, f"image exceeds the limit of {lim.max_bytes} bytes")
        if not data:
            raise HTTPException(422, "the image is empty")
        if not data.startswith(ALLOWED_TYPES[declared]):
            raise HTTPException(415, f"the bytes are not {declared} (starts {data[:8]!r})")
        size = image_size(data)
        if size is not None and size[0] * size[1] > lim.max_pixels:
            raise HTTPException(
                413, f"image of {size[0]}x{size[1]} pixels exceeds the limit of {lim.max_pixels}"
            )
        try:
            return decode_image(data, max_pixels=lim.max_pixels)
        except DecodeError as exc:
            raise HTTPException(422, f"cannot decode the image: {exc}") from None

    def check_k(k: int) -> None:
        if k > lim.max_k:
            raise HTTPException(422, f"k must be at most {lim.max_k}; got {k}")

    uploads = errors(400, 404, 413, 415, 422, *guard.statuses())

    @app.post("/similar", dependencies=needs("read"), responses=uploads)
    def similar(
        image: Annotated[UploadFile, File(description="JPEG, PNG, WebP, GIF or BMP")],
        collection: Annotated[str, Form(min_length=1, max_length=64)],
        k: Annotated[int, Form(ge=1)] = 5,
        same_only: Annotated[bool, Form()] = False,
        filter: Annotated[str | None, Form(max_length=4096)] = None,
    ) -> dict[str, Any]:
        check_k(k)
        rgb = read_image(image)
        meta_filter = _metadata_filter(filter)
        try:
            index = collections.get(collection)
        except CollectionError as exc:
            raise HTTPException(404, str(exc)) from None
        hits = index.search(rgb, k=k, same_only=same_only, filter=meta_filter)
        return {
            "collection": collection,
            "k": k,
            "query_phash": f"{phash(rgb):016x}",
            "hits": [h.as_dict() for h in hits],
        }

    @app.post("/faces/search", dependencies=needs("read"), responses=uploads)
    def faces_search(
        image: Annotated[UploadFile, File(description="JPEG, PNG, WebP, GIF or BMP")],
        collection: Annotated[str, Form(min_length=1, max_length=64)],
        k: Annotated[int, Form(ge=1)] = 5,
    ) -> dict[str, Any]:
        from senri.search.faces import face_collection, search_faces

        check_k(k)
        rgb = read_image(image)
        try:
            faces = face_collection(collection, device=device)
        except CollectionError as exc:
            raise HTTPException(404, str(exc)) from None
        with detector_lock:
            if not detectors:
                from senri.search.faces import face_detector

                detectors.append(face_detector())
        matches = search_faces(rgb, faces, k=k, detector=detectors[0])
        return {"collection": collection, "k": k, "faces": [m.as_dict() for m in matches]}

    app.include_router(
        events_router(services.store, services.thumbnail),
        dependencies=needs("read"),
        responses=denied,
    )
    app.include_router(
        ask_router(services, read_image), dependencies=needs("ask"), responses=denied
    )
    app.include_router(
        timeline_router(services.store, services.thumbnail),
        dependencies=needs("read"),
        responses=denied,
    )
    app.include_router(
        collections_router(collections, read_image, needs("write")), responses=denied
    )
    if guard.keys is not None:
        app.include_router(admin_router(guard), responses=denied)
    if status is not None:
        from senri.api.status import status_router

        app.include_router(status_router(status), dependencies=needs("read"), responses=denied)
    if media is not None:
        from senri.api.frames import Redactor, frames_router

        redactor = Redactor()
        app.include_router(
            frames_router(
                media,
                redact=lambda request: redactor if redact or not guard.sees_all(request) else None,
                private=guard.keys is not None,
            ),
            dependencies=needs("read"),
            responses=denied,
        )
    allow_every_method(app)
    return app
