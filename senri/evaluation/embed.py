"""Evaluation of the ``image/embed`` model: augmented copies, stickers across vendors, fonts.

`senri.evaluation.models` registers `image_embed` as ``image/embed`` (``senri models eval
image/embed``). Three parts, each deterministic for a given configuration:

- ``augmented``: a catalog of emoji by one vendor (cached npm tarball, see
  `senri.search.similar.emoji_images`) is indexed; each query is one catalog emoji altered by
  one real-world change, cycling through `AUGMENTATIONS` (crop, rotation, colour jitter, heavy
  JPEG, background change: the sticker pasted, smaller, onto a patch of a scikit-image photo).
  recall@1/@10 by embedding (cosine) and by pHash (Hamming distance), overall and per change.
- ``vendors``: the same emoji drawn by other vendors queried against the catalog: recall@1/5/10
  by embedding and by pHash (what ``benchmarks/similar.py`` measures, at evaluation sizes).
- ``fonts``: font identification with no training. Text is rendered (Pillow/FreeType) in the
  TrueType/OpenType fonts the Debian packages ``fonts-dejavu-core``, ``fonts-liberation`` and
  ``fonts-urw-base35`` install; renders of training words are indexed per font and renders of
  held-out words (other words, sizes, a slight rotation and blur) are classified by their
  nearest neighbour's font. Top-1/top-5 are printed beside DeepFont's 71.4 % / 81.8 %
  (Wang et al., 2015: 2,383 fonts, real-world VFR_real_test images); ours is clean rendered
  text and about 17 fonts, so the two are not comparable, only a sense of scale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from senri.models.photos import sample_photo

Image = npt.NDArray[np.uint8]
Embed = Callable[[list[Image]], npt.NDArray[np.float32]]

AUGMENTATIONS = ("crop", "rotate", "colour", "jpeg", "background")
BACKGROUNDS = ("coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png", "motorcycle_left.png")
DEEPFONT = {"top1": 0.714, "top5": 0.818}
"""DeepFont (Wang et al., ACM MM 2015), VFR_real_test accuracy as reported in the paper."""
PROBE_RIDGE = 0.1

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/opentype/urw-base35"),
)
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansCondensed.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSerif-Regular.ttf",
    "LiberationMono-Regular.ttf",
    "LiberationSansNarrow-Regular.ttf",
    "NimbusSans-Regular.otf",
    "NimbusRoman-Regular.otf",
    "NimbusMonoPS-Regular.otf",
    "NimbusSansNarrow-Regular.otf",
    "C059-Roman.otf",
    "P052-Roman.otf",
    "URWBookman-Light.otf",
    "URWGothic-Book.otf",
    "Z003-MediumItalic.otf",
)
"""Regular faces of distinct families; Liberation Sans/Serif/Mono are metric clones of Nimbus
Sans/Roman/Mono (Arial/Times/Courier look-alikes), the hardest pairs here."""

_PROSE = (
    "river quiet amber planet window garden silver market yellow orchid hazard bright "
    "jumping fox lazy dog velvet quartz whisky judge box wizard frozen mighty oxen "
    "harbor pickle vortex glyph nymph sphinx black crazy cobra tiger jungle marble "
    "forest candle mosaic wobble zephyr kindle breeze lantern ginger puzzle magnet "
    "copper violin bishop dragon falcon meadow galaxy honey ivory jasper kettle lemon"
)
WORDS: tuple[str, ...] = tuple(_PROSE.split())
"""Training renders draw from the first half, held-out renders from the second."""


def found_fonts(names: Sequence[str] = FONTS) -> list[Path]:
    """The files of `names` that are installed (searched in `FONT_DIRS`), in order."""
    paths = []
    for name in names:
        for folder in FONT_DIRS:
            if (folder / name).is_file():
                paths.append(folder / name)
                break
    return paths


def sticker_mask(image: np.ndarray, tolerance: int = 12) -> npt.NDArray[np.bool_]:
    """True on the sticker: everything but the near-white region connected to the border
    (white inside the drawing, e.g. eyes, stays part of it)."""
    white = (image.min(axis=2) >= 255 - tolerance).astype(np.uint8)
    _, labels = cv2.connectedComponents(white, connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return ~np.isin(labels, border[border > 0])


def augment(image: Image, kind: str, rng: np.random.Generator, backgrounds: list[Image]) -> Image:
    """`image` (RGB, on white) altered by one change of `AUGMENTATIONS`."""
    h, w = image.shape[:2]
    if kind == "crop":  # keep 65-80 % of each side, anywhere
        fh, fw = rng.uniform(0.65, 0.8, 2)
        ch, cw = int(h * fh), int(w * fw)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        return np.ascontiguousarray(image[y : y + ch, x : x + cw])
    if kind == "rotate":  # 15-35 degrees either way, white corners
        angle = float(rng.uniform(15, 35) * rng.choice([-1, 1]))
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        return np.asarray(
            cv2.warpAffine(image, matrix, (w, h), borderValue=(255, 255, 255)), np.uint8
        )
    if kind == "colour":  # hue shift, saturation, brightness and contrast
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[:, :, 0] = (hsv[:, :, 0] + rng.uniform(12, 30) * rng.choice([-1, 1])) % 180
        hsv[:, :, 1] *= rng.uniform(0.6, 1.3)
        rgb = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)
        out = (rgb.astype(np.float32) - 128) * rng.uniform(0.7, 1.2) + 128 + rng.uniform(-30, 20)
        return np.clip(out, 0, 255).astype(np.uint8)
    if kind == "jpeg":  # shrunk, then quality 10-25
        small = cv2.resize(image, (w * 3 // 4, h * 3 // 4), interpolation=cv2.INTER_AREA)
        quality = int(rng.integers(10, 26))
        ok, data = cv2.imencode(".jpg", small[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if decoded is None:
            raise ValueError("JPEG decoding failed")
        return np.ascontiguousarray(decoded[:, :, ::-1], np.uint8)
    if kind == "background":  # filling 55-75 % of the side of a photo patch, anywhere on it
        photo = backgrounds[int(rng.integers(len(backgrounds)))]
        side = 2 * max(h, w)
        y = int(rng.integers(0, photo.shape[0] - side * 2 + 1))
        x = int(rng.integers(0, photo.shape[1] - side * 2 + 1))
        canvas = np.asarray(
            cv2.resize(photo[y : y + side * 2, x : x + side * 2], (side, side)), np.uint8
        )
        scale = rng.uniform(0.55, 0.75) * 2
        sh, sw = int(h * scale), int(w * scale)
        small = np.asarray(cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA), np.uint8)
        mask = sticker_mask(small)
        oy, ox = int(rng.integers(0, side - sh + 1)), int(rng.integers(0, side - sw + 1))
        patch = canvas[oy : oy + sh, ox : ox + sw]
        patch[mask] = small[mask]
        return canvas
    raise ValueError(f"unknown augmentation {kind!r}; known: {', '.join(AUGMENTATIONS)}")


def _rank_vectors(index: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ index.T), axis=1, kind="stable")[:, :k]


def _rank_hashes(index: list[int], queries: list[int], k: int) -> np.ndarray:
    dist = np.array([[(q ^ i).bit_count() for i in index] for q in queries])
    return np.argsort(dist, axis=1, kind="stable")[:, :k]


def _recall(ranked: np.ndarray, truth: np.ndarray, ks: tuple[int, ...]) -> dict[str, float]:
    from senri.search.similar import recall_at

    return {f"r@{k}": round(v, 3) for k, v in recall_at(ranked, truth, ks).items()}


def augmented_recall(
    embed: Embed,
    catalog: list[Image],
    catalog_vectors: np.ndarray,
    *,
    queries: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """recall@1/@10 of augmented catalog images (query i is catalog item ``i * step`` under
    change ``AUGMENTATIONS[i % 5]``), by embedding and by pHash, overall and per change."""
    from senri.operators.embed import phash

    rng = np.random.default_rng(seed)
    backgrounds = [sample_photo(name) for name in BACKGROUNDS]
    count = min(queries, len(catalog))
    step = max(1, len(catalog) // count)
    truth = np.arange(count) * step
    kinds = [AUGMENTATIONS[i % len(AUGMENTATIONS)] for i in range(count)]
    altered = [
        augment(catalog[t], kind, rng, backgrounds) for t, kind in zip(truth, kinds, strict=True)
    ]
    k = min(10, len(catalog))
    by_vector = _rank_vectors(catalog_vectors, embed(altered), k)
    hashes = [phash(image) for image in catalog]
    by_hash = _rank_hashes(hashes, [phash(image) for image in altered], k)
    ks = (1, 10)
    per_kind = {}
    for kind in AUGMENTATIONS:
        rows = np.array([q == kind for q in kinds])
        if rows.any():
            per_kind[kind] = {
                "queries": int(rows.sum()),
                "embed": _recall(by_vector[rows], truth[rows], ks),
                "phash": _recall(by_hash[rows], truth[rows], ks),
            }
    return {
        "catalog": len(catalog),
        "queries": count,
        "embed": _recall(by_vector, truth, ks),
        "phash": _recall(by_hash, truth, ks),
        "by_change": per_kind,
    }


def vendor_recall(
    embed: Embed,
    catalog: list[Image],
    catalog_vectors: np.ndarray,
    others: dict[str, list[Image]],
) -> dict[str, Any]:
    """recall@1/5/10 of the same emoji drawn by each vendor of `others` (same order as
    `catalog`), by embedding and by pHash."""
    from senri.operators.embed import phash

    truth = np.arange(len(catalog))
    k = min(10, len(catalog))
    hashes = [phash(image) for image in catalog]
    out = {}
    for vendor, images in others.items():
        by_vector = _rank_vectors(catalog_vectors, embed(images), k)
        by_hash = _rank_hashes(hashes, [phash(image) for image in images], k)
        out[vendor] = {
            "embed": _recall(by_vector, truth, (1, 5, 10)),
            "phash": _recall(by_hash, truth, (1, 5, 10)),
        }
    return out


def render_text(
    font: Path,
    lines: Sequence[str],
    *,
    size: int = 36,
    angle: float = 0.0,
    blur: float = 0.0,
) -> Image:
    """`lines` drawn black on white in `font` at `size` px, padded to a square, optionally
    rotated (degrees) and blurred (Gaussian sigma, px)."""
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFont

    face = ImageFont.truetype(str(font), size)
    text = "\n".join(lines)
    probe = ImageDraw.Draw(PILImage.new("L", (1, 1)))
    box = probe.multiline_textbbox((0, 0), text, font=face, spacing=size // 4)
    left, top, right, bottom = (round(v) for v in box)
    pad = size // 3
    side = max(right - left, bottom - top) + 2 * pad
    canvas = PILImage.new("L", (side, side), 255)
    x = (side - (right - left)) // 2 - left
    y = (side - (bottom - top)) // 2 - top
    ImageDraw.Draw(canvas).multiline_text((x, y), text, font=face, fill=0, spacing=size // 4)
    gray: np.ndarray = np.asarray(canvas, np.uint8)
    if angle:
        matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
        gray = cv2.warpAffine(gray, matrix, (side, side), borderValue=255)
    if blur > 0:
        gray = cv2.GaussianBlur(gray, (0, 0), blur)
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2).astype(np.uint8))


def _ridge_scores(
    train: np.ndarray, labels: np.ndarray, queries: np.ndarray, classes: int, lam: float
) -> np.ndarray:
    """One-vs-rest ridge regression on centred embeddings (dual form, as there are fewer
    renders than dimensions); (queries, classes) scores."""
    mean = train.mean(axis=0)
    centred = (train - mean).astype(np.float64)
    targets = np.eye(classes)[labels] * 2 - 1
    alpha = np.linalg.solve(centred @ centred.T + lam * np.eye(len(centred)), targets)
    return np.asarray(((queries - mean) @ centred.T) @ alpha)


def _topk(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    ranked = np.argsort(-scores, axis=1, kind="stable")
    first = np.argmax(ranked == truth[:, None], axis=1)
    return ranked, {
        "top1": round(float((first < 1).mean()), 3),
        "top5": round(float((first < 5).mean()), 3),
    }


def font_identification(
    embed: Embed,
    fonts: Sequence[Path] | None = None,
    *,
    train: int = 40,
    test: int = 10,
    words_per_render: int = 3,
    ridge: float = PROBE_RIDGE,
    seed: int = 0,
) -> dict[str, Any]:
    """Top-1/top-5 font identification over embeddings of rendered text.

    Each font gets `train` renders of training words and `test` renders of held-out words, all
    at 24-48 px, rotated up to 3 degrees either way, blurred with sigma up to 0.8. Two
    classifiers: the nearest neighbour (a font's score is its best cosine similarity to the
    query) and a linear probe (one-vs-rest ridge regression, `ridge`, fitted in closed form).
    """
    paths = list(fonts) if fonts is not None else found_fonts()
    if len(paths) < 2:
        raise ValueError(
            "font identification needs at least 2 installed fonts: "
            "apt-get install fonts-dejavu-core fonts-liberation fonts-urw-base35"
        )
    rng = np.random.default_rng(seed)
    half = len(WORDS) // 2

    def draw(path: Path, words: Sequence[str]) -> Image:
        chosen = [str(w) for w in rng.choice(words, words_per_render, replace=False)]
        size = int(rng.integers(24, 49))
        angle = float(rng.uniform(-3, 3))
        blur = float(rng.uniform(0, 0.8))
        return render_text(path, chosen, size=size, angle=angle, blur=blur)

    train_images, train_font, test_images, test_font = [], [], [], []
    for f, path in enumerate(paths):
        for _ in range(train):
            train_images.append(draw(path, WORDS[:half]))
            train_font.append(f)
        for _ in range(test):
            test_images.append(draw(path, WORDS[half:]))
            test_font.append(f)
    index, queries = embed(train_images), embed(test_images)
    labels, truth = np.asarray(train_font), np.asarray(test_font)
    sims = queries @ index.T
    nearest = np.stack([sims[:, labels == f].max(axis=1) for f in range(len(paths))], axis=1)
    _, by_nearest = _topk(nearest, truth)
    ranked, by_probe = _topk(_ridge_scores(index, labels, queries, len(paths), ridge), truth)
    confusions: dict[str, int] = {}
    for t, r in zip(truth, ranked[:, 0], strict=True):
        if t != r:
            key = f"{paths[t].stem} -> {paths[r].stem}"
            confusions[key] = confusions.get(key, 0) + 1
    return {
        "fonts": [p.stem for p in paths],
        "train_renders": len(train_images),
        "test_renders": len(test_images),
        "nearest": by_nearest,
        "probe": {**by_probe, "ridge": ridge},
        "deepfont_reported": DEEPFONT,
        "probe_confusions": dict(sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def image_embed(
    *,
    vendor: str = "google",
    catalog: int = 300,
    queries: int = 300,
    other_vendors: tuple[str, ...] = ("apple", "twitter"),
    font_train: int = 40,
    font_test: int = 10,
    fonts: Sequence[Path] | None = None,
    embed: Embed | None = None,
) -> dict[str, Any]:
    """The three parts (see the module docstring) as one JSON-able dict; `fonts` defaults to
    the installed ones of `FONTS`, `embed` to the cached ``image/embed`` model."""
    from senri.search.similar import emoji_images

    if embed is None:
        from senri.operators.embed import ImageEmbedder

        embed = ImageEmbedder.load(threads=2).embed
    base = emoji_images(vendor, catalog)
    codes = list(base)
    images = [base[c] for c in codes]
    vectors = embed(images)
    others = {}
    for name in other_vendors:
        drawn = emoji_images(name, catalog)
        others[name] = [drawn[c] for c in codes]
    return {
        "vendor": vendor,
        "augmented": augmented_recall(embed, images, vectors, queries=queries),
        "vendors": vendor_recall(embed, images, vectors, others),
        "fonts": font_identification(embed, fonts, train=font_train, test=font_test),
    }


def report(result: dict[str, Any], emit: Callable[[str], Any]) -> None:
    """Print the ``image/embed`` evaluation through `emit`."""
    aug = result["augmented"]
    emit(
        f"image/embed: {aug['queries']} altered copies of {aug['catalog']} {result['vendor']} "
        "emoji (catalog = the originals)"
    )
    emit(f"  {'change':<12}{'n':>4}  {'embed R@1':>9} {'R@10':>6}  {'phash R@1':>9} {'R@10':>6}")
    rows = [*aug["by_change"].items(), ("all", {**aug, "queries": aug["queries"]})]
    for kind, r in rows:
        e, p = r["embed"], r["phash"]
        emit(
            f"  {kind:<12}{r['queries']:>4}  {e['r@1']:>9.3f} {e['r@10']:>6.3f}  "
            f"{p['r@1']:>9.3f} {p['r@10']:>6.3f}"
        )
    emit(f"  same sticker by another vendor (index: {result['vendor']}):")
    for vendor, r in result["vendors"].items():
        e, p = r["embed"], r["phash"]
        emit(
            f"    {vendor:<9} embed R@1 {e['r@1']:.3f} R@5 {e['r@5']:.3f} R@10 {e['r@10']:.3f}"
            f"   phash R@1 {p['r@1']:.3f} R@5 {p['r@5']:.3f} R@10 {p['r@10']:.3f}"
        )
    f = result["fonts"]
    deep = f["deepfont_reported"]
    emit(
        f"  font identification: {len(f['fonts'])} fonts, {f['train_renders']} renders of "
        f"training words, {f['test_renders']} of held-out words"
    )
    near, probe = f["nearest"], f["probe"]
    emit(f"    nearest neighbour  top-1 {near['top1']:.1%}  top-5 {near['top5']:.1%}")
    emit(
        f"    linear probe       top-1 {probe['top1']:.1%}  top-5 {probe['top5']:.1%} "
        f"(ridge {probe['ridge']})"
    )
    emit(
        f"    DeepFont reports   top-1 {deep['top1']:.1%}  top-5 {deep['top5']:.1%} on "
        "real-world VFR images over 2,383 fonts; ours is clean rendered text and far fewer fonts"
    )
    worst = list(f["probe_confusions"].items())[:5]
    if worst:
        emit("    most confused (probe): " + ", ".join(f"{k} ({n})" for k, n in worst))
