"""The clauses of a question that are not its subject: quoted phrases, the utterance an
anchor names, and the cross-modal clause ("... when the siren sounded", "while someone said
blue truck", "around the time the dog barked") with its relation to what is asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from senri.ask.vocab import STOPWORDS

JOIN_RE = re.compile(
    r"\s(?:when|while|whilst|during|at the same time as|at the time of|at the time|as soon as"
    r"|overlapp?(?:ed|ing)? with|coincid(?:ed|ing) with"
    r"|(?P<near>(?:around|near|about|close to) the time(?: of| that| when)?)"
    r"|as(?= (?:the|a|an|some) )"
    r"|(?P<rel>(?:right |just |shortly |soon |straight )?(?:after|before)"
    r"(?= (?:the|a|an|some|qphrase\d+|anyone|anybody|someone|somebody|anything|something) )))\s"
)


QUOTE_RE = re.compile(r"\bqphrase(\d+)\b")
SPOKEN_RE = re.compile(
    r"^(?:(?:someone|somebody|anyone|a voice|a man|a woman|they|he|she|the announcer|the voice)"
    r" )?(?:said|says|say|spoke|announced|mentioned|called out)(?: that)? (?P<after>.+)$"
    r"|^(?:the (?:words?|phrase|sentence) )?(?P<before>.+?) (?:was|is|were|got) "
    r"(?:said|spoken|announced|mentioned)$"
)


def quoted(text: str) -> tuple[str, list[str]]:
    """The text with each quoted phrase ("red car on camera one") replaced by a placeholder
    word, so no part of it reads as a camera, a time or a clause; and the phrases."""
    phrases: list[str] = []

    def keep(m: re.Match[str]) -> str:
        phrases.append(m.group(1) or m.group(2))
        return f" qphrase{len(phrases) - 1} "

    pattern = r"[\"“”]([^\"“”]+)[\"“”]|(?<!\w)['‘]([^'‘’]+)['’](?!\w)"
    return re.sub(r"\s+", " ", re.sub(pattern, keep, text)).strip(), phrases


def utterance(text: str, quotes: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The utterance an anchor clause names, and the words to find it by: a quoted phrase,
    "someone said red car on camera one", "blue truck was said"; ("", ()) when it names
    something else."""
    m = QUOTE_RE.search(text)
    if m is not None and int(m.group(1)) < len(quotes):
        phrase = quotes[int(m.group(1))]
    elif (said := SPOKEN_RE.match(text)) is not None:
        phrase = said.group("after") or said.group("before")
    else:
        return "", ()
    words = re.findall(r"[a-z0-9][a-z0-9'-]*", phrase.lower())
    if m is None and set(words) <= _NO_WORDS:
        return "", ()  # "while the first sentence was said": an utterance, but no words of it
    content = [w for w in words if w not in STOPWORDS and w not in ("the", "a", "an")]
    return phrase.strip(), tuple(content or words)


_NO_WORDS = frozenset(
    """the a an first last second third fourth fifth next previous sentence sentences utterance
    utterances phrase phrase words word something anything it that this""".split()  # noqa: SIM905
)
"""Words that name an utterance without quoting any of it."""


def without(text: str) -> str:
    """An anchor clause without its utterance, for the streams it names ("... on mic 2")."""
    text = QUOTE_RE.sub(" ", text)
    return "" if SPOKEN_RE.match(text) else text


def split_join(text: str) -> tuple[str, str, str]:
    """(what is asked, the anchor clause, its relation: during / after / before).

    The clause may lead, before a comma: "while the red object was on camera, what was said"."""
    lead = JOIN_RE.match(" " + text + " ")
    if lead is not None and "," in text[lead.end() - 1 :]:
        anchor, _, main = text[lead.end() - 1 :].partition(",")
        if main.strip() and anchor.strip():
            return main.strip(), anchor.strip(), relation(lead)
    # the first join word past the start: "when did a horn sound while a truck was there"
    m = next((m for m in JOIN_RE.finditer(" " + text + " ") if m.start() >= 2), None)
    if m is None:
        return text, "", "during"
    return text[: m.start()].strip(), text[m.end() - 1 :].strip(), relation(m)


def relation(m: re.Match[str]) -> str:
    if m.group("rel"):
        return m.group("rel").split()[-1]
    return "around" if m.group("near") else "during"
