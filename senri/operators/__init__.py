"""Built-in operators; importing this package registers them by name."""

from senri.operators import (
    audio,
    colour,
    decode,
    detect,
    faces,
    motion,
    ocr,
    sounds,
    speech,
    track,
)

__all__ = [
    "audio",
    "colour",
    "decode",
    "detect",
    "faces",
    "motion",
    "ocr",
    "sounds",
    "speech",
    "track",
]
