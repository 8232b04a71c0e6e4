"""scikit-image's sample photographs, fetched and checked like a model (card ``data/photos``).

The street world cuts people and motorcycles out of them, and the vision evaluations run the
detector and the face models on them. The PNGs come out of the scikit-image wheel by sha256, so
neither ``senri demo`` nor the tests need scikit-image installed::

    image = sample_photo("astronaut.png")   # RGB uint8, H x W x 3
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from senri.errors import ModelUnavailableError
from senri.models import registry

CARD = "data/photos"


def photo_path(name: str) -> Path:
    """The file of sample photo `name` (e.g. ``astronaut.png``); never downloads.

    Raises `ModelUnavailableError` naming the photo and how to fetch the set.
    """
    names = [f.path for f in registry.card(CARD).files]
    if name not in names:
        raise ModelUnavailableError(f"no sample photo {name!r}; the set has {', '.join(names)}")
    return registry.resolve(CARD, fetch_missing=False) / name


@cache
def _read(name: str) -> npt.NDArray[np.uint8]:
    path = photo_path(name)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ModelUnavailableError(f"cannot read the sample photo {path}")
    rgb: npt.NDArray[np.uint8] = np.ascontiguousarray(image[:, :, ::-1], dtype=np.uint8)
    rgb.setflags(write=False)  # shared between callers through the cache
    return rgb


def sample_photo(name: str) -> npt.NDArray[np.uint8]:
    """Sample photo `name` as a fresh RGB array."""
    return _read(name).copy()
