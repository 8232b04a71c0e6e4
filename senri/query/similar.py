"""Similar-by-image: index image folders into a FAISS collection, query it with an image.

Each indexed image stores its ``image/embed`` vector (cosine) and, in its metadata, its 64-bit
pHash (``phash``, 16 hex digits) beside the catalog fields (``path``, ``category``, ...). A query
ranks by embedding ("similar design") and flags each hit whose pHash is within
`SAME_MAX_DISTANCE` bits of the query's as ``same_product`` (the same picture resized,
re-encoded or lightly edited); ``same_only`` keeps just those.

Collections live under ``$SENRI_HOME/collections/<name>``.

Example:
    >>> index = SimilarIndex.open("stickers", create=True)        # doctest: +SKIP
    >>> index.add_folder("stickers/")                             # doctest: +SKIP
    >>> index.search(decode_image(open("q.png", "rb").read()), k=5)  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from senri import config
from senri.errors import SenriError
from senri.operators.embed import (
    SAME_MAX_DISTANCE,
    Image,
    ImageEmbedder,
    decode_image,
    hamming,
    phash,
)
from senri.records import DeadLetter, ImageItem

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RESERVED = ("phash",)
"""Metadata keys senri writes itself; catalog fields of these names are overwritten."""


class CollectionError(SenriError, ValueError):
    """A collection name that is malformed, or a collection that does not exist."""


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


def collection_path(name: str) -> Path:
    """``$SENRI_HOME/collections/<name>``; names are 1-64 of letters, digits, ``_ . -``."""
    if not _NAME.match(name):
        raise CollectionError(
            f"bad collection name {name!r}: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return config.home() / "collections" / name


class SimilarIndex:
    """A named, persisted image collection plus the embedder that fills and queries it."""

    def __init__(self, name: str, collection: Any, embedder: ImageEmbedder | None = None) -> None:
        self.name = name
        self.collection = collection
        self._embedder = embedder

    @classmethod
    def open(
        cls, name: str, *, create: bool = False, embedder: ImageEmbedder | None = None
    ) -> SimilarIndex:
        """Load collection `name`; with `create`, start an empty one if there is none."""
        from senri.indexes.vectors import FaissCollection

        path = collection_path(name)
        if path.exists():
            return cls(name, FaissCollection.load(path), embedder)
        if not create:
            raise CollectionError(
                f"no collection {name!r} at {path}; create it with "
                f"`senri index images DIR --collection {name}`"
            )
        dim = embedder.dim if embedder is not None else _model_dim()
        return cls(name, FaissCollection(dim, "cosine", path), embedder)

    @property
    def embedder(self) -> ImageEmbedder:
        if self._embedder is None:
            self._embedder = ImageEmbedder.load()
        return self._embedder

    def __len__(self) -> int:
        return len(self.collection)

    def add(
        self,
        ids: list[str],
        images: list[Image],
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Embed, hash and upsert decoded images (an existing id is replaced)."""
        if not ids:
            return
        vectors = self.embedder.embed(images)
        metas = []
        for i, image in enumerate(images):
            meta = {k: v for k, v in (metadata[i] if metadata else {}).items() if v is not None}
            meta["phash"] = f"{phash(image):016x}"
            metas.append(meta)
        self.collection.upsert(ids, vectors, metas)

    def add_items(
        self,
        items: Iterable[ImageItem | DeadLetter],
        *,
        batch: int = 16,
        on_progress: Callable[[int], None] | None = None,
    ) -> tuple[int, list[str]]:
        """Index source records (e.g. `ImageFolderSource`); returns (indexed, problems).

        Undecodable files and dead letters are reported, never fatal.
        """
        done, problems = 0, []
        ids: list[str] = []
        images: list[Image] = []
        metas: list[Mapping[str, Any]] = []

        def flush() -> None:
            nonlocal done
            self.add(ids, images, metas)
            done += len(ids)
            if on_progress is not None:
                on_progress(len(ids))
            ids.clear()
            images.clear()
            metas.clear()

        for item in items:
            if isinstance(item, DeadLetter):
                problems.append(f"{item.key}: {item.reason}")
                continue
            try:
                image = item.image if item.image is not None else decode_image(item.data)
            except ValueError as exc:
                problems.append(f"{item.item_id}: {exc}")
                continue
            ids.append(item.item_id)
            images.append(image)
            metas.append(dict(item.metadata))
            if len(ids) >= batch:
                flush()
        if ids:
            flush()
        return done, problems

    def add_folder(self, root: str | Path, **kwargs: Any) -> tuple[int, list[str]]:
        """Index every image under `root` (ids are paths relative to it)."""
        from senri.connectors.images import ImageFolderSource

        return self.add_items(ImageFolderSource(root, self.name), **kwargs)

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
        query = self.embedder.embed([image])
        qhash = phash(image)
        want = max(4 * k, 50) if same_only else k
        raw = self.collection.search(query, k=want, filter=filter)[0]
        hits = []
        for h in raw:
            stored = h.metadata.get("phash")
            dist = hamming(qhash, int(stored, 16)) if isinstance(stored, str) else 64
            hits.append(SimilarHit(h.id, float(h.score), h.metadata, dist, dist <= max_distance))
        if same_only:
            hits = sorted((h for h in hits if h.same_product), key=lambda h: (h.distance, -h.score))
        return hits[:k]


def _model_dim() -> int:
    from senri.operators.embed import DIM

    return DIM


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
