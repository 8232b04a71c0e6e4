"""The ``image/embed`` evaluation (`senri.evaluation.embed`) at small sizes.

Bounds are the numbers measured at these sizes minus a margin; everything is deterministic.
Needs the cached ``image/embed`` model and emoji tarballs (unit tests never download) and the
fonts of the Debian packages fonts-dejavu-core, fonts-liberation and fonts-urw-base35.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from senri import config
from senri.evaluation import embed as eval_embed
from senri.evaluation import models as evaluate
from senri.models import npm
from senri.models.photos import sample_photo
from senri.operators.embed import ImageEmbedder
from senri.search.similar import EMOJI_VERSION, emoji_images

pytestmark = pytest.mark.unit

COUNT = 60
TEST_FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSerif-Regular.ttf",
    "LiberationMono-Regular.ttf",
    "C059-Roman.otf",
    "URWBookman-Light.otf",
    "URWGothic-Book.otf",
    "Z003-MediumItalic.otf",
)

# measured at these sizes (aug 0.783/0.950, phash R@10 0.617; apple 0.817/0.967; fonts nearest
# 0.475/0.900, probe 0.575/0.950), minus a margin
LOWER = {
    "aug_embed_r1": 0.65,
    "aug_embed_r10": 0.85,
    "aug_phash_r10": 0.45,
    "vendor_embed_r1": 0.7,
    "vendor_embed_r10": 0.9,
    "font_nn_top1": 0.35,
    "font_nn_top5": 0.8,
    "font_probe_top1": 0.45,
    "font_probe_top5": 0.85,
}


def _tarball(vendor: str) -> None:
    tgz = config.cache() / "npm" / npm.tarball_name(f"emoji-datasource-{vendor}", EMOJI_VERSION)
    if not tgz.is_file():
        pytest.skip(f"{tgz} is missing: npm pack emoji-datasource-{vendor}@{EMOJI_VERSION} there")


@pytest.fixture(scope="module")
def catalog(embedder: ImageEmbedder) -> tuple[list[str], list[np.ndarray], np.ndarray]:
    _tarball("google")
    base = emoji_images("google", COUNT)
    codes = list(base)
    images = [base[c] for c in codes]
    return codes, images, embedder.embed(images)


@pytest.fixture(scope="module")
def fonts() -> list[Path]:
    paths = eval_embed.found_fonts(TEST_FONTS)
    if len(paths) < len(TEST_FONTS):
        found = {p.name for p in paths}
        missing = [f for f in TEST_FONTS if f not in found]
        pytest.skip(
            f"fonts {missing} are missing: apt-get install fonts-dejavu-core fonts-liberation "
            "fonts-urw-base35"
        )
    return paths


def test_augmentations_are_deterministic_and_change_the_image(
    catalog: tuple[list[str], list[np.ndarray], np.ndarray],
) -> None:
    _, images, _ = catalog
    backgrounds = [sample_photo(eval_embed.BACKGROUNDS[0])]
    for kind in eval_embed.AUGMENTATIONS:
        a = eval_embed.augment(images[0], kind, np.random.default_rng(1), backgrounds)
        b = eval_embed.augment(images[0], kind, np.random.default_rng(1), backgrounds)
        assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3, kind
        assert np.array_equal(a, b), kind
        if a.shape == images[0].shape:
            assert not np.array_equal(a, images[0]), kind
    with pytest.raises(ValueError, match="unknown augmentation"):
        eval_embed.augment(images[0], "sepia", np.random.default_rng(0), backgrounds)


def test_sticker_mask_keeps_white_inside_the_drawing() -> None:
    image = np.full((20, 20, 3), 255, np.uint8)
    image[5:15, 5:15] = 0
    image[8:12, 8:12] = 255  # a white "eye" enclosed by the drawing
    mask = eval_embed.sticker_mask(image)
    assert mask[10, 10] and mask[5, 5]
    assert not mask[0, 0] and not mask[19, 2]


def test_augmented_recall(
    embedder: ImageEmbedder, catalog: tuple[list[str], list[np.ndarray], np.ndarray]
) -> None:
    _, images, vectors = catalog
    result = eval_embed.augmented_recall(embedder.embed, images, vectors, queries=COUNT)
    assert result["queries"] == COUNT
    assert set(result["by_change"]) == set(eval_embed.AUGMENTATIONS)
    embed, hashed = result["embed"], result["phash"]
    assert embed["r@1"] >= LOWER["aug_embed_r1"] and embed["r@10"] >= LOWER["aug_embed_r10"]
    assert hashed["r@10"] >= LOWER["aug_phash_r10"]
    assert embed["r@1"] > hashed["r@1"]  # crops, rotations and new backgrounds defeat pHash
    by = result["by_change"]
    assert by["jpeg"]["phash"]["r@1"] >= 0.9 and by["crop"]["embed"]["r@10"] >= 0.9
    assert 0 <= by["background"]["embed"]["r@1"] <= by["background"]["embed"]["r@10"] <= 1


def test_vendor_recall(
    embedder: ImageEmbedder, catalog: tuple[list[str], list[np.ndarray], np.ndarray]
) -> None:
    _tarball("apple")
    codes, images, vectors = catalog
    apple = emoji_images("apple", COUNT)
    result = eval_embed.vendor_recall(
        embedder.embed, images, vectors, {"apple": [apple[c] for c in codes]}
    )["apple"]
    assert result["embed"]["r@1"] >= LOWER["vendor_embed_r1"]
    assert result["embed"]["r@10"] >= LOWER["vendor_embed_r10"]
    assert result["embed"]["r@1"] > result["phash"]["r@1"]


def test_font_identification(embedder: ImageEmbedder, fonts: list[Path]) -> None:
    result = eval_embed.font_identification(embedder.embed, fonts, train=12, test=4)
    assert result["train_renders"] == 12 * len(fonts) and result["test_renders"] == 4 * len(fonts)
    near, probe = result["nearest"], result["probe"]
    assert near["top1"] >= LOWER["font_nn_top1"] and near["top5"] >= LOWER["font_nn_top5"]
    assert probe["top1"] >= LOWER["font_probe_top1"] and probe["top5"] >= LOWER["font_probe_top5"]
    assert probe["top1"] <= probe["top5"] and result["deepfont_reported"]["top1"] == 0.714


def test_render_text_is_a_square_rgb_image(fonts: list[Path]) -> None:
    image = eval_embed.render_text(fonts[0], ["river", "quiet"], size=30, angle=2, blur=0.5)
    assert image.ndim == 3 and image.shape[0] == image.shape[1] and image.shape[2] == 3
    assert image.min() < 64 and image.max() > 200


def test_registered_and_printed(embedder: ImageEmbedder, fonts: list[Path]) -> None:
    _tarball("google")
    _tarball("twitter")
    assert evaluate.EVALUATIONS["image/embed"] is eval_embed.image_embed
    result = eval_embed.image_embed(
        catalog=10,
        queries=10,
        other_vendors=("twitter",),
        font_train=2,
        font_test=1,
        fonts=fonts[:3],
        embed=embedder.embed,
    )
    lines: list[str] = []
    evaluate.REPORTERS["image/embed"](result, lines.append)
    text = "\n".join(lines)
    for needle in ("background", "twitter", "linear probe", "DeepFont", "71.4%"):
        assert needle in text
