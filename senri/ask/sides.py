"""The two sides of a comparison: "more red cars or blue ones", "more in the first 5
seconds or after", "more on camera 1 than camera 2", "were more dogs heard or seen".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from senri.ask.directory import Directory, find_streams, unplaced
from senri.ask.plan import Condition, Plan, Refusal, Subject
from senri.ask.subject import find_terms, read_subject
from senri.ask.timeparse import Window, find_window
from senri.ask.vocab import Vocabulary

_SIDES = r"\s(?:than|or|versus|vs\.?|compared (?:to|with))\s"
"""What separates the two sides of a comparison."""


_HEARD_AS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("dog",): ("dog_bark",),
    (): (),  # "were more things heard or seen": any sound against any thing
}
"""What a thing on camera sounds like, for "were more dogs heard or seen"."""


def read_comparison(plan: Plan, text: str, vocab: Vocabulary, directory: Directory) -> Plan:
    """Two things to weigh: kinds ("cars or trucks"), colours ("red or blue cars"), what people
    carry ("backpacks or umbrellas"), or streams and places ("cam1 or the car park")."""
    parts = re.split(_SIDES, text, maxsplit=1)
    if len(parts) == 2:
        left, right = find_streams(parts[0], directory), find_streams(parts[1], directory)
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
    terms, _ = find_terms(unplaced(text, directory), vocab)
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
        left = read_subject(unplaced(parts[0], directory), kind, vocab)[0]
        right = read_subject(unplaced(parts[1], directory), kind, vocab)[0]
    except Refusal:
        return None
    return (left, right) if left.kind != right.kind else None


def compared_windows(
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
        rest = r"|(?:in |during )?the (?:rest|remainder|remaining time)(?: of (?:the )?\w+)?"
        if re.fullmatch(r"(?:after|afterwards|later)(?: that| then)?" + rest, right) and a.end:
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
