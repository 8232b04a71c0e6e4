"""The collections `senri serve` searches, and the routes that change them.

``PUT /collections/{name}/items/{item_id}`` (multipart: ``image``, optional ``metadata`` as a
JSON object of scalars) embeds the image through the ``vision.embed`` graph and upserts it
under `item_id`, making the collection when it does not exist; ``DELETE`` on the same path
removes the item. Each write is saved to disk before it is answered. Both need the ``write``
scope and are written to the audit log (`senri.api.guard`).

- 404: DELETE of an item or collection that does not exist;
- 409: a collection this server follows from Kafka (write to its topic instead);
- 413/415/422: as for ``/similar`` (the image), or metadata that is not an object of scalars.

Example:
    >>> client.put("/collections/stickers/items/cat-01",                       # doctest: +SKIP
    ...            files={"image": ("cat.png", png, "image/png")},
    ...            data={"metadata": '{"pack": "cats"}'}).json()["items"]
    1
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from senri.api.openapi import errors
from senri.device import Device
from senri.engine.session import GraphSession
from senri.indexes.vectors.collections import CollectionError, collection_path
from senri.indexes.vectors.types import VectorError
from senri.search.similar import SimilarIndex, image_embedder

try:
    from fastapi import APIRouter, File, Form, HTTPException, Path, UploadFile
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from senri.errors import MissingDependencyError

    raise MissingDependencyError("fastapi", "the HTTP API (pip install fastapi)") from exc

ItemId = Annotated[str, Path(min_length=1, max_length=512, description="the item's id")]
Name = Annotated[str, Path(min_length=1, max_length=64, description="the collection")]


class Collections:
    """Opened collections by name, reloaded when their directory changes on disk; replicas
    (collections followed from their Kafka embeddings topic) are served as they are."""

    def __init__(
        self,
        embedder: GraphSession | None,
        replicas: Mapping[str, Any],
        device: Device | None = None,
    ) -> None:
        self._embedder = embedder
        self.replicas = dict(replicas)
        self.device = device
        self._open: dict[str, tuple[float, SimilarIndex]] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()

    @property
    def embedder(self) -> GraphSession:
        with self._lock:
            if self._embedder is None:
                self._embedder = image_embedder()
            return self._embedder

    def get(self, name: str) -> SimilarIndex:
        if name in self.replicas:
            return SimilarIndex(name, self.replicas[name], self.embedder)
        path = collection_path(name)
        try:
            stamp = path.stat().st_mtime
        except FileNotFoundError:
            raise CollectionError(f"no collection {name!r}") from None
        embedder = self.embedder
        with self._lock:
            cached = self._open.get(name)
            if cached is None or cached[0] != stamp:
                cached = (stamp, SimilarIndex.open(name, embedder=embedder, device=self.device))
                self._open[name] = cached
        return cached[1]

    def write(
        self, name: str, change: Callable[[SimilarIndex], tuple[Any, bool]], *, create: bool
    ) -> Any:
        """`change(index)` on collection `name` (made first with `create`), which answers
        (result, whether it changed anything); a change is saved before this returns. Writes
        are one at a time, searches go on meanwhile."""
        if name in self.replicas:
            raise HTTPException(
                409, f"collection {name!r} follows its Kafka topic; write to the topic instead"
            )
        with self._write_lock:
            try:
                index = self.get(name)
            except CollectionError:
                if not create:
                    raise
                index = SimilarIndex.open(
                    name, create=True, embedder=self.embedder, device=self.device
                )
            result, changed = change(index)
            if changed:
                path = index.save()
                with self._lock:
                    self._open[name] = (path.stat().st_mtime, index)
            return result


def replica_health(replica: Any) -> dict[str, Any]:
    try:
        lag: int | None = replica.lag()
        error = None
    except Exception as exc:  # the broker is away: the replica still serves what it has
        lag, error = None, f"{type(exc).__name__}: {exc}"
    return {"topic": replica.topic, "items": len(replica), "lag": lag, "error": error}


def _metadata(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"metadata is not valid JSON: {exc.msg}") from None
    if not isinstance(meta, dict):
        raise HTTPException(422, 'metadata must be a JSON object like {"category": "shoe"}')
    if "phash" in meta:
        raise HTTPException(422, "metadata key 'phash' is the server's (the image's hash)")
    return meta


def _check_name(name: str) -> None:
    try:
        collection_path(name)
    except CollectionError as exc:
        raise HTTPException(422, str(exc)) from None


def collections_router(
    collections: Collections, read_image: Callable[[UploadFile], Any], needs: list[Any]
) -> APIRouter:
    """PUT and DELETE of collection items, each behind `needs` (the ``write`` scope)."""
    router = APIRouter(tags=["collections"], dependencies=needs)

    item = "/collections/{name}/items/{item_id:path}"

    @router.put(item, responses=errors(404, 409, 413, 415, 422))
    def put_item(
        name: Name,
        item_id: ItemId,
        image: Annotated[UploadFile, File(description="JPEG, PNG, WebP, GIF or BMP")],
        metadata: Annotated[str | None, Form(max_length=4096)] = None,
    ) -> dict[str, Any]:
        """Embed `image` and store it as `item_id` (replacing one with that id)."""
        _check_name(name)
        meta = _metadata(metadata)
        rgb = read_image(image)

        def put(index: SimilarIndex) -> tuple[bool, bool]:
            existed = index.collection.get(item_id) is not None
            index.add([item_id], [rgb], [meta])
            return existed, True

        try:
            replaced = collections.write(name, put, create=True)
        except (VectorError, ValueError) as exc:
            raise HTTPException(422, f"cannot store {item_id!r}: {exc}") from None
        return {
            "collection": name,
            "id": item_id,
            "replaced": replaced,
            "items": len(collections.get(name)),
        }

    @router.delete(item, responses=errors(404, 409, 422))
    def delete_item(name: Name, item_id: ItemId) -> dict[str, Any]:
        """Remove `item_id` from the collection."""
        _check_name(name)
        try:

            def delete(index: SimilarIndex) -> tuple[int, bool]:
                removed = index.collection.delete([item_id])
                return removed, removed > 0  # nothing removed: nothing to save

            removed = collections.write(name, delete, create=False)
        except CollectionError as exc:
            raise HTTPException(404, str(exc)) from None
        if not removed:
            raise HTTPException(404, f"collection {name!r} has no item {item_id!r}")
        return {"collection": name, "id": item_id, "items": len(collections.get(name))}

    return router
