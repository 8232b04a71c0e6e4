"""Questions → typed `Plan`s, or a `Refusal` that says why not.

Reading order: clean the text (length, control characters), cut out the time (`timeparse`),
split off a cross-modal clause ("... when the siren sounded"), find the streams ("camera 3",
"mic two", a place such as "the entrance"), decide the plan type from the question's form
("how many", "when", "which camera", "what colour", "more ... than", "was there"), then
read the subject from `vocab`: labels, sounds, colours, what people carry and wear.

Anything the archive does not record (names, ages, speeds, the weather, the future, a
camera that does not exist) is refused with the reason; a question with no recognisable
subject is refused rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from senri.ask import dialects, rephrase
from senri.ask.clauses import quoted, split_join, utterance, without
from senri.ask.plan import Condition, Plan, Refusal, Subject
from senri.ask.timeparse import NUMBER_WORDS, Window, find_window
from senri.ask.vocab import (
    PERSON_FLAGS,
    STOPWORDS,
    TERMS,
    VEHICLES,
    Term,
    Vocabulary,
    plural,
)

MAX_CHARS = 400
MAX_WORDS = 60

_UPPER_WORDS = (
    r"top|tops|shirt|shirts|t-shirt|jacket|jackets|coat|coats|hoodie|hoodies|jumper|jumpers"
    r"|sweater|sweaters|blouse|vest|hi-vis|jersey|dress|uniform|clothes|clothing|upper"
)
_LOWER_WORDS = r"trousers|pants|jeans|shorts|skirt|skirts|leggings|bottoms|lower"
_SEEN = (
    r"\b(?:seen|saw|see|sees|visible|view|passed|pass|passing|crossed|walked|walking|drove|"
    r"driving|parked|spotted|detected|appear|appeared|camera|cam|on screen|in shot)\b"
)
_ASKS_WHERE = (
    r"\b(?:which|what|many|different|distinct)\s+(?:\w+\s+)?(?:cameras?|cams?|streams?|mics?"
    r"|microphones?|places?|locations?)\b(?!\s*(?:#|no\.?|number)?\s*(?:\d|one|two|three|four|five"
    r"|six|seven|eight|nine|ten)\b)|\bwhere\b|\bon which\b"
    r"|\b(?:list|name)\s+(?:\w+\s+)?(?:cameras|streams|mics|microphones|places|locations)\b"
)
_TOPIC = (
    r"\b(?:mention(?:ed|ing|s)?|discuss(?:ed|ing)?|(?:talk|talked|talking|spoke|speak|said|say"
    r"|saying|announce|announced) about|brought up)\b"
    r"|\bthe words? [a-z]+ (?:was |were )?(?:said|spoken|heard|used|uttered)\b"
)
_OVER = re.compile(
    r"(?:were|was|are|is|did) there (?P<cmp>more|fewer|less|over|under) than "
    r"(?P<n>\d+|"
    + "|".join(w for w, v in NUMBER_WORDS.items() if len(w) > 2 and v >= 1)
    + r") (?P<what>.+)"
)
"""'Were there more than 5 objects': a count, and whether it passes the number."""
_A_LENGTH = (
    r"\b(?:\d+|" + "|".join(NUMBER_WORDS) + r")\s*(?:seconds?|secs?|minutes?|mins?|hours?)\b"
)
_COLOURED_ONE = r"\b(?:the|a|an|that|this|those|these)\s+[a-z]+\s+ones?\b"
"""'The purple one': a thing of that colour, as the question's other things are."""
_GENERIC = (
    r"\b(?:activity|anything|something|objects?|things?|shapes?|items?|movement|motion"
    r"|happen|happened|appear|appears|appeared|arrivals?|visits?"
    r"|happening|detections?|events?|going on|busy|busier|busiest|quiet|quieter|quietest"
    r"|on camera|on screen|in view|in shot)\b"
)
_ARRIVE = (
    r"\b(?:appear|appeared|appears|appearing|enter|entered|enters|arrive|arrived|arrives|came"
    r"|come|comes|showed up|shows up|show up|turned up|new|began|started)\b"
)
"""Verbs of arriving: with a time window, they ask what began in it."""
_ONE = re.compile(
    r"\b(?:the|what|which) (?:next |following |previous )?(?:[a-z]+ )?"
    r"(?:object|thing|shape|item|one|vehicle|car|truck|bus|motorcycle|motorbike|bicycle|bike|person|animal|dog|horse|sound|noise)\b"
    r"(?! or)"
)
"""A single thing named with "the": after an anchor, the first one after it."""
_RIGHT = re.compile(r"\b(?:right|just|immediately|directly|straight) (?:after|before)\b")
""""What was said right after the beeps": the one next to the anchor, not all after it."""
_PASSING = r"list|show|name|all|by|went|go|goes|gone|rode|drove|moved|past"
_NOT_RECORDED = {
    r"\bwho (?:is|was|were|are)\b(?! (?:carrying|wearing|riding|using|holding|on|at|in|there"
    r"|around|seen|visible))|"
    r"\bnames? of\b|\bwhat (?:is|was) (?:his|her|their) name\b|\bidentity\b"
    r"|\bidentify (?:the |this |that |a )?(?:person|people|man|woman|men|women|driver|him|her"
    r"|them|someone|anyone|speaker)\b": (
        "names and identities of people (faces are matched only against a gallery you index)"
    ),
    r"\bspeed|\bfast\b|\bslow\b|\bmph\b|\bkm/?h\b": "speeds",
    r"\bages?\b|\bhow old\b|\belderly\b": "ages",
    r"\bgender\b|\bmale\b|\bfemale\b": "gender",
    r"\bweather\b|\braining\b|\brain\b|\bsnow|\btemperature\b|\bsunny\b|\bfoggy?\b": "the weather",
    r"\bbrand\b|\b(?:what|which) (?:make|model)\b|\b(?:make|model) of\b|\bmanufacturer\b": (
        "vehicle makes and models"
    ),
    r"\bheight\b|\btall(?:er|est)?\b|\bweigh": "heights or weights",
    r"\bhow (?:big|large|small|wide|heavy)\b|\bsizes?\b|\bdimensions?\b": (
        "sizes (boxes are in pixels, not metres)"
    ),
    r"\bfriendly\b|\baggressive\b|\bdangerous\b|\bsuspicious(?:ly)?\b|\bnervous\b"
    r"|\bscared\b|\bafraid\b|\bhostile\b|\bviolent\b|\bdrunk\b": (
        "behaviour or intent (it records what was seen and heard, not how anyone meant it)"
    ),
    r"\bhappy\b|\bangry\b|\bsad\b|\bmood\b|\bemotion|\bsmil(?:e|ed|es|ing)\b|\blaugh"
    r"|\bcr(?:y|ied|ying)\b|\bfrown": "emotions",
    r"\b(?:sun)?glasses\b|\bspectacles\b|\bhats?\b|\bcaps?\b|\bhelmets?\b|\bmasks?\b"
    r"|\bbeards?\b|\btattoos?\b|\bearrings?\b|\bscarf\b|\bgloves\b": (
        "glasses, hats, helmets, masks or other accessories (only backpacks, handbags, "
        "suitcases, umbrellas and phones)"
    ),
    r"\bprice\b|\bcost\b|\bmoney\b": "prices",
    r"\bwho (?:spoke|said|talked|shouted|called|was (?:speaking|talking|shouting))\b": (
        "who spoke (voices are not identified; ask what was said, or in what accent)"
    ),
    r"\bwhy\b": "reasons (it records what happened, not why)",
}
_TYPES: tuple[tuple[str, str], ...] = (
    (
        "describe",
        r"\bwhat(?: is|'s| was| are| were)? (?:there )?(?:in|on) (?:the |this |that )?"
        r"(?:picture|photo|photograph|image|frame|scene|shot)\b|\bdescribe\b"
        r"|\bwhat (?:do|can) you see\b|\bwhat does (?:the |this )?(?:picture|photo|image|frame)"
        r" show\b",
    ),
    (
        "said",
        r"\bwhat\b.*\b(?:said|say|says|spoken|announced|mentioned|talked about|discussed)\b"
        r"|\bwhich (?:sentence|phrase|words?|utterance|announcement)s?\b.*\b(?:said|spoken|heard)\b"
        r"|\bwhat\b.*\bannouncement\b|\btranscri"
        r"|\b(?:everything|all)(?: that)? (?:was|were|got|has been|had been) (?:said|spoken|"
        r"mentioned|announced)\b",
    ),
    (
        "compare",
        r"\b(?:more|fewer|less)\b.*\b(?:than|or)\b|\b(?:or)\b.*\b(?:more|most|fewer|busier)\b"
        r"|\bcompare\b|\b(?:busier|greater|larger|bigger|higher|smaller|lower)\b.*\b(?:than|or)\b"
        r"|\bas many\b.*\bas\b|\b(?:same|equal) (?:number|amount|count)\b"
        r"|\bcompared (?:to|with)\b|\b(?:versus|vs)\b",
    ),
    (
        "distinct",
        r"\bhow many (?:different|distinct|unique|separate|kinds|types|sorts|colou?rs|plates)\b",
    ),
    (
        "duration",
        r"\bhow long\b|\bfor how many (?:seconds|minutes)\b|\bduration\b"
        r"|\bhow much (?:speech|talking|noise|sound|music|time)\b"
        r"|\bhow many (?:seconds|minutes)\b.*\b(?:last|lasted|take|took|go on|went on)\b",
    ),
    (
        "count",
        r"\bhow many\b|\bnumber of\b|\bhow (?:often|frequently)\b|\bcount\b|\btotal\b"
        r"|\bhow (?:busy|common|frequent)\b|\bhow much (?:traffic|footfall)\b",
    ),
    (
        "when",
        r"^(?:when|at what time|what time)\b|\bwhat times?\b|^(?:tell me |show me )?when\b"
        r"|^(?:list|give|show)(?: me)? (?:the |all )?(?:times|moments)\b"
        r"|\bat what (?:point|moment)\b"
        r"|\bwhat (?:is|was|were) the (?:times?|moments?) (?:of|when)\b",
    ),
    ("colour", r"\b(?:what|which) colou?r\b|^what (?:is|was|were|are) the colou?rs? of\b"),
    (
        "list",
        r"\bwhat(?: is|'s| are| was| were)? (?:the |its |their )?(?:licen[cs]e |number )?"
        r"(?:plates?|registrations?|reg)\b",
    ),
    (
        "which",
        r"\bwhich (?:camera|cam|stream|mic|microphone|place|location|one|plate|registration"
        r"|vehicle|kind|type)\b"
        r"|\bwhere\b|\bwhat (?:camera|stream|mic|microphone|plate|registration)\b|\bbusiest\b"
        r"|\b(?:which|what) (?:days?|dates?|weekdays?|hours?)\b",
    ),
    (
        "list",
        r"^(?:list|show|name|give|find|enumerate|identify)\b|\bwhat (?:kinds?|types?|sorts?) of\b"
        r"|\b(?:what|which) (?:vehicles|sounds|noises|plates|registrations|objects|things|animals"
        r"|colou?rs|cameras|streams)\b",
    ),
    (
        "exists",
        r"^(?:is|was|were|are|did|does|do|has|have|had|could|can|any|anyone|anybody|anything)\b"
        r"|\bwas there\b|\bwere there\b|\bany\b|\b(?:if|whether)\b",
    ),
)
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


