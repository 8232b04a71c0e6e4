"""Built-in operators; importing this package registers them by name."""

from senri.operators import (
    attributes,
    audio,
    colour,
    decode,
    detect,
    dialect,
    embed,
    faces,
    motion,
    ocr,
    redact,
    sounds,
    speech,
    track,
    video_decode,
)

__all__ = [
    "attributes",
    "audio",
    "colour",
    "decode",
    "detect",
    "dialect",
    "embed",
    "faces",
    "motion",
    "ocr",
    "redact",
    "sounds",
    "speech",
    "track",
    "video_decode",
]
