"""Questions → typed `Plan`s, or a `Refusal` that says why not.

Reading order: clean the text (length, control characters), cut out the time (`timeparse`),
split off a cross-modal clause ("... when the siren sounded"), find the streams ("camera 3",
"mic two", a place such as "the entrance"), decide the plan type from the question's form
("how many", "when", "which camera", "what colour", "more ... than", "was there"), then
read the subject from `vocab`: labels, sounds, colours, what people carry and wear.

The pieces live beside it: `directory` (streams and places), `subject` (the subject, the
field asked for, the pick), `sides` (the two sides of a comparison), `forms` (shared word
forms), `rephrase` (questions said another way), `clauses` (cross-modal clauses).

Anything the archive does not record (names, ages, speeds, the weather, the future, a
camera that does not exist) is refused with the reason; a question with no recognisable
subject is refused rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import replace

from senri.ask import dialects, rephrase
from senri.ask.clauses import quoted, split_join, utterance, without
from senri.ask.directory import Directory, check_places, find_streams, unplaced
from senri.ask.forms import ARRIVE, LOWER_WORDS, SEEN, THING_FIELD, UPPER_WORDS
from senri.ask.plan import Plan, Refusal, Subject
from senri.ask.sides import compared_windows, read_comparison
from senri.ask.subject import asked_field, read_pick, read_subject
from senri.ask.timeparse import NUMBER_WORDS, find_window
from senri.ask.vocab import COLOUR_PATTERN, TERMS, Vocabulary, plural

MAX_CHARS = 400
MAX_WORDS = 60

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
    r"\b(?:squares?|circles?|rectangles?|rectangular|ovals?|ellipses?|triangles?|triangular"
    r"|circular)\b": "the shapes of things (a thing on camera is told apart by its colour)",
    r"\bhow (?:big|large|small|wide|heavy)\b|\bsizes?\b|\bdimensions?\b"
    r"|\b(?:was|were|is|are) (?:the )?(?:biggest|largest|smallest|tiniest)\b"
    r"(?! (?:number|count|amount|share|total|group|crowd))": (
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
    r"\b(?:arrest(?:ed|s)?|steal(?:s|ing)?|stole|stolen|theft|thie(?:f|ves)|robb(?:ed|ery)"
    r"|fight(?:s|ing)?|fought|crash(?:ed|es)?|collision|collided|accidents?|illegal(?:ly)?"
    r"|vandal\w*|trespass\w*|broke into|break-?ins?|shoplift\w*|assault\w*)\b": (
        "incidents such as thefts, fights, crashes or arrests (it records what was seen and "
        "heard, not what it amounted to)"
    ),
    r"\blook(?:ed|s)? like\b|\bappearance\b|\bhair\b|\bhairstyle\b": (
        "what people or things looked like beyond their colours and what people carried"
    ),
    r"\b(?:passengers?|occupants?|inside (?:the |a |an )?(?:bus|car|truck|van|vehicle|building"
    r"|shop|store|office))\b": "what is inside vehicles or buildings",
    r"\b(?:electric|hybrid|diesel|petrol|gasoline)\b(?! (?:drills?|saws?|tools?))": (
        "vehicle makes, models or fuel"
    ),
    r"\bphone numbers?\b|\bemail\b|\bhome address\b": "personal details",
    r"^(?!.*\b(?:say|said|says|mention\w*|talk\w*|announce\w*|spoken)\b).*(?:\b(?:shop|store"
    r"|office|building|business|cafe|restaurant|doors?|gates?) (?:open(?:ed|s)?|clos(?:e|ed|es)"
    r"|(?:un)?lock(?:ed)?)\b|\bopening (?:hours|times?)\b)": (
        "when places open, close or lock (only what cameras and microphones pick up)"
    ),
    r"\bwhere did .+ go\b|\bwhere (?:was|were|is) .+ (?:going|headed|heading)\b"
    r"|\bdestination\b": "where things went out of view (only which camera saw them)",
    r"\bwho (?:spoke|said|talked|shouted|called|was (?:speaking|talking|shouting))\b"
    r"|\bwhat did the (?:security guard|guard|officer|police\w*|manager|driver"
    r"|receptionist) (?:say|tell|announce)\b": (
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
        r"^(?:list|show|name|give|find|enumerate|identify|check)\b"
        r"|\bwhat (?:kinds?|types?|sorts?) of\b"
        r"|\b(?:what|which) (?:vehicles|sounds|noises|plates|registrations|objects|things|animals"
        r"|colou?rs|cameras|streams)\b",
    ),
    (
        "exists",
        r"^(?:is|was|were|are|did|does|do|has|have|had|could|can|might|may|would|should|must"
        r"|any|anyone|anybody|anything)\b"
        r"|\bwas there\b|\bwere there\b|\bany\b|\b(?:if|whether)\b",
    ),
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
    text = re.sub(r"\b(what|where|when|which|who|how|that|it|there)[\'`]s\b", r"\1 is", text)
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
    said_colour = re.fullmatch(_COLOUR_IS, rest)
    if said_colour:  # "was the first car red": its colour, and whether it is red
        rest = "what colour was " + re.sub(r"\s*colou?r$", "", said_colour.group("a"))
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
    check_places(main, directory)  # "at the gate" inside what was said names no place
    check_places(without(anchor_text), directory)
    streams = find_streams(main, directory)
    times, main = _times(main)
    kind = "compare" if sides else _plan_type(main, anchor_text)
    if times != (1, None) and kind in ("colour", "which", "count", "exists", "compare"):
        kind = "list"  # "which colours appeared more than once": the values, so often
    if (
        kind == "colour"
        and re.search(r"\bcolou?rs? (?:were|are)\b", main)
        and not re.search(r"\b(?:most|mostly|mainly|majority)\b", main)
    ):
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
    said_of = set(re.findall(r"[a-z]+", unplaced(main, directory))) - _ONLY_A_CAMERA - _SAW_WORDS
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
        subject, conf, field, pick = read_subject(unplaced(main, directory), kind, vocab)
    except Refusal:
        # "what was on camera 1?": naming only a camera asks about the things it saw
        seeing = [directory.streams[s.lower()].modality == "video" for s in streams]
        said = set(re.findall(r"[a-z]+", unplaced(main, directory))) - _ONLY_A_CAMERA
        other = {
            w
            for w in said - _SAW_WORDS - {"any", "all", "see", "capture"}
            if not any(re.fullmatch(r, w) for r in (SEEN, ARRIVE, _PASSING))
        }  # "list what passed the street camera" names only the camera, too
        if not streams and not other:  # "what was on the cameras", "what passed": every one
            seeing = [True]
        if anchor_text and any(seeing) and not all(seeing):  # "recorded at the entrance
            # while someone spoke": what its cameras saw
            streams = tuple(s for s, sees in zip(streams, seeing, strict=True) if sees)
            seeing = [True]
        if other or not seeing or not all(seeing):
            raise
        subject, conf, pick = Subject("object", (), (), (), "object"), 0.9, read_pick(main)
        field = asked_field(kind, main, (), False, "object")
    # "what appeared after 10:00:15", "the shape that came in after the purple one": the
    # tracks that began then, not those still in view
    arrivals = (found.window is not None or bool(anchor_text)) and bool(re.search(ARRIVE, main))
    plan = Plan(
        kind, subject, streams, found.window, field, pick=pick, confidence=conf, arrivals=arrivals
    )
    plan = replace(plan, times=times)
    if sides:  # "more objects before the siren or after it": the same things, either side
        plan = replace(plan, other=subject, other_streams=streams, other_relation=sides[3])
        plan = replace(plan, side_names=(relation, sides[3]))
    elif kind == "compare":
        windows = compared_windows(text, now, tz, start)
        if windows is not None:  # "more objects before 10:00:10 or after"
            (a, b), names = windows
            plan = replace(plan, window=a, other=subject, other_streams=streams)
            plan = replace(plan, other_window=b, side_names=names)
        else:
            plan = read_comparison(plan, main, vocab, directory)
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
            own = find_streams(without(anchor_text), directory)
        else:
            anchor, aconf, _, _ = read_subject(unplaced(anchor_text, directory), "exists", vocab)
            own = find_streams(anchor_text, directory)
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
    if said_colour and not said_colour.group("d"):  # "or blue": the colour is the answer
        plan = replace(plan, claim=(TERMS[said_colour.group("c")].value,))
    if claim:
        one = read_subject(unplaced(claim.group("a"), directory), "exists", vocab)[0].labels
        two = read_subject(unplaced(claim.group("b"), directory), "exists", vocab)[0].labels
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
        read_subject(m.group("a"), "exists", vocab)
        second = read_subject(m.group("b"), "exists", vocab)[0]
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
_COLOUR_IS = re.compile(
    rf"(?:was|is) (?P<a>the (?!colou?r)(?:(?!\bthere\b).)+?) (?:(?:coloured|painted|in) )?"
    rf"(?P<c>{COLOUR_PATTERN})(?: or (?P<d>{COLOUR_PATTERN}))?(?: in colou?r)?"
)
"""'Was the first car red', 'is the most common car colour white': the colour asked for and
checked; 'was the last bus red or blue' asks which."""
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
    verbs |= {"could", "can", "would", "might", "should", "activity", "activities"}
    clothes = (SEEN, ARRIVE, UPPER_WORDS, LOWER_WORDS, r"trouser|pant|jean")
    if any(re.fullmatch(r, head) for r in clothes) or head in verbs:
        return  # "what passed", "what appeared": a verb, not a property asked for
    raise Refusal(f"the archive does not record the {plural(head.removesuffix('s'))} of things")


_NOUN_PHRASES = (
    (r"(?:the )?(?:total )?(?:number|count|total) of\b", "count"),
    (r"(?:the )?colou?r of\b", "colour"),
    (r"(?:the )?times? (?:of|when)\b", "when"),
    (r"the\b", "list"),
    (
        r"(?:all |every |each )?(?:the )?(?:[a-z]+ )?(?:plates|registrations|colou?rs|kinds|types"
        r"|sorts|sounds|noises|labels|classes|categories)\b|(?:all|every|each)\b",
        "list",
    ),
    (r".*\b(?:heard|seen|said|spotted|detected|recorded|visible|on camera)\b", "exists"),
    (r"(?:any |a |an |some )?[a-z]+(?: [a-z]+){0,2}$", "exists"),  # "siren yesterday?"
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


_HAPPENED = (
    r"(?:so )?what(?: (?:exactly|else))? (?:happened|was happening|was going on|went on"
    r"|is happening|is going on|occurred)(?: (?:on|in|at|near) .+)?"
)
"""A question after everything at a moment, once its time is taken out."""