def clean(question: str) -> str:
    """The question with control characters gone and spaces collapsed; refused if unusable."""
    if not isinstance(question, str):
        raise Refusal("a question must be text")
    text = unicodedata.normalize("NFKC", question)
    text = "".join(c if c.isprintable() else " " for c in text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise Refusal("the question is empty")
    if len(text) > MAX_CHARS or len(text.split()) > MAX_WORDS:
        raise Refusal(
            f"the question is too long (at most {MAX_CHARS} characters and {MAX_WORDS} words)"
        )
    if not re.search(r"[A-Za-z]", text):
        raise Refusal("the question has no words")
    return text


def parse(
    question: str,
    directory: Directory,
    vocab: Vocabulary,
    now: float,
    tz: dt.tzinfo = dt.UTC,
    start: float | None = None,
) -> Plan:
    """Read a question into a plan against the archive's streams, clock (`start` is its first
    moment, for "in the first ten minutes") and time zone."""
    text, quotes = quoted(clean(question).lower().rstrip("?!. "))
    text = re.sub(r"[\"'`]s\b", "", text)  # "camera 3's" → "camera 3"
    text = re.sub(r"[^\w\s:,'./#-]", " ", text)
    text = rephrase.before_times(text)  # "tell me ...", "who was ...", "at the very start"
    found = find_window(text, now, tz, start)
    if found.future:
        raise Refusal(f"it asks about {found.future!r}, after the archive's latest moment")
    rest = rephrase.after_times(found.rest)  # "did A and B overlap", "outnumbered by"
    if re.search(r"\b(?:longer|shorter|more|less|over|under) than " + _A_LENGTH, rest):
        raise Refusal(
            "a length as a condition ('longer than 5 seconds') is not supported; "
            "ask how long each one lasted ('how long was the siren')"
        )
    over = re.fullmatch(_OVER, rest)
    if over:  # "were there more than 5 objects": how many, checked against 5
        rest = f"how many {over.group('what')}"
    claim = re.fullmatch(_CLAIM, rest)
    if claim and re.search(_A_LENGTH, claim.group("b")):
        claim = None  # "longer than 5 seconds" is a length, not another thing
    if claim:  # "was the siren longer than the horn": which was longer, and was it the siren
        rest = f"which was {claim.group('cmp')}, {claim.group('a')} or {claim.group('b')}"
    for pattern, what in _NOT_RECORDED.items():
        if re.search(pattern, rest):
            raise Refusal(f"the archive does not record {what}")
    sides = _anchor_sides(rest)
    main, anchor_text, relation = sides[:3] if sides else split_join(rest)
    until: Subject | None = None
    if not anchor_text and (between := _between(rest, vocab)) is not None:
        main, anchor_text, until = between  # "between the horn and the siren"
        relation = "between"
    phrase, spoken = utterance(anchor_text, quotes) if anchor_text else ("", ())
    _check_places(main, directory)  # "at the gate" inside what was said names no place
    _check_places(without(anchor_text), directory)
    streams = _streams(main, directory)
    times, main = _times(main)
    kind = "compare" if sides else _plan_type(main, anchor_text)
    if times != (1, None) and kind in ("colour", "which", "count", "exists", "compare"):
        kind = "list"  # "which colours appeared more than once": the values, so often
    if kind == "colour" and re.search(r"\bcolou?rs? (?:were|are)\b", main):
        kind = "list"  # "what colour were the objects": each one's, not the most common
    if dialects.ACCENT_QUESTION.search(main) and kind == "said":
        kind = "list"  # "what dialect was spoken": the accents, not the words
    if not dialects.ACCENT_QUESTION.search(main):
        _check_asked_for(main, kind)
    saw = re.search(
        r"^what (?:did|does|do|has|have) .+ (?:see|saw|seen|record|recorded|capture|captured"
        r"|detect|detected|pick up|picked up)$"
        r"|^what (?:was|were|got|has been) (?:seen|recorded|captured|detected|picked up) (?:by|on)"
        r" .+$",  # "what got picked up by mic 1"
        main,
    )
    said_of = set(re.findall(r"[a-z]+", _unplaced(main, directory))) - _ONLY_A_CAMERA - _SAW_WORDS
    hearing = bool(streams) and all(
        directory.streams[s.lower()].modality == "audio" for s in streams
    )
    if saw and not anchor_text and not said_of and hearing:  # "what did mic 1 record?"
        sounds = Subject("sound", (), (), (), "sound")
        return Plan("list", sounds, streams, found.window, "label", confidence=0.9)
    if saw and not anchor_text and not said_of:  # "the thermal camera": no such thing, refused
        # "what did camera 1 see?": each thing it saw, with its count
        things = Subject("object", (), (), (), "object")
        return Plan("list", things, streams, found.window, THING_FIELD, confidence=0.9)
    moment = found.window is not None and found.window.moment
    if moment and not anchor_text and re.fullmatch(_HAPPENED, main):
        kind = "describe"  # "what happened at 10:00:17": what was seen, heard and said then
    if kind == "describe":  # everything in view: objects, text, faces (and sounds, archived)
        everything = Subject("object", (), (), (), "thing")
        return Plan(kind, everything, streams, found.window, None, confidence=0.95)
    try:
        subject, conf, field, pick = _subject(_unplaced(main, directory), kind, vocab)
    except Refusal:
        # "what was on camera 1?": naming only a camera asks about the things it saw
        seeing = [directory.streams[s.lower()].modality == "video" for s in streams]
        other = {
            w
            for w in set(re.findall(r"[a-z]+", _unplaced(main, directory))) - _ONLY_A_CAMERA
            if not any(re.fullmatch(r, w) for r in (_SEEN, _ARRIVE, _PASSING))
        }  # "list what passed the street camera" names only the camera, too
        if other or not seeing or not all(seeing):
            raise
        subject, conf, pick = Subject("object", (), (), (), "object"), 0.9, _pick(main)
        field = _field(kind, main, (), False, "object")
    # "what appeared after 10:00:15", "the shape that came in after the purple one": the
    # tracks that began then, not those still in view
    arrivals = (found.window is not None or bool(anchor_text)) and bool(re.search(_ARRIVE, main))
    plan = Plan(
        kind, subject, streams, found.window, field, pick=pick, confidence=conf, arrivals=arrivals
    )
    plan = replace(plan, times=times)
    if sides:  # "more objects before the siren or after it": the same things, either side
        plan = replace(plan, other=subject, other_streams=streams, other_relation=sides[3])
        plan = replace(plan, side_names=(relation, sides[3]))
    elif kind == "compare":
        windows = _windows(text, now, tz, start)
        if windows is not None:  # "more objects before 10:00:10 or after"
            (a, b), names = windows
            plan = replace(plan, window=a, other=subject, other_streams=streams)
            plan = replace(plan, other_window=b, side_names=names)
        else:
            plan = _compare(plan, main, vocab, directory)
    if (
        anchor_text
        and relation in ("after", "before")
        and not plan.pick
        and (_ONE.search(main) or _RIGHT.search(text) or (kind == "colour" and plan.arrivals))
    ):
        # "the object that appeared right after the horn", "which colour came in after the
        # purple one": the next one, not all within 5 min
        plan = replace(plan, pick="first" if relation == "after" else "last")
    if anchor_text:
        if spoken:  # "when 'red car on camera one' was said": that utterance, not a car
            noun = f'utterance "{phrase}"'
            anchor, aconf = Subject("transcript", ("speech",), (), spoken, noun), 1.0
            own = _streams(without(anchor_text), directory)
        else:
            anchor, aconf, _, _ = _subject(_unplaced(anchor_text, directory), "exists", vocab)
            own = _streams(anchor_text, directory)
        which = re.search(r"\bthe (first|last|second|third|fourth|fifth)\b", anchor_text)
        anchor_pick = which.group(1) if which else ""
        if not which and relation == "before" and re.search(_ANYONE, anchor_text):
            anchor_pick = "first"  # "before anyone spoke": before the first time
        plan = replace(
            plan,
            anchor=anchor,
            anchor_streams=own or directory.same_place(streams),
            relation=relation,
            until=until,
            anchor_pick="" if spoken else anchor_pick,
            anchor_onset=not spoken
            and (
                re.search(_ONSET, anchor_text) is not None
                or (arrivals and re.search(_TOGETHER, text) is not None)
            ),
            confidence=min(plan.confidence, aconf),
            anchor_end=not spoken and re.search(_OFFSET, anchor_text) is not None,
        )
    if over:
        side = "fewer" if over.group("cmp") in ("fewer", "less", "under") else "more"
        n = over.group("n")
        plan = replace(plan, threshold=(side, int(n) if n.isdigit() else int(NUMBER_WORDS[n])))
    if claim:
        one = _subject(_unplaced(claim.group("a"), directory), "exists", vocab)[0].labels
        two = _subject(_unplaced(claim.group("b"), directory), "exists", vocab)[0].labels
        if one and two and not set(one) & set(two):  # the winner's label says which it is
            plan = replace(plan, claim=one)
    return plan


_WORD_COUNTS = {"once": 1, "twice": 2, "two": 2, "three": 3, "four": 4, "five": 5}


def _times(text: str) -> tuple[tuple[int, int | None], str]:
    """How often a value must occur, and the question without saying so: "more than once"
    (2, None), "at least twice" (2, None), "only once" (1, 1); (1, None) when it does not."""
    n = r"(once|twice|(?:\d+|two|three|four|five)(?= times?\b))(?: times?)?"
    found: tuple[int, int | None] | None = None
    if m := re.search(rf"\b(?:more than|over) {n}", text):
        found = (_count_word(m.group(1)) + 1, None)
    elif m := re.search(rf"\bat least {n}|\b{n} or more\b", text):
        found = (_count_word(m.group(1) or m.group(2)), None)
    elif m := re.search(rf"\b(?:only|just|exactly) {n}", text):
        found = (_count_word(m.group(1)), _count_word(m.group(1)))
    elif m := re.search(rf"\b(?:seen|appeared|showed up|came|passed|heard) {n}", text):
        found = (_count_word(m.group(1)), _count_word(m.group(1)))  # "seen twice": exactly
        return found, re.sub(r"\s+", " ", text[: m.end(1) - len(m.group(1))] + text[m.end() :])
    if m is None or found is None:
        return (1, None), text
    return found, re.sub(r"\s+", " ", text[: m.start()] + text[m.end() :]).strip()


def _count_word(word: str) -> int:
    return int(word) if word.isdigit() else _WORD_COUNTS[word]


def _between(text: str, vocab: Vocabulary) -> tuple[str, str, Subject] | None:
    """'... between the horn and the siren': what is asked, the first anchor's words and the
    second anchor, when both sides name events (a time span was read already)."""
    m = re.search(r"\bbetween (?P<a>.+?) and (?P<b>.+)$", text)
    if m is None or not text[: m.start()].strip():
        return None
    try:
        _subject(m.group("a"), "exists", vocab)
        second = _subject(m.group("b"), "exists", vocab)[0]
    except Refusal:
        return None
    return text[: m.start()].strip(), m.group("a"), second


_SIDES_AFTER = re.compile(
    r"\s(?P<r1>before|after)\s+(?:or|than)\s+(?P<r2>after|before)\s+(?P<a>(?:the|a|an) .+)$"
)
_SIDES_AROUND = re.compile(
    r"\s(?P<r1>before|after)\s+(?P<a>(?:the|a|an) .+?)\s+(?:or|than)\s+(?P<r2>after|before)"
    r"(?:\s+(?:it|that|them|then|its end|it ended|it started))?$"
)


def _anchor_sides(text: str) -> tuple[str, str, str, str] | None:
    """'More objects before or after the horn', 'before the siren than after it': (what is
    counted, the anchor, the first side's relation, the second's); None otherwise."""
    if not re.search(r"\b(?:more|fewer|less|most)\b", text):
        return None
    m = _SIDES_AFTER.search(text) or _SIDES_AROUND.search(text)
    if m is None or m.group("r1") == m.group("r2"):
        return None
    return text[: m.start()].strip(), m.group("a"), m.group("r1"), m.group("r2")


_CLAIM = re.compile(
    r"(?:was|is|were|are|did) (?P<a>.+?) (?:sound |last |play |go on )?"
    r"(?P<cmp>longer|shorter|louder|quieter|softer) than (?P<b>.+)"
)
"""'Was the siren longer than the horn': a which-of-two whose answer is checked."""
_ANYONE = r"\b(?:any|some)(?:one|body|thing)\b"
_OFFSET = (
    r"\b(?:left|leaves|exited|exits|disappeared|disappears|ended|ends|stopped|stops|finished"
    r"|went away|went out of view)\b"
)
"""'When the horse left', 'when the siren stopped': the anchor's last moment."""
_TOGETHER = r"\b(?:at the same (?:time|moment) as|together with|along with|alongside)\b"
"""'The shape that entered at the same time as the yellow one': as it entered, not while it
was in view."""
_ONSET = (
    r"\b(?:appeared|arrived|entered|came in|came into view|showed up|turned up|began|started"
    r"|appears|arrives|enters|begins|starts)\b"
)
"""An anchor that happened at its start: "when the orange shape arrived"."""


DAY_FIELD, HOUR_FIELD, THING_FIELD = "@day", "@hour", "@thing"
CARRIED_FIELD = "@carried"
"""'What were people carrying': the person flags that are things carried, each a value."""
CARRIED = tuple(f for f in PERSON_FLAGS if f != "riding")
_CARRYING = r"\b(?:carr(?:y|ies|ied|ying)|holding|held|hold)\b"
_CARRIED_NAMED = r"\b(?:backpacks?|rucksacks?|handbags?|bags?|purses?|suitcases?|luggage"
_CARRIED_NAMED += r"|umbrellas?|phones?|mobiles?)\b"
_SAW_WORDS = frozenset(
    ("camera", "cameras", "cam", "cams", "has", "have", "do", "does", "record", "recorded",
     "capture", "captured", "detect", "detected", "pick", "up", "picked", "seen", "got", "by",
     "was", "were", "been", "on")
)  # fmt: skip
_ONLY_A_CAMERA = frozenset(
    "what was were is are did does do there on at in by see saw seen the".split()  # noqa: SIM905
)
"""Answer fields that are not stored but read off each occurrence's start, in the site's zone."""
_ASKABLE = frozenset(
    """colour colours color colors plate plates registration registrations reg number numbers
    licence license licences licenses
    camera cameras cam cams stream streams mic mics microphone microphones place places
    location locations kind kinds type types sort sorts class classes label labels category
    audio arrivals arrival different distinct unique various
    categories vehicle vehicles sound sounds noise
    noises object objects thing things shape shapes item items animal animals time times was
    were is are did does do
    has have had of the a an else sign signs text written writing words word one ones day days
    hour hours
    happened happens exactly other was date dates weekday weekdays sentence sentences phrase
    phrases utterance utterances""".split()  # noqa: SIM905
)


def _check_asked_for(text: str, kind: str) -> None:
    """'What breed', 'which direction': a value the archive does not record is refused."""
    if kind not in ("list", "which", "distinct", "colour"):
        return
    m = re.search(r"\b(?:what|which)\s+([a-z]+)", text)
    if m is None:
        return
    head = m.group(1)
    if head in _ASKABLE or head in TERMS or head.rstrip("s") in TERMS:
        return
    verbs = {"went", "came", "rode", "ran", "drove", "got", "left", "moved", "crossed"}
    verbs |= {"lasted", "sounded", "played", "stayed", "took"}  # "which lasted longer"
    clothes = (_SEEN, _ARRIVE, _UPPER_WORDS, _LOWER_WORDS, r"trouser|pant|jean")
    if any(re.fullmatch(r, head) for r in clothes) or head in verbs:
        return  # "what passed", "what appeared": a verb, not a property asked for
    raise Refusal(f"the archive does not record the {plural(head.removesuffix('s'))} of things")


_NOT_PLACES = frozenset(
    """picture frame image photo archive footage video videos recording recordings data time
    moment same end start beginning day week whole site area scene view shot screen frame
    street road camera cameras mic microphone stream streams system record records very exact
    middle last first final next previous following top bottom edge left right centre center
    corner background foreground distance clip audio""".split()  # noqa: SIM905
)
"""Words after 'at/in the' that never name a place ('at the very same time', 'in the
background')."""


def _check_places(text: str, directory: Directory) -> None:
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
        if re.match(_UPPER_WORDS + "|" + _LOWER_WORDS, word):
            continue
        known = ", ".join(sorted(places))
        raise Refusal(f"no stream is at a place called {word!r}; the places are {known}")


def _unplaced(text: str, directory: Directory) -> str:
    """The text without stream references and place names ("car park" names no car)."""
    text = _STREAM_RE.sub(" ", text)
    for place in sorted(directory.places(), key=len, reverse=True):
        text = re.sub(r"\b" + re.escape(place) + r"\b", " ", text)
    for alias in directory.aliases():
        text = re.sub(r"\bthe " + re.escape(alias) + r"\b", " ", text)
    for key in directory.streams:
        text = re.sub(r"\b" + re.escape(key) + r"\b", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _streams(text: str, directory: Directory) -> tuple[str, ...]:
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


_NOUN_PHRASES = (
    (r"(?:the )?(?:total )?(?:number|count|total) of\b", "count"),
    (r"(?:the )?colou?r of\b", "colour"),
    (r"(?:the )?times? (?:of|when)\b", "when"),
    (r"the\b", "list"),
    (r".*\b(?:heard|seen|said|spotted|detected|recorded|visible|on camera)\b", "exists"),
)
"""A question said as a noun phrase: what it asks."""


def _plan_type(text: str, anchor: str) -> str:
    for name, rx in _TYPES:
        if re.search(rx, text):
            if name == "colour" and re.search(r"\bcolou?rs\b", text):
                return "list"
            if name == "exists" and re.match(r"(?:what|which)\b", text):
                break  # "what sounds were there": the values, not yes or no
            return name
    for word, name in (("what", "list"), ("which", "which"), ("where", "which")):
        if re.match(r"(?:\W*\w+\W+){0,3}?" + word + r"\b", text):
            return name
    for form, name in _NOUN_PHRASES:  # "the colour of the last car?", "sirens heard today?"
        if re.match(form, text):
            return name
    if anchor:
        return "exists"
    raise Refusal(
        "could not tell what kind of answer is wanted: ask how many, was there, when, "
        "which camera, what colour, what was said, or list"
    )


_AUXILIARIES = {"was", "were", "is", "are", "be", "been", "kept", "started", "began", "still"}


def _terms(text: str, vocab: Vocabulary) -> tuple[list[tuple[int, Term]], float]:
    """Terms in reading order (word position, term) and how sure the reading is."""
    words = re.findall(r"[a-z][a-z'-]*", text)
    out: list[tuple[int, Term]] = []
    used: set[int] = set()
    for i in range(len(words) - 2):  # "children were playing": the phrase "children playing"
        if (
            words[i + 1] in _AUXILIARIES
            and (term := vocab.term(f"{words[i]} {words[i + 2]}")) is not None
        ):
            out.append((i, term))
            used |= {i, i + 1, i + 2}
    spanned = set(used)
    for i in range(len(words) - 1):
        if spanned & {i, i + 1}:
            continue
        term = vocab.term(f"{words[i]} {words[i + 1]}")
        if term is not None:
            out.append((i, term))
            used |= {i, i + 1}
    for i, w in enumerate(words):
        if i not in used and (term := vocab.term(w)) is not None:
            out.append((i, term))
            used.add(i)
    # words the parser reads itself ("busier", "appeared", "passed") are not things
    own = (_GENERIC, _SEEN, _ARRIVE)
    unknown = [
        w for i, w in enumerate(words) if i not in used and not any(re.fullmatch(r, w) for r in own)
    ]
    near = vocab.nearest(unknown)
    conf = 1.0
    for i, w in enumerate(words):
        if i not in used and w in near:
            term, sim = near[w]
            out.append((i, term))
            conf = min(conf, sim)
    out.sort(key=lambda p: p[0])
    return out, conf


def _subject(text: str, kind: str, vocab: Vocabulary) -> tuple[Subject, float, str | None, str]:
    """The subject of a question, the reading's confidence, the answer field and pick."""
    # "what sounds were there apart from speech": the sounds; speech is only set aside
    text = re.sub(
        r"\b(?:apart from|aside from|except(?: for)?|other than|besides|excluding|not counting)"
        r" (?:the |any )?(?:speech|talking|talk|voices?|people talking)\b",
        " ",
        text,
    )
    if re.search(r"\b(?:mic|mics|microphone|microphones)\b", text) and not re.search(
        r"\b(?:said|say|speech|spoken|words?|talk\w*)\b", text
    ):
        text = re.sub(
            r"\b(?:pick up|picked up|picks up|capture|captured|record|recorded)\b", "heard", text
        )
    terms, conf = _terms(text, vocab)
    labels = [t for _, t in terms if t.kind in ("object", "face")]
    sounds = [t for _, t in terms if t.kind == "sound"]
    colours = [(i, t) for i, t in terms if t.kind == "colour"]
    flags = [t for _, t in terms if t.kind == "flag"]
    plates = _plates(text)
    asks_plate = any(t.kind == "plate" for _, t in terms) and not plates
    pick = _pick(text)
    speechy = re.search(
        r"\b(?:said|say|says|saying|spoke|speak|speaking|talk|talked|talking|mention|mentioned"
        r"|announce|announced|announcements?|speech|conversations?|words?|utterances?|chat"
        r"|sentences?|phrases?"
        r"|chatting|voices?)\b",
        text,
    )
    heard = re.search(r"\b(?:heard|hear|sound|sounds|sounded|noise|noises|audio|audible)\b", text)
    if re.search(r"\b(?:sign|signs|signboard|written|writing|text|banner|poster)\b", text) and not (
        labels or sounds
    ):
        return (
            Subject("text", ("text",), (), (), "text"),
            conf,
            _field(kind, text, (), False, "text"),
            pick,
        )
    if dialects.ACCENT_QUESTION.search(text):
        named = dialects.labels_in(text)
        language = bool(dialects.LANGUAGE_QUESTION.search(text))
        field = None
        if kind in ("list", "which", "distinct", "colour"):
            field = "stream_id" if re.search(_ASKS_WHERE, text) else None
            field = field or ("attributes.cluster" if language else "label")
        noun = " or ".join([*named, "accent"] if named else ["language" if language else "accent"])
        noun = noun.replace(" or accent", " accent")
        return Subject("dialect", named, (), (), noun), conf, field, pick
    said = speechy and not sounds and all(t.labels == ("person",) for t in labels)
    said = said or bool(re.search(_TOPIC, text))  # "mention the van": the van is the topic
    if kind == "said" or said:
        about = _about(text)
        noun = "utterance" + (f" about {' '.join(about)}" if about else "")
        field = _field(kind, text, (), False, "transcript")
        return Subject("transcript", ("speech",), (), about, noun), conf, field, pick
    seen = re.search(_SEEN, text)
    if sounds and not (labels and seen and not heard):
        names = tuple(dict.fromkeys(s.value for s in sounds))
        return (
            Subject("sound", names, (), (), " or ".join(n.replace("_", " ") for n in names)),
            conf,
            _field(kind, text, names, False, "sound"),
            pick,
        )
    if not labels and heard:
        return (
            Subject("sound", (), (), (), "sound"),
            conf,
            _field(kind, text, (), False, "sound"),
            pick,
        )
    people = re.search(r"\b(?:anyone|anybody|someone|somebody|people|person)\b", text)
    generic = re.search(_GENERIC, text) or re.search(r"\bcolou?rs?\b", text) or kind == "compare"
    generic = generic or bool(re.search(_COLOURED_ONE, text))  # "after the purple one"
    if not labels and colours and not people and not flags and generic:
        # "red objects", "anything pink": any thing on camera of that colour (an object's
        # colour, a moving thing's colour, or a person's top)
        tints = tuple(dict.fromkeys(t.value for _, t in colours))
        cond = Condition(("attributes.colour", "attributes.upper_colour"), tints)
        field = _field(kind, text, (), False, "object")
        noun = f"{' or '.join(tints)} object"
        return Subject("object", (), (cond,), (), noun), conf, field, pick
    clothed = re.search(
        rf"\b(?:{_UPPER_WORDS}|{_LOWER_WORDS}|worn|wear|wears|wearing|wore|dressed)\b", text
    )
    if not labels and (flags or colours or people or clothed):
        labels = [TERMS["person"]]  # "what top colours were worn": people's tops
    if not labels:
        if colours or asks_plate or plates:
            labels = [Term("object", "vehicle", VEHICLES)]
        elif (
            re.search(_GENERIC, text)
            or (
                kind in ("which", "list", "distinct", "colour")
                and re.search(r"\bcolou?rs?\b", text)
            )
            or re.search(
                r"^what (?:was|were|got|has been) (?:seen|spotted|visible|detected)\b", text
            )
            or re.search(r"\b(?:class(?:es)?|labels?|categories)\b", text)  # "detected classes"
        ):
            # "which colour was seen most?": colours are of the things on camera
            field = _field(kind, text, (), False, "object")
            return Subject("object", (), (), (), "object"), conf, field, pick
        else:
            raise Refusal(
                "the question names nothing the archive records "
                "(objects, people, vehicles, sounds or speech)"
            )
    names = tuple(dict.fromkeys(label for t in labels for label in t.labels))
    conditions: list[Condition] = []
    if plates:
        conditions.append(Condition(("attributes.plate",), plates))
    rides = {"riding"} & {t.value for t in flags}
    if rides and "person" in names and len(names) > 1:
        names = ("person",)  # "anyone riding a bicycle": the person rides, the bicycle is ridden
    person = names == ("person",)
    for flag in dict.fromkeys(t.value for t in flags):
        if not person and flag in PERSON_FLAGS:
            continue
        conditions.append(Condition((f"attributes.{flag}",), (True,)))
    if asks_plate and all(n in ("bicycle", "person", "dog") for n in names):
        raise Refusal(f"{' and '.join(names)} carry no licence plates; plates are read on vehicles")
    field = _field(kind, text, names, asks_plate, "object")
    # colour words for the answer field ("what colour") are not conditions
    by_fields: dict[tuple[str, ...], list[str]] = {}
    for i, term in colours:  # "black or white cars": one condition, either colour
        by_fields.setdefault(_colour_fields(text, i, names), []).append(term.value)
    for fields, values in by_fields.items():
        conditions.append(Condition(fields, tuple(dict.fromkeys(values))))
    noun = _noun(names, conditions, labels)
    return Subject("object", names, tuple(conditions), (), noun), conf, field, pick


def _colour_fields(text: str, index: int, names: tuple[str, ...]) -> tuple[str, ...]:
    words = re.findall(r"[a-z][a-z'-]*", text)
    after = " ".join(words[index + 1 : index + 3])
    if set(names) <= {"person"}:
        if re.match(_LOWER_WORDS, after):
            return ("attributes.lower_colour",)
        return ("attributes.upper_colour",)
    if set(names) <= set(VEHICLES) | {"bicycle"}:
        return ("attributes.colour",)
    return ("attributes.colour", "attributes.upper_colour")


def _field(
    kind: str, text: str, names: tuple[str, ...], asks_plate: bool, subject: str
) -> str | None:
    """Which field's values answer a list / which / distinct / colour question."""
    if kind not in ("which", "list", "distinct", "colour"):
        return None
    if asks_plate:
        return "attributes.plate"
    if re.search(r"\b(?:which|what) (?:days?|dates?|weekdays?)\b", text):
        return DAY_FIELD
    if re.search(r"\b(?:which|what) hours?\b", text):
        return HOUR_FIELD
    carrying = names == ("person",) and re.search(_CARRYING, text) is not None
    if carrying and not re.search(rf"\bcolou?rs?\b|{_ASKS_WHERE}|{_CARRIED_NAMED}", text):
        return CARRIED_FIELD  # "what were people carrying", not "who carried an umbrella"
    wearing = re.search(r"\b(?:wear|wears|wore|worn|wearing|dressed)\b", text)
    if subject == "object" and (re.search(r"\bcolou?rs?\b", text) or wearing):
        if names == ("person",):  # "what did people wear": the colours they wore
            lower = re.search(_LOWER_WORDS, text)
            return "attributes.lower_colour" if lower else "attributes.upper_colour"
        return "attributes.colour"
    if kind in ("which", "list", "distinct") and re.search(_ASKS_WHERE, text):
        return "stream_id"
    if subject in ("transcript", "text"):
        return "text"
    if subject == "sound":
        return "label"
    if re.search(r"\b(?:kinds?|types?|sorts?|class(?:es)?|labels?|categories|category)\b", text):
        return "label"
    people = subject == "object" and names == ("person",)
    if kind == "which" and people and re.search(r"\bwhich (?:person|people)\b", text):
        return THING_FIELD  # "which person came first": the one in the black top
    if kind == "which":
        return (
            "label"
            if re.search(r"\bwhich (?:vehicle|one|animal|object|thing|shape|was|were|came)\b", text)
            else "stream_id"
        )
    if kind == "list":
        # "what was on camera", "what people were seen": each thing, told by its colour
        return THING_FIELD if subject == "object" and (not names or people) else "label"
    return None


_MOST_OF_TWO = {
    "longer": "longest",
    "shorter": "shortest",
    "louder": "loudest",
    "quieter": "quietest",
    "softer": "quietest",
    "softest": "quietest",
}
"""'Which was louder, the horn or the siren': the loudest of the two."""


def _pick(text: str) -> str:
    extreme = re.search(
        r"\b(?:longest|shortest|loudest|quietest|softest|longer|shorter|louder|quieter|softer)\b",
        text,
    )
    if extreme:
        return _MOST_OF_TWO.get(extreme.group(0), extreme.group(0))
    if re.search(r"\b(?:first|earliest)\b", text):
        return "first"
    nth = re.search(r"\bthe (second|third|fourth|fifth)\b(?! (?:half|quarter))", text)
    if nth:
        return nth.group(1)
    if re.search(r"\b(?:last|latest|final|most recent|most recently)\b", text):
        return "last"
    if re.search(r"\b(?:most|busiest|more|mostly|mainly|predominantly|usually|typically)\b", text):
        return "most"
    if re.search(r"\b(?:least|fewest|quietest)\b", text):
        return "least"
    return ""


_ABOUT_STOP = frozenset(
    """on at in by near camera cam mic microphone the a an anything something any this that
    today yesterday morning afternoon evening anyone someone somebody and or was were is
    mentioned discussed said first last earliest latest then spoken used uttered heard get
    got""".split()  # noqa: SIM905
)


def _about(text: str) -> tuple[str, ...]:
    """The words a transcript must contain: 'about the forklift', 'mention the keys',
    'was the coffee machine mentioned'."""
    before = re.search(
        r"\b(?:was|were|is|are|has|have|had)\s+(?:the\s+|a\s+|an\s+)?([a-z0-9' -]+?)\s+"
        r"(?:ever\s+)?(?:been\s+)?(?:mentioned|discussed|talked about|brought up|announced)\b",
        text,
    )
    m = before or re.search(
        r"\b(?:about|regarding|mention(?:ed|ing)?|mentions|saying|said|word)\s+"
        r"(?:the\s+|a\s+|an\s+)?['\"]?([a-z0-9' -]+)",
        re.sub(r"\b(?:said|say|mentioned|spoken|talked|discussed) about\b", "about", text),
    )
    if m is None:
        return ()
    words: list[str] = []
    for w in m.group(1).split():
        if w in _ABOUT_STOP or re.fullmatch(r"\d+", w):
            if words:
                break
            continue
        words.append(w.strip("'"))
    return tuple(w for w in words[:4] if w)


def _noun(names: tuple[str, ...], conditions: list[Condition], labels: list[Term]) -> str:
    group = next((t.value for t in labels if t.value in ("vehicle", "animal")), None)
    base = group or " or ".join(names)
    colours = [
        " or ".join(map(str, c.values)) for c in conditions if any("colour" in f for f in c.fields)
    ]
    flags = [c.fields[0].split(".")[1] for c in conditions if c.values == (True,)]
    noun = " ".join([*colours, base])
    if "riding" in flags:
        flags.remove("riding")
        noun += " riding"
    if flags:
        noun += " with " + " and ".join(_with(f) for f in flags)
    return noun


_PLATE = re.compile(r"\b([a-z]{2})\s?(\d{1,2})\s?([a-z]{1,3})\s?(\d{3,4})\b")


def _plates(text: str) -> tuple[str, ...]:
    """Plate numbers written in the question ("KA 05 MX 1234"), with and without spaces."""
    out: list[str] = []
    for m in _PLATE.finditer(text):
        parts = [g.upper() for g in m.groups()]
        out += ["".join(parts), " ".join(parts)]
    return tuple(dict.fromkeys(out))


def _with(flag: str) -> str:
    return ("an " if flag[0] in "aeiou" else "a ") + flag


_HAPPENED = (
    r"(?:so )?what(?: (?:exactly|else))? (?:happened|was happening|was going on|went on"
    r"|is happening|is going on|occurred)(?: (?:on|in|at|near) .+)?"
)
"""A question after everything at a moment, once its time is taken out."""
_SIDES = r"\s(?:than|or|versus|vs\.?|compared (?:to|with))\s"
"""What separates the two sides of a comparison."""


_HEARD_AS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("dog",): ("dog_bark",),
    (): (),  # "were more things heard or seen": any sound against any thing
}
"""What a thing on camera sounds like, for "were more dogs heard or seen"."""


def _compare(plan: Plan, text: str, vocab: Vocabulary, directory: Directory) -> Plan:
    """Two things to weigh: kinds ("cars or trucks"), colours ("red or blue cars"), what people
    carry ("backpacks or umbrellas"), or streams and places ("cam1 or the car park")."""
    parts = re.split(_SIDES, text, maxsplit=1)
    if len(parts) == 2:
        left, right = _streams(parts[0], directory), _streams(parts[1], directory)
        if left and right and left != right:
            return replace(plan, streams=left, other=plan.subject, other_streams=right)
    s = plan.subject
    senses = re.search(r"\b(?P<a>heard|seen) or (?P<b>heard|seen)\b", text)
    if senses and senses["a"] != senses["b"] and s.labels in _HEARD_AS and not s.conditions:
        # "were more dogs heard or seen": the barks against the dogs on camera
        sound = Subject("sound", _HEARD_AS[s.labels], (), (), s.noun if s.labels else "sound")
        seen = s if s.labels else Subject("object", (), (), (), "object")
        first, second = (sound, seen) if senses["a"] == "heard" else (seen, sound)
        plan = replace(plan, subject=first, other=second, other_streams=plan.streams)
        return replace(plan, side_names=(senses["a"], senses["b"]))
    terms, _ = _terms(_unplaced(text, directory), vocab)
    kinds = list(dict.fromkeys(t for _, t in terms if t.kind in ("object", "sound")))
    if len(kinds) >= 2 and s.kind in ("object", "sound") and len(_split_values(s)) < 2:
        a, b = kinds[0], kinds[1]
        first = replace(s, labels=a.labels, noun=a.value)
        second = replace(s, labels=b.labels, noun=b.value)
        return replace(plan, subject=first, other=second, other_streams=plan.streams)
    split = [Condition(c.fields, (v,)) for c in s.conditions if _splits(c) for v in c.values]
    if len(split) >= 2:
        rest = tuple(c for c in s.conditions if not _splits(c))
        a_cond, b_cond = split[0], split[1]
        first = replace(s, conditions=(*rest, a_cond), noun=_condition_name(a_cond))
        second = replace(s, conditions=(*rest, b_cond), noun=_condition_name(b_cond))
        return replace(plan, subject=first, other=second, other_streams=plan.streams)
    sides = _sides(parts, plan.type, vocab, directory) if len(parts) == 2 else None
    if sides is not None:  # "more sounds or sentences": two kinds of event
        return replace(plan, subject=sides[0], other=sides[1], other_streams=plan.streams)
    raise Refusal(
        "a comparison needs two things to compare (two kinds, colours or carried things, "
        "or two streams or places)"
    )


def _sides(
    parts: Sequence[str], kind: str, vocab: Vocabulary, directory: Directory
) -> tuple[Subject, Subject] | None:
    """Each side of "more X or Y" read as a subject of its own, when they differ in kind."""
    try:
        left = _subject(_unplaced(parts[0], directory), kind, vocab)[0]
        right = _subject(_unplaced(parts[1], directory), kind, vocab)[0]
    except Refusal:
        return None
    return (left, right) if left.kind != right.kind else None


def _windows(
    text: str, now: float, tz: dt.tzinfo, start: float | None
) -> tuple[tuple[Window, Window], tuple[str, str]] | None:
    """Two times to weigh, and their names as said: "in the first half or the second half",
    "before 10:00:10 or after" (a bare "after" or "before" takes the other side's moment)."""
    parts = re.split(_SIDES, text, maxsplit=1)
    if len(parts) != 2:  # "how did the number of buses compare between yesterday and today"
        m = re.search(r"\bbetween (?P<a>.+?) and (?P<b>.+?)$", text)
        parts = [m.group("a"), m.group("b")] if m else parts
    if len(parts) != 2:
        return None
    found_a, found_b = (find_window(p, now, tz, start) for p in parts)
    a, b = found_a.window, found_b.window
    right = parts[1].strip()
    names = (_said_time(parts[0], found_a.rest), _said_time(right, found_b.rest))
    unit = re.search(r"\b(seconds?|minutes?|hours?|days?)\b", parts[0])
    if (
        a is not None
        and b is None
        and unit
        and not re.search(r"\b(?:second|minute|hour|day)", right)
    ):
        # "in the first 10 seconds than in the last 10": the unit said once
        b = find_window(f"{right} {unit.group(1)}", now, tz, start).window
    if a is not None and b is None:
        if re.fullmatch(r"(?:after|afterwards|later)(?: that| then)?", right) and a.end:
            b = Window(a.end, None)
        elif re.fullmatch(r"(?:before|earlier)(?: that| then)?", right) and a.start:
            b = Window(None, a.start)
    if a is None or b is None or a == b:
        return None
    return (a, b), names


def _said_time(part: str, rest: str) -> str:
    """The words of `part` that named its time (what `find_window` cut out of it)."""
    left = rest.split()
    said = []
    for word in part.split():
        if left and word == left[0]:
            left.pop(0)
        else:
            said.append(word)
    name = " ".join(said) or part.strip()
    return re.sub(r"^(?:in|during|at) (?:the )?|^the ", "", name)


def _split_values(s: Subject) -> list[Any]:
    return [v for c in s.conditions if _splits(c) for v in c.values]


def _splits(c: Condition) -> bool:
    return any("colour" in f for f in c.fields) or c.values == (True,)


def _condition_name(c: Condition) -> str:
    return str(c.values[0]) if c.values != (True,) else c.fields[0].split(".", 1)[1]


def window_label(window: Window | None, tz: dt.tzinfo = dt.UTC) -> str:
    return (
        ""
        if window is None or (window.start is None and window.end is None)
        else " " + window.describe(tz)
    )
