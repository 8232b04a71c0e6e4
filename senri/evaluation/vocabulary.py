"""A site's own names in speech: `audio.speech` with and without its ``vocabulary`` setting.

Camera names, places and streets are words Whisper has rarely heard, and a transcript that
spells them its own way cannot be searched by them. This set is ten espeak-ng sentences an
operator might say on a radio, each naming one or two of the site's places or cameras, read
by two voices (en-us, en-gb). Every clip is transcribed twice: without a vocabulary and with
the site's whole list of names (`NAMES`, the same list for every clip, as a site would set
it). Printed per run: WER, the names written exactly as the site writes them, and the names
written that were not said (a hint phrase can make Whisper repeat a name on a garbled span).
Then the cost where no name is said: the ordinary synthetic speech set
(`senri.evaluation.audio.HELD_OUT`) with the same vocabulary. Neither the tests nor the sample
worlds use these sentences or names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from senri.evaluation.audio import SpeechScore, espeak, evaluate_speech, listen, speech_graph

SITE = (
    ("intruder at the Kilbarrack gate check camera Osprey", ("Kilbarrack", "Osprey")),
    ("smoke reported near the Dunmore loading bay by camera Kestrel", ("Dunmore", "Kestrel")),
    ("a van stopped outside the Ballycullen depot at nine fifteen", ("Ballycullen",)),
    ("the Pemberton yard alarm went off beside camera Heron", ("Pemberton", "Heron")),
    ("two people are waiting at the Glasnevin entrance", ("Glasnevin",)),
    ("camera Plover shows a car parked on Harcourt lane", ("Plover", "Harcourt")),
    ("send the patrol from Rathmore to the north fence", ("Rathmore",)),
    ("the barrier at Cloghran is stuck open again", ("Cloghran",)),
    ("a cyclist fell near camera Curlew by the canal", ("Curlew",)),
    ("lock the Ardnacrusha store room before midnight", ("Ardnacrusha",)),
)
NAMES: tuple[str, ...] = tuple(dict.fromkeys(n for _, names in SITE for n in names))
VOICES = ("en-us", "en-gb")
RATE = 165


@dataclass
class NameScore:
    """WER, and the site's names heard: said and written exactly, written but not said."""

    speech: SpeechScore
    said: int = 0
    right: int = 0
    invented: int = 0


def _found(name: str, text: str) -> int:
    return len(re.findall(rf"\b{re.escape(name)}\b", text, flags=re.IGNORECASE))


def evaluate_names(model: str, vocabulary: tuple[str, ...]) -> NameScore:
    """`audio.speech` with `model` and `vocabulary` on the site sentences."""
    op = speech_graph(model, vocabulary)
    score = NameScore(SpeechScore(model))
    try:
        for voice in VOICES:
            for text, names in SITE:
                clip = espeak(text, voice, RATE)
                heard = listen(op, clip, f"site-{voice}-{text}")
                score.speech.add(voice, text, clip, heard)
                score.said += len(names)
                score.right += sum(min(_found(n, heard.text), 1) for n in names)
                score.invented += sum(_found(n, heard.text) for n in NAMES if n not in names)
                score.invented += sum(max(_found(n, heard.text) - 1, 0) for n in names)
    finally:
        op.close()
    return score


def report(model: str, emit: Callable[[str], Any], plain: SpeechScore | None = None) -> None:
    """Both runs side by side, then the ordinary set with the vocabulary beside `plain` (the
    ordinary set without it, measured again when not given)."""
    emit(f"  site names ({len(SITE)} sentences × {', '.join(VOICES)}; {len(NAMES)} names):")
    for vocabulary in ((), NAMES):
        s = evaluate_names(model, vocabulary)
        setting = f"vocabulary of {len(vocabulary)} names" if vocabulary else "no vocabulary"
        emit(
            f"    {setting:<24} WER {s.speech.wer:>6.1%}  names right {s.right}/{s.said}  "
            f"written but not said {s.invented}  worst: {s.speech.worst[2]!r}"
        )
    before = plain or evaluate_speech(model)
    after = evaluate_speech(model, NAMES)
    leaked = sum(_found(n, t) for t in after.transcripts for n in NAMES)
    emit(
        f"    the synthetic set, where no name is said: WER {before.wer:.1%} without the "
        f"vocabulary, {after.wer:.1%} with it; names written {leaked}"
    )
