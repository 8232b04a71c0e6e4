"""What a question asks about: its subject's kind, labels and conditions (colours, carried
things, clothes), the field a value question asks for, and the pick ("the first", "the
loudest").
"""

from __future__ import annotations

import re

from senri.ask import dialects
from senri.ask.forms import (
    ARRIVE,
    ASKS_WHERE,
    CARRIED_FIELD,
    CARRIED_NAMED,
    CARRYING,
    COLOURED_ONE,
    DAY_FIELD,
    GENERIC,
    HOUR_FIELD,
    LOWER_WORDS,
    SEEN,
    THING_FIELD,
    TOPIC,
    UPPER_WORDS,
)
from senri.ask.plan import Condition, Refusal, Subject
from senri.ask.vocab import PERSON_FLAGS, TERMS, VEHICLES, Term, Vocabulary

_AUXILIARIES = {"was", "were", "is", "are", "be", "been", "kept", "started", "began", "still"}


def find_terms(text: str, vocab: Vocabulary) -> tuple[list[tuple[int, Term]], float]:
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
    own = (GENERIC, SEEN, ARRIVE)
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


def read_subject(text: str, kind: str, vocab: Vocabulary) -> tuple[Subject, float, str | None, str]:
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
    terms, conf = find_terms(text, vocab)
    labels = [t for _, t in terms if t.kind in ("object", "face")]
    sounds = [t for _, t in terms if t.kind == "sound"]
    colours = [(i, t) for i, t in terms if t.kind == "colour"]
    flags = [t for _, t in terms if t.kind == "flag"]
    plates = _plates(text)
    asks_plate = any(t.kind == "plate" for _, t in terms) and not plates
    pick = read_pick(text)
    speechy = re.search(
        r"\b(?:said|say|says|saying|spoke|speak|speaking|talk|talked|talking|mention|mentioned"
        r"|announce|announced|announcements?|speech|conversations?|words?|utterances?|chat"
        r"|sentences?|phrases?"
        r"|chatting|chatter|voices?|dialogue|discussions?|remarks?|comments?)\b",
        text,
    )
    heard = re.search(r"\b(?:heard|hear|sound|sounds|sounded|noise|noises|audio|audible)\b", text)
    if re.search(r"\b(?:sign|signs|signboard|written|writing|text|banner|poster)\b", text) and not (
        labels or sounds
    ):
        return (
            Subject("text", ("text",), (), (), "text"),
            conf,
            asked_field(kind, text, (), False, "text"),
            pick,
        )
    if dialects.ACCENT_QUESTION.search(text):
        named = dialects.labels_in(text)
        language = bool(dialects.LANGUAGE_QUESTION.search(text))
        field = None
        if kind in ("list", "which", "distinct", "colour"):
            field = "stream_id" if re.search(ASKS_WHERE, text) else None
            field = field or ("attributes.cluster" if language else "label")
        noun = " or ".join([*named, "accent"] if named else ["language" if language else "accent"])
        noun = noun.replace(" or accent", " accent")
        return Subject("dialect", named, (), (), noun), conf, field, pick
    said = speechy and not sounds and all(t.labels == ("person",) for t in labels)
    said = said or bool(re.search(TOPIC, text))  # "mention the van": the van is the topic
    if kind == "said" or said:
        about = _about(text)
        noun = "utterance" + (f" about {' '.join(about)}" if about else "")
        field = asked_field(kind, text, (), False, "transcript")
        return Subject("transcript", ("speech",), (), about, noun), conf, field, pick
    seen = re.search(SEEN, text)
    if sounds and not (labels and seen and not heard):
        names = tuple(dict.fromkeys(s.value for s in sounds))
        return (
            Subject("sound", names, (), (), " or ".join(n.replace("_", " ") for n in names)),
            conf,
            asked_field(kind, text, names, False, "sound"),
            pick,
        )
    if not labels and heard:
        return (
            Subject("sound", (), (), (), "sound"),
            conf,
            asked_field(kind, text, (), False, "sound"),
            pick,
        )
    people = re.search(r"\b(?:anyone|anybody|someone|somebody|people|person)\b", text)
    generic = re.search(GENERIC, text) or re.search(r"\bcolou?rs?\b", text) or kind == "compare"
    generic = generic or bool(re.search(COLOURED_ONE, text))  # "after the purple one"
    if not labels and colours and not people and not flags and generic:
        # "red objects", "anything pink": any thing on camera of that colour (an object's
        # colour, a moving thing's colour, or a person's top)
        tints = tuple(dict.fromkeys(t.value for _, t in colours))
        cond = Condition(("attributes.colour", "attributes.upper_colour"), tints)
        field = asked_field(kind, text, (), False, "object")
        noun = f"{' or '.join(tints)} object"
        return Subject("object", (), (cond,), (), noun), conf, field, pick
    clothed = re.search(
        rf"\b(?:{UPPER_WORDS}|{LOWER_WORDS}|worn|wear|wears|wearing|wore|dressed)\b", text
    )
    if not labels and (flags or colours or people or clothed):
        labels = [TERMS["person"]]  # "what top colours were worn": people's tops
    if not labels:
        if colours or asks_plate or plates:
            labels = [Term("object", "vehicle", VEHICLES)]
        elif (
            re.search(GENERIC, text)
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
            field = asked_field(kind, text, (), False, "object")
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
    field = asked_field(kind, text, names, asks_plate, "object")
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
        if re.match(LOWER_WORDS, after):
            return ("attributes.lower_colour",)
        return ("attributes.upper_colour",)
    if set(names) <= set(VEHICLES) | {"bicycle"}:
        return ("attributes.colour",)
    return ("attributes.colour", "attributes.upper_colour")


def asked_field(
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
    carrying = names == ("person",) and re.search(CARRYING, text) is not None
    if carrying and not re.search(rf"\bcolou?rs?\b|{ASKS_WHERE}|{CARRIED_NAMED}", text):
        return CARRIED_FIELD  # "what were people carrying", not "who carried an umbrella"
    wearing = re.search(r"\b(?:wear|wears|wore|worn|wearing|dressed)\b", text)
    if subject == "object" and (re.search(r"\bcolou?rs?\b", text) or wearing):
        if names == ("person",):  # "what did people wear": the colours they wore
            lower = re.search(LOWER_WORDS, text)
            return "attributes.lower_colour" if lower else "attributes.upper_colour"
        return "attributes.colour"
    if kind in ("which", "list", "distinct") and re.search(ASKS_WHERE, text):
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


def read_pick(text: str) -> str:
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
    today yesterday morning afternoon evening anyone someone somebody anybody everyone
    everybody nobody people person and or was were is
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
    after = re.search(
        r"\b(?:about|regarding|mention(?:ed|ing)?|mentions|saying|said|say|says|word)\s+"
        r"(?:the\s+|a\s+|an\s+)?['\"]?([a-z0-9' -]+)",
        re.sub(
            r"\b(?:said|say|says|mentioned|spoken|talked|discussed)(?: (?:some|any)thing)? about\b",
            "about",
            text,
        ),
    )
    for m in (before, after):  # "has anybody mentioned the gate": the words after it
        words: list[str] = []
        for w in m.group(1).split() if m else ():
            if w in _ABOUT_STOP or re.fullmatch(r"\d+", w):
                if words:
                    break
                continue
            words.append(w.strip("'"))
        if any(words):
            return tuple(w for w in words[:4] if w)
    return ()


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
