"""Named vector collections on disk, and the sink that fills one from a graph.

A collection lives in ``$SENRI_HOME/collections/<name>`` (a `FaissCollection` snapshot). A
pipeline output ``{collection: NAME, from: [embed]}`` writes the `Embedding`s of its nodes
there (`CollectionSink`): id = the item's id, its vector, and its metadata with the pHash
(``phash``, 16 hex digits), which similar-by-image reads to flag near-duplicates. So
``senri index images`` is a pipeline, and a Kafka worker can fill a collection too.

    sink = CollectionSink("products")
    sink.write(embeddings); sink.close()          # close() saves the snapshot
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from senri import config
from senri.device import Device
from senri.errors import SenriError
from senri.records import Embedding

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CollectionError(SenriError, ValueError):
    """A collection name that is malformed, or a collection that does not exist."""


def collection_path(name: str) -> Path:
    """``$SENRI_HOME/collections/<name>``; names are 1-64 of letters, digits, ``_ . -``."""
    if not _NAME.match(name):
        raise CollectionError(
            f"bad collection name {name!r}: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return config.home() / "collections" / name


def open_collection(
    name: str, *, dim: int, create: bool = False, device: Device | None = None
) -> Any:
    """The `FaissCollection` named `name`, searching on `device` (default cpu; see
    `FaissCollection`); with `create`, an empty cosine one of `dim`."""
    from senri.indexes.vectors.collection import FaissCollection

    path = collection_path(name)
    if path.exists():
        found = FaissCollection.load(path, device=device)
        if found.dim != dim:
            raise CollectionError(
                f"collection {name!r} holds {found.dim}-d vectors, not {dim}-d ones"
            )
        return found
    if not create:
        raise CollectionError(
            f"no collection {name!r} at {path}; create it with "
            f"`senri index images DIR --collection {name}`"
        )
    return FaissCollection(dim, "cosine", path, device=device)


def upsert_embeddings(collection: Any, embeddings: list[Embedding]) -> None:
    """Upsert each embedding under its item id, its metadata joined by its pHash."""
    if not embeddings:
        return
    metas = []
    for e in embeddings:
        meta = {k: v for k, v in e.metadata.items() if v is not None}
        meta["phash"] = e.phash_hex
        metas.append(meta)
    vectors = np.stack([e.vector for e in embeddings])
    collection.upsert([e.item_id for e in embeddings], vectors, metas)


class CollectionSink:
    """Writes `Embedding`s into collection `name` (created with the first vectors' dimension);
    `close` saves its snapshot (with `durable`, every write does). On Kafka the same output
    goes to the collection's embeddings topic instead (`vector_replica.VectorTopicSink`)."""

    def __init__(self, name: str, *, durable: bool = False) -> None:
        collection_path(name)  # a bad name fails now, not at the first write
        self.name = name
        self.durable = durable
        self.collection: Any = None
        self.written = 0

    def write(self, items: list[Any]) -> None:
        embeddings = [item for item in items if isinstance(item, Embedding)]
        if not embeddings:
            return
        if self.collection is None:
            dim = len(embeddings[0].vector)
            self.collection = open_collection(self.name, dim=dim, create=True)
        upsert_embeddings(self.collection, embeddings)
        self.written += len(embeddings)
        if self.durable:
            self.collection.save()

    def close(self) -> None:
        if self.collection is not None:
            self.collection.save()
