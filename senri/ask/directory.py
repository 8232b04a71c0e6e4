"""The archive's streams as a question names them: ids ("camera 3", "mic two"), places
("the entrance", "the dock") and whether each sees or hears.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from senri.ask.forms import LOWER_WORDS, UPPER_WORDS
from senri.ask.plan import Refusal
from senri.ask.timeparse import NUMBER_WORDS
from senri.ask.vocab import STOPWORDS, TERMS

_STREAM_RE = re.compile(
    r"\b(?P<what>cam(?:era)?|mic(?:rophone)?|stream)s?\s*(?:#|no\.?|number)?\s*"
    r"(?P<n>\d{1,3}|" + "|".join(k for k in NUMBER_WORDS if len(k) > 2) + r")\b"
)


@dataclass(frozen=True)
class StreamInfo:
    id: str
    place: str = ""
    modality: str = ""  # "video", "audio" or "" when unknown


class Directory:
    """The archive's streams: ids, places, and whether they see or hear."""

    def __init__(self, streams: Sequence[StreamInfo]) -> None:
        self.streams = {s.id.lower(): s for s in streams}

    @classmethod
    def of(
        cls, ids: Sequence[str], places: Mapping[str, str] | None, modality: Mapping[str, str]
    ) -> Directory:
        places = places or {}
        return cls([StreamInfo(i, places.get(i, ""), modality.get(i, "")) for i in ids])

    def places(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for s in self.streams.values():
            if s.place:
                out.setdefault(s.place.lower(), []).append(s.id)
        return out

    def aliases(self) -> dict[str, str]:
        """Short names of places ('dock' for 'loading dock') where only one place ends so."""
        ends: dict[str, list[str]] = {}
        for place in self.places():
            words = place.split()
            if len(words) > 1:
                ends.setdefault(words[-1], []).append(place)
        return {end: found[0] for end, found in ends.items() if len(found) == 1}

    def same_place(self, ids: Sequence[str]) -> tuple[str, ...]:
        places = {self.streams[i.lower()].place for i in ids if i.lower() in self.streams}
        places.discard("")
        return tuple(s.id for s in self.streams.values() if s.place in places)

    def names(self) -> str:
        return ", ".join(
            s.id + (f" ({s.place})" if s.place else "")
            for s in sorted(self.streams.values(), key=lambda s: s.id)
        )


_NOT_PLACES = frozenset(
    """picture frame image photo archive footage video videos recording recordings data time
    moment same end start beginning day week whole site area scene view shot screen frame
    street road camera cameras mic microphone stream streams system record records very exact
    middle last first final next previous following top bottom edge left right centre center
    corner background foreground distance clip audio rest remainder remaining""".split()  # noqa: SIM905
)
"""Words after 'at/in the' that never name a place ('at the very same time', 'in the
background')."""


def check_places(text: str, directory: Directory) -> None:
    """'At the gatehouse' where no stream is at a gatehouse: refuse, do not count everywhere."""
    places = directory.places()
    if not places:
        return
    for m in re.finditer(r"\b(?:at|near|in|by|outside|inside|around|next to) the ([a-z]+)", text):
        start = text[m.start(1) :]
        word = m.group(1)
        if any(start.startswith(p) for p in places) or word in _NOT_PLACES:
            continue
        if word in directory.aliases():
            continue
        if word in TERMS or word.rstrip("s") in TERMS or word in STOPWORDS:
            continue
        if re.match(UPPER_WORDS + "|" + LOWER_WORDS, word):
            continue
        known = ", ".join(sorted(places))
        raise Refusal(f"no stream is at a place called {word!r}; the places are {known}")


def unplaced(text: str, directory: Directory) -> str:
    """The text without stream references and place names ("car park" names no car)."""
    text = _STREAM_RE.sub(" ", text)
    for place in sorted(directory.places(), key=len, reverse=True):
        text = re.sub(r"\b" + re.escape(place) + r"\b", " ", text)
    for alias in directory.aliases():
        text = re.sub(r"\bthe " + re.escape(alias) + r"\b", " ", text)
    for key in directory.streams:
        text = re.sub(r"\b" + re.escape(key) + r"\b", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def find_streams(text: str, directory: Directory) -> tuple[str, ...]:
    ids: list[str] = []
    for m in _STREAM_RE.finditer(text):
        raw = m.group("n")
        n = int(raw) if raw.isdigit() else int(NUMBER_WORDS[raw])
        prefix = {
            "cam": "cam",
            "camera": "cam",
            "mic": "mic",
            "microphone": "mic",
            "stream": "stream",
        }[m.group("what")]
        sid = f"{prefix}{n}"
        if sid not in directory.streams:
            raise Refusal(
                f"there is no {m.group(0).strip()!r} in the archive; "
                f"its streams are {directory.names()}"
            )
        ids.append(directory.streams[sid].id)
    words = set(re.findall(r"[\w-]+", text))
    for key, info in directory.streams.items():
        if key in words and info.id not in ids:
            ids.append(info.id)
    places = directory.places()
    for place, members in sorted(places.items(), key=lambda kv: -len(kv[0])):
        if re.search(r"\b" + re.escape(place) + r"\b", text):
            ids.extend(s for s in members if s not in ids)
    for alias, place in directory.aliases().items():
        if re.search(r"\bthe " + re.escape(alias) + r"\b", text) and place not in text:
            ids.extend(s for s in places[place] if s not in ids)
    return tuple(ids)
