"""Questions said another way, rewritten into the forms the parser reads.

A request ("tell me the colour of the first object", "confirm that a bus passed") is the
question it asks, and a request for values ("print the plates") a list; a statement with a
tag ("there was a siren, right?") asks whether; "what shade", "the predominant colour" and
"most common car colour?" are colour questions; "the yellow square" is the yellow thing;
"which half had more objects" weighs the halves; "who was on
camera" asks which people; "at the very start" of the recording is what came first; "did
the siren and an utterance overlap" asks whether there was one at the same time as the
other; "were red objects outnumbered by blue ones" is a comparison; and a few phrases are
the sound or thing they mean (`senri.ask.vocab.SAID_OTHERWISE`). `before_times` runs on the
cleaned question, `after_times` on what is left once its times are cut out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from senri.ask.vocab import COLOUR_PATTERN, SAID_OTHERWISE, TERMS


def before_times(text: str) -> str:
    """Rewrites that must see the whole question (its start, 'at the very end')."""
    for said, meant in SAID_OTHERWISE:  # "construction noise": drilling or a jackhammer
        text = re.sub(said, meant, text)
    text = re.sub(_TELL_ME, _asked, text)  # "tell me the colour of ...": "what is the ..."
    text = re.sub(_LIST_ME, _listed, text)  # "print the plates", "i'd like a list of sounds"
    text = re.sub(r"^what all\b", "what", text)  # "what all was heard"
    text = re.sub(_TAG, _untagged, text)  # "there was a siren yesterday, right"
    text = re.sub(_SHAPE_NAMED, _as_shape, text)  # "the yellow square": the yellow thing
    for pattern, form in _COLOUR_FORMS:  # "the predominant hue of cars": the most common colour
        text = re.sub(pattern, form, text)
    text = re.sub(_WHO, r"which people \g<verb>", text)  # "who was on camera": the people
    for pattern, form in _HALVES:  # "which half had more objects", "more at the start or end"
        text = re.sub(pattern, form, text)
    text = re.sub(_AT_START, " first ", text)  # "what was heard at the very start"
    return re.sub(_AT_END, " last ", text)


def after_times(rest: str) -> str:
    """Rewrites of the question without its times: overlaps and comparisons said otherwise."""
    rest = re.sub(_TOGETHER_Q, _together, rest)
    for pattern, form in _COMPARE_FORMS:  # "were red objects outnumbered by blue ones"
        rest = re.sub(pattern, form, rest)
    return rest


_OF_ALL = r"(?! of (?!(?:the )?(?:recording|clip|video|footage|archive|audio)\b))"
_OF_ALL += r"(?: of (?:the )?(?:recording|clip|video|footage|archive|audio))?"
_AT_START = rf"\b(?:at|in) the (?:very )?(?:start|beginning|outset){_OF_ALL}\b"
"""'At the very start' of the recording is what came first; 'at the start of the siren' is
left to the clause reader."""
_AT_END = rf"\b(?:at|in) the (?:very )?end{_OF_ALL}\b"
_HALVES: tuple[tuple[str, str | Callable[[re.Match[str]], str]], ...] = (
    (
        r"\b(?:(?:at|in) the (?:very )?(?:start|beginning) or (?:at |in )?the (?:very )?end"
        r"|early (?:on )?or late(?: on)?|earlier or later)\b",
        "in the first half or the second half",
    ),
    (
        r"^which half (?:had|saw|held|contained|was busier with|got) (?:more|the most) (?P<x>.+)$",
        r"were there more \g<x> in the first half or the second half",
    ),
    (
        r"^(?:did|does|was|were) the (?P<a>first|second) half (?:have|contain|see|hold|get) more "
        r"(?P<x>.+?) than the (?P<b>first|second)(?: half| one)?$",
        r"were there more \g<x> in the \g<a> half or the \g<b> half",
    ),
    (
        r"^(?P<q>(?:did|were|was|are|is) (?:there )?more (?:(?! than | or ).)+?) (?P<w>in the "
        r"(?:first|second|last) (?:half|\w+ (?:seconds?|minutes?|hours?)))$",
        lambda m: f"{m.group('q')} {m.group('w')} or {_other_side(m.group('w'))}",
    ),
    (
        r"^did the cameras? see more(?: things)? than the (?:microphones?|mics?) heard$",
        "were there more things seen than sounds heard",
    ),
)
"""Halves and other times weighed, said another way: "which half had more objects", "did
more objects appear in the first half" (than in the second), "more at the start or the
end"."""


def _other_side(said: str) -> str:
    """The time a side named alone is weighed against: the other half, or the rest."""
    if said.endswith("half"):
        return "the first half" if said.endswith("second half") else "the second half"
    return "before" if " last " in said else "after"


