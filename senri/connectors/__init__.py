"""Where records come from: video, audio and image sources, built from a small spec.

    >>> src = open_source({"video": "cam.mp4", "fps": 5}, "cam1")  # doctest: +SKIP
    >>> src = open_source({"packets": "rtsp://cam/1"}, "cam1")  # doctest: +SKIP
    >>> src = open_source({"audio": "mic.wav", "chunk_seconds": 1}, "mic1")  # doctest: +SKIP
    >>> src = open_source({"images": "designs/", "recursive": False}, "designs")  # doctest: +SKIP
    >>> src = open_source({"catalog": "items.csv", "id_column": "sku"}, "shop")  # doctest: +SKIP

See `senri.connectors.base` for the protocol and when a source raises versus dead-letters.
The source classes are imported when first used, so a worker that only reads Kafka records
(JPEG frames, PCM audio) runs without PyAV or libsndfile installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from senri.connectors.base import ReconnectPolicy, Source
from senri.errors import SourceError

if TYPE_CHECKING:
    from senri.connectors.audio import AudioSource
    from senri.connectors.images import CsvCatalogSource, ImageFolderSource
    from senri.connectors.packets import PacketSource
    from senri.connectors.video import VideoSource

__all__ = [
    "SOURCE_KINDS",
    "AudioSource",
    "CsvCatalogSource",
    "ImageFolderSource",
    "PacketSource",
    "ReconnectPolicy",
    "Source",
    "VideoSource",
    "open_source",
]

SOURCE_KINDS: Mapping[str, tuple[str, ...]] = {
    "video": ("fps", "start_time", "live", "max_frames", "reconnect", "timeout"),
    "packets": ("start_time", "live", "max_frames", "reconnect", "timeout"),
    "audio": ("chunk_seconds", "sample_rate", "start_time", "timeout"),
    "images": ("recursive", "extensions"),
    "catalog": ("id_column", "image_column", "base_dir"),
}
"""Each kind of source (the spec key naming its input) and the options it accepts."""

_RECONNECT_FIELDS = ("initial", "factor", "max_delay", "max_attempts", "jitter")


def _reconnect(value: object) -> ReconnectPolicy:
    if isinstance(value, ReconnectPolicy):
        return value
    if not isinstance(value, Mapping):
        raise SourceError(f"'reconnect' must be a mapping of {', '.join(_RECONNECT_FIELDS)}")
    unknown = sorted(set(value) - set(_RECONNECT_FIELDS))
    if unknown:
        raise SourceError(
            f"unknown reconnect option(s) {', '.join(map(repr, unknown))} "
            f"(valid: {', '.join(_RECONNECT_FIELDS)})"
        )
    return ReconnectPolicy(**value)


_CLASSES: Mapping[str, str] = {
    "AudioSource": "senri.connectors.audio",
    "VideoSource": "senri.connectors.video",
    "PacketSource": "senri.connectors.packets",
    "ImageFolderSource": "senri.connectors.images",
    "CsvCatalogSource": "senri.connectors.images",
}
_BUILDERS: Mapping[str, str] = {
    "video": "VideoSource",
    "packets": "PacketSource",
    "audio": "AudioSource",
    "images": "ImageFolderSource",
    "catalog": "CsvCatalogSource",
}


def __getattr__(name: str) -> Any:
    """The source classes, imported on first use (PyAV and soundfile load only then)."""
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_source(spec: Mapping[str, Any], stream_id: str) -> Source[Any]:
    """Build the source a spec describes: exactly one kind key naming the input, plus options.

    Raises `SourceError` naming the valid kinds or options when the spec has a wrong key, and
    whatever the source's constructor raises when its input cannot be opened.
    """
    kinds = [key for key in spec if key in SOURCE_KINDS]
    if len(kinds) != 1:
        found = ", ".join(map(repr, spec)) or "none"
        raise SourceError(
            f"source {stream_id!r}: a source spec needs exactly one of "
            f"{', '.join(SOURCE_KINDS)} (keys given: {found})"
        )
    kind = kinds[0]
    valid = SOURCE_KINDS[kind]
    unknown = [key for key in spec if key != kind and key not in valid]
    if unknown:
        raise SourceError(
            f"source {stream_id!r}: unknown option(s) {', '.join(map(repr, unknown))} for a "
            f"{kind} source (valid: {', '.join(valid)})"
        )
    options = {key: value for key, value in spec.items() if key != kind}
    try:
        if "reconnect" in options:
            options["reconnect"] = _reconnect(options["reconnect"])
        builder: Callable[..., Source[Any]] = __getattr__(_BUILDERS[kind])
        return builder(spec[kind], stream_id, **options)
    except TypeError as exc:  # a value of the wrong type deep inside a constructor
        raise SourceError(f"source {stream_id!r}: bad {kind} options {options!r}: {exc}") from exc
