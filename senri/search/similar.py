"""Similar-by-image: index image folders into a FAISS collection, query it with an image.

Images are embedded by a one-node graph (``vision.embed``, `image_embedder`) run through the
engine, as in a pipeline. Each indexed image stores its ``image/embed`` vector (cosine) and, in
its metadata, its 64-bit pHash (``phash``, 16 hex digits) beside the catalog fields (``path``,
``category``, ...). A query
ranks by embedding ("similar design") and flags each hit whose pHash is within
`SAME_MAX_DISTANCE` bits of the query's as ``same_product`` (the same picture resized,
re-encoded or lightly edited); ``same_only`` keeps just those.

Collections live under ``$SENRI_HOME/collections/<name>``.

Example:
    >>> index_folder("stickers/", "stickers")                     # doctest: +SKIP
    >>> index = SimilarIndex.open("stickers")                     # doctest: +SKIP
    >>> index.search(decode_image(open("q.png", "rb").read()), k=5)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from senri.engine.operator import Device
from senri.engine.session import GraphSession
from senri.errors import SenriError
from senri.indexes.vectors.collections import (
    open_collection,
    upsert_embeddings,
)
from senri.operators.embed import DIM, SAME_MAX_DISTANCE, Embedding, Image, decode_image, hamming
from senri.records import DeadLetter, ImageItem

RESERVED = ("phash",)
"""Metadata keys senri writes itself; catalog fields of these names are overwritten."""


@dataclass(frozen=True)
class SimilarHit:
    """One result: the item id, cosine similarity, its metadata, and the pHash verdict."""

    id: str
    score: float
    metadata: Mapping[str, Any]
    distance: int
    """pHash Hamming distance to the query (0..64)."""
    same_product: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": round(self.score, 6),
            "metadata": dict(self.metadata),
            "hash_distance": self.distance,
            "same_product": self.same_product,
        }


def image_embedder(device: Device | None = None) -> GraphSession:
    """A graph of one ``vision.embed`` node over image items, set up once (the model loads)."""
    nodes = {"embed": {"op": "vision.embed", "from": "images"}}
    return GraphSession.of(nodes, inputs={"images": ImageItem}, device=device).setup()


class SimilarIndex:
    """A named, persisted image collection plus the embedding graph that fills and queries it."""

    def __init__(self, name: str, collection: Any, embedder: GraphSession | None = None) -> None:
        self.name = name
        self.collection = collection
        self._embedder = embedder

    @classmethod
    def open(
        cls,
        name: str,
        *,
        create: bool = False,
        embedder: GraphSession | None = None,
        device: Device | None = None,
    ) -> SimilarIndex:
        """Load collection `name`, its vector search on `device` (default cpu); with `create`,
        start an empty one if there is none."""
        collection = open_collection(name, dim=DIM, create=create, device=device)
        return cls(name, collection, embedder)

    @property
    def embedder(self) -> GraphSession:
        if self._embedder is None:
            self._embedder = image_embedder()
        return self._embedder

    def __len__(self) -> int:
        return len(self.collection)

    def embed(self, items: list[ImageItem]) -> tuple[list[Embedding], list[DeadLetter]]:
        """Vectors and pHashes of `items` through the graph; what failed, with its reason."""
        step = self.embedder.run(images=items)
        return step.outputs["embed"], step.dead

    def add(
        self,
        ids: list[str],
        images: list[Image],
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Embed, hash and upsert decoded images (an existing id is replaced); an image the
        model fails on raises `ValueError` with the reason, and nothing is added."""
        items = [
            ImageItem(self.name, ident, n, b"", dict(metadata[n] if metadata else {}), image)
            for n, (ident, image) in enumerate(zip(ids, images, strict=True))
        ]
        vectors, dead = self.embed(items)
        if dead:
            raise ValueError(dead[0].reason)
        upsert_embeddings(self.collection, vectors)

    def save(self) -> Path:
        path: Path = self.collection.save()
        return path

    def search(
        self,
        image: Image,
        *,
        k: int = 5,
        same_only: bool = False,
        filter: Any = None,
        max_distance: int = SAME_MAX_DISTANCE,
    ) -> list[SimilarHit]:
        """The `k` nearest items to `image` (cosine), best first, with pHash verdicts.

        `same_only` keeps hits within `max_distance` bits; near-duplicates are looked for among
        the top ``max(4k, 50)`` by embedding and then ranked by hash distance, then score.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1; got {k}")
        found, dead = self.embed([ImageItem("query", "query", 0, b"", {}, image)])
        if dead:
            raise ValueError(dead[0].reason)
        (query,) = found
        want = max(4 * k, 50) if same_only else k
        raw = self.collection.search(query.vector[None], k=want, filter=filter)[0]
        hits = []
        for h in raw:
            stored = h.metadata.get("phash")
            dist = hamming(query.phash, int(stored, 16)) if isinstance(stored, str) else 64
            hits.append(SimilarHit(h.id, float(h.score), h.metadata, dist, dist <= max_distance))
        if same_only:
            hits = sorted((h for h in hits if h.same_product), key=lambda h: (h.distance, -h.score))
        return hits[:k]


def index_pipeline(folder: str | Path, collection: str, *, batch: int = 16) -> dict[str, Any]:
    """The pipeline `senri index images` runs: a folder's images, embedded, into a collection.

    The same mapping as YAML runs on Kafka too (``senri worker``, reading the topic `senri
    ingest images --collection NAME` writes); see ``senri/pipelines/catalog.yaml``.
    """
    return {
        "name": f"index-{collection}",
        "inputs": {"images": {"images": str(folder), "stream": collection}},
        "graph": {"embed": {"op": "vision.embed", "from": "images", "batch": batch}},
        "outputs": {"vectors": {"collection": collection, "from": ["embed"]}},
    }


def index_folder(
    folder: str | Path,
    collection: str,
    *,
    batch: int = 16,
    on_start: Callable[[Any], None] | None = None,
) -> tuple[int, list[str]]:
    """Run `index_pipeline` on the embedded runtime; returns (indexed, problems).

    Unreadable and undecodable files are the pipeline's dead letters, reported with their
    reasons, never fatal. `on_start(runtime)` sees the runtime before it runs (progress).
    """
    from senri.engine import spec
    from senri.engine.graph import build
    from senri.engine.local import LocalRuntime
    from senri.engine.run import open_sources
    from senri.engine.sinks import MemorySink
    from senri.indexes.vectors.collections import CollectionSink

    sink, dead = CollectionSink(collection), MemorySink()  # a bad name fails before any read
    graph = build(spec.from_mapping(index_pipeline(folder, collection, batch=batch)))
    runtime = LocalRuntime(
        graph, sources=open_sources(graph, Path.cwd()), sinks={"vectors": sink}, dlq=dead
    )
    if on_start is not None:
        on_start(runtime)
    runtime.run()
    return sink.written, [d.reason for d in dead.items]


# -- evaluation: the same emoji drawn by different vendors -----------------------------------------

EMOJI_VERSION = "16.0.0"


def emoji_images(
    vendor: str,
    count: int = 300,
    *,
    offset: int = 0,
    size: int = 64,
    skip: tuple[str, ...] = ("Component",),
) -> dict[str, Image]:
    """`count` emoji (every n-th in Unicode order from `offset`, present in apple, google and
    twitter; offsets below n give disjoint sets) drawn
    by `vendor`, RGB on white, keyed by their unified code point; from the npm tarball
    ``emoji-datasource-<vendor>`` (fetched once into ``$SENRI_CACHE/npm``)."""
    import json
    import tarfile

    from senri.models import npm

    tgz = npm.pack(f"emoji-datasource-{vendor}", EMOJI_VERSION)
    folder = f"package/img/{vendor}/{size}/"
    table: list[dict[str, Any]] = []
    pngs: dict[str, bytes] = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar:
            if member.name == "package/emoji.json" or member.name.startswith(folder):
                src = tar.extractfile(member)
                if src is None:
                    continue
                if member.name.startswith(folder):
                    pngs[member.name[len(folder) :]] = src.read()
                else:
                    table = json.load(src)
    if not table:
        raise SenriError(f"{tgz.name} has no package/emoji.json")
    table = [
        e
        for e in sorted(table, key=lambda e: e["sort_order"])
        if e["category"] not in skip
        and all(e.get(f"has_img_{v}") for v in ("apple", "google", "twitter"))
        and e["image"] in pngs
    ]
    step = max(1, len(table) // count)
    return {e["unified"]: decode_image(pngs[e["image"]]) for e in table[offset::step][:count]}


def recall_at(ranked: np.ndarray, truth: np.ndarray, ks: tuple[int, ...] = (1, 5, 10)) -> dict:
    """recall@k for each k: the share of rows whose `truth` index is among the first k columns
    of `ranked` (row-wise indices, best first)."""
    hit_rank = np.where(ranked == truth[:, None], np.arange(ranked.shape[1]), ranked.shape[1])
    first = hit_rank.min(axis=1)
    return {k: float((first < k).mean()) for k in ks}
