"""Accent, dialect and language words → the labels `audio.dialect` writes.

`audio.dialect` labels each speech span with an espeak-ng voice name (``en-gb-scotland``) and
its language cluster (``english``) in ``attributes.cluster``. People ask in their own words:
"a Scottish accent", "anyone speaking Cantonese", "what language was spoken". This table maps
those words to labels; a question about accents, dialects or languages becomes a plan over
``dialect`` events, answered with labels (which accent) or clusters (which language).
"""

from __future__ import annotations

import re

_ENGLISH = ("en-us", "en-us-nyc", "en-gb", "en-gb-scotland", "en-029")
WORDS: dict[str, tuple[str, ...]] = {
    "scottish": ("en-gb-scotland",),
    "scots": ("en-gb-scotland",),
    "british": ("en-gb", "en-gb-scotland"),
    "uk": ("en-gb", "en-gb-scotland"),
    "american": ("en-us", "en-us-nyc"),
    "us": ("en-us", "en-us-nyc"),
    "new york": ("en-us-nyc",),
    "caribbean": ("en-029",),
    "jamaican": ("en-029",),
    "english": _ENGLISH,
    "latin american": ("es-419",),
    "mexican": ("es-419",),
    "spanish": ("es", "es-419"),
    "brazilian": ("pt-br",),
    "portuguese": ("pt", "pt-br"),
    "belgian": ("fr-be",),
    "swiss": ("fr-ch",),
    "french": ("fr-fr", "fr-be", "fr-ch"),
    "mandarin": ("cmn",),
    "cantonese": ("yue",),
    "hakka": ("hak",),
    "chinese": ("cmn", "yue", "hak"),
    "polish": ("pl",),
    "russian": ("ru",),
    "czech": ("cs",),
    "vietnamese": ("vi", "vi-vn-x-central", "vi-vn-x-south"),
    "arabic": ("ar",),
    "hebrew": ("he",),
}
"""Longer phrases first, so "latin american" wins over "american"."""

_IN_A_LANGUAGE = (
    r"\b(?:spoken|speaking|speak|speaks|spoke|talking|talked) in (?:"
    + "|".join(sorted(map(re.escape, WORDS), key=len, reverse=True))
    + r")\b"
)
ACCENT_QUESTION = re.compile(
    rf"\b(?:accents?|dialects?|languages?|brogue|twang)\b|{_IN_A_LANGUAGE}"
)
"""A question about accents, dialects or languages ("speak in the car park" is not one)."""
LANGUAGE_QUESTION = re.compile(rf"\blanguages?\b|{_IN_A_LANGUAGE}")


def labels_in(text: str) -> tuple[str, ...]:
    """The dialect labels that words in `text` name (empty: any)."""
    found: list[str] = []
    rest = f" {text} "
    for phrase in sorted(WORDS, key=len, reverse=True):
        pattern = rf"\b{re.escape(phrase)}\b"
        if re.search(pattern, rest):
            found += WORDS[phrase]
            rest = re.sub(pattern, " ", rest)
    return tuple(dict.fromkeys(found))