_COMPARE_FORMS = (
    (
        r"^(?:were|was|are|is) (?P<a>.+?) outnumbered by (?P<b>.+)$",
        r"were there fewer \g<a> than \g<b>",
    ),
    (
        r"^(?:did|do|does|were|was) (?P<a>.+?) outnumber (?P<b>.+)$",
        r"were there more \g<a> than \g<b>",
    ),
    (
        r"^(?:is|was) the (?:number|count) of (?P<a>.+?) (?:equal to|the same as) the "
        r"(?:number|count) of (?P<b>.+)$",
        r"were there as many \g<a> as \g<b>",
    ),
)
"""Comparisons said another way, and the form the reader knows."""
_COLOUR_FORMS: tuple[tuple[str, str | Callable[[re.Match[str]], str]], ...] = (
    (r"\b(?:shade|hue|tint)(s?)\b", r"colour\1"),
    (
        r"\b(?:predominant|dominant|prevalent|prevailing|commonest|most (?:popular|frequent|usual))"
        r"\b",
        "most common",
    ),
    (
        r"\bthe top (colou?r|kind|type|label|sound|class) (?=among|amongst|for|in|of)\b",
        r"the most common \1 ",
    ),
    (r"^how (was|were|is|are) (.+?) colou?red\b", r"what colour \1 \2"),
    (r"^(?:identify|name|state|find|give) the colou?r\b", "what is the colour"),
    (r"^(?P<x>.+?)[,:] (?:its|their|what) colou?rs?$", r"what colour was \g<x>"),
    (
        r"^(?:what (?:is|was) )?(?:the )?most common (?P<x>[a-z]+ )?colou?r\b",
        lambda m: "what colour was the most common " + (m.group("x") or "thing").strip(),
    ),
)
"""Colour questions said another way: "what shade", "the predominant colour", "the top
colour among cars", "how were the cars coloured", "most common car colour?", "the first
truck: its colour?"."""
_SHAPES = r"(?:square|circle|rectangle|oval|ellipse|triangle|blob|disc|disk|block)"
_SHAPE_NAMED = re.compile(rf"\b(?:(?P<c>{COLOUR_PATTERN})\s+)?(?P<shape>{_SHAPES})(?P<s>s?)\b")
"""'The yellow square' is the yellow thing: no operator records shapes, colours tell things
apart (a shape named alone is refused, `senri.ask.parser`); a blob is any thing."""


def _as_shape(m: re.Match[str]) -> str:
    """A shape with its colour, or a blob, is a thing ("yellow shape"); a bare "square"
    stays, for the parser to refuse."""
    if m.group("c") or m.group("shape") == "blob":
        return " ".join(filter(None, (m.group("c"), "shape" + m.group("s"))))
    return m.group(0)


_TELL_ME = re.compile(
    r"^(?:please |can you |could you )*(?:(?:tell me|state|give me|let me know|report|find out)"
    r"(?P<what> (?:how|what|when|which|where|whether|if)\b)?"
    r"|(?P<check>(?:confirm|verify|check) (?:that|whether|if)|true or false:?|is it true that"
    r"|is it the case that)\b)"
)
"""A request for an answer ('tell me the colour of the first object')."""


def _asked(m: re.Match[str]) -> str:
    """'Tell me how many' asks how many; 'tell me the colour' what the colour is; 'tell me
    whether/if' whether there was."""
    what = (m.group("what") or "").strip()
    if what in ("whether", "if") or m.groupdict().get("check"):  # "confirm that a bus passed"
        return "was there"
    return what or "what is"


_LIST_ME = re.compile(
    r"^(?:please |can you |could you |would you )*(?:print|display|output|summari[sz]e"
    r"|catalog(?:ue)?|provide|break down|dump|pull up|bring up|fetch|retrieve|get me"
    r"|can i (?:get|see|have)"
    r"|i(?: would|'d|d)? (?:like|want|need)(?: to see| to know)?)(?: me| us)?"
    r"(?: (?:a|the) (?:full |complete )?(?:list|breakdown|summary|rundown|overview|record) of)?"
    r"(?P<what> (?:how|what|when|which|where|whether|if)\b)?\s*"
)
"""A request for values ('print the plates', 'i'd like a list of sounds'): a list; one
followed by its question ('i want to know when') is that question."""


def _listed(m: re.Match[str]) -> str:
    """`_LIST_ME` as "list ", or as the question it leads to."""
    return _asked(m) + " " if m.group("what") else "list "


_TAG = re.compile(
    r"^(?!(?:is|was|were|are|did|does|do|has|have|had|how|what|when|which|where|who)\b)"
    r"(?P<x>.+?),? (?:right|correct|true|yes or no|or not|didn't (?:it|they|he|she)"
    r"|wasn't (?:it|there|he|she)|weren't (?:they|there)|isn't it|aren't they|hasn't it)$"
)
"""A statement with a tag ('there was a siren yesterday, right?'): whether it held."""


def _untagged(m: re.Match[str]) -> str:
    """`_TAG` as 'was there …'."""
    return "was there " + re.sub(r"^there (?:was|were|is|are) ", "", m.group("x"))


_WHO = re.compile(
    r"(?:^|(?<=, ))who (?P<verb>(?:was|were|is|are)(?= (?:on|in|at|seen|visible|there|around)\b)"
    r"|appeared|came|arrived|entered|passed|walked|left|showed up)\b"
)
"""'Who was on camera', 'who came first': which people (an identity is not recorded)."""
_TOGETHER_Q = re.compile(
    r"^(?:did|do|does|were|was) (?P<a>.+?) and (?P<b>.+?) (?:(?:ever )?(?:overlap|co-?occur)"
    r"|(?:appear|happen|occur|sound|play|show up|come in)(?:ed)? (?:at the same time|together"
    r"|simultaneously)|(?:on camera |heard )?(?:at the same time|together|simultaneously))$"
)
"""'Did the siren and an utterance overlap': is there one at the same time as the other."""


def _together(m: re.Match[str]) -> str:
    """`_TOGETHER_Q` as 'was there A at the same time as B'; 'a yellow and a blue shape'
    shares its noun."""
    a, b = m.group("a"), m.group("b")
    last = a.split()[-1]
    colour = last in TERMS and TERMS[last].kind == "colour"
    if colour and re.fullmatch(r"(?:(?:a|an|the|any) )?[a-z]+", a) and len(b.split()) >= 2:
        a = f"{a} {b.split()[-1]}"
    return f"was there {a} at the same time as {b}"
