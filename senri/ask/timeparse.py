"""Relative and absolute times in questions, resolved against the archive's clock.

`find_window(text, now)` finds the time expressions of a question and returns the window
they name (days in the site's time zone, UTC unless given; `now` is the archive's clock,
normally its latest event) and the text
with them cut out, so later rules do not read "10" in "after 10 am" as a camera number.

Understood: today, yesterday, the day before yesterday, weekday names (the latest such day
up to today), dates ("25 November", "Nov 25", "2026-11-25"), parts of a day (this morning
06-12, afternoon 12-18, evening 18-24, last night yesterday 18:00 to today 06:00), "in the
last/past/final N seconds|minutes|hours|days", "the first/opening/initial N ..." of the
recording, "the last hour", "after/since 10 am", "before 8", "until
noon", "between 9 and 11", "from 9 to 11", "at 10:05" (that minute) and "at 10" (that hour).
An hour from 1 to 5 without am/pm is afternoon (activity is daytime). A time of day with no
day means today, unless that is still in the future, then yesterday. Expressions about the
future (tomorrow, next week) are reported so the question can be refused.

Example:
    >>> now = 1_795_802_400.0  # 2026-11-27 18:00 UTC
    >>> w = find_window("red cars after 10 am yesterday", now)
    >>> w.window.describe(), w.rest
    ('2026-11-26 10:00 to 2026-11-27 00:00', 'red cars')
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

UTC = dt.UTC
DAY = 86_400.0
PARTS = {
    "morning": (6, 12),
    "afternoon": (12, 18),
    "evening": (18, 24),
    "night": (18, 24),
    "tonight": (18, 24),
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-five": 45, "a": 1, "an": 1, "half": 0.5,
}  # fmt: skip
UNITS = {
    "second": 1.0,
    "sec": 1.0,
    "minute": 60.0,
    "min": 60.0,
    "hour": 3600.0,
    "hr": 3600.0,
    "day": DAY,
    "week": 7 * DAY,
}


@dataclass(frozen=True)
class Window:
    """A half-open interval of epoch seconds; either end may be open. A `moment` ("at
    10:00:09", that second, minute or hour) asks what was going on then: a sound or an
    utterance that began before it and still lasted is in it too."""

    start: float | None = None
    end: float | None = None
    moment: bool = False

    def describe(self, tz: dt.tzinfo = UTC) -> str:
        ends = [t for t in (self.start, self.end) if t is not None]
        # to the second when a minute would hide it ("10:00:00 to 10:00:10")
        exact = any(t % 60 for t in ends)
        form = "%Y-%m-%d %H:%M:%S" if exact else "%Y-%m-%d %H:%M"

        def fmt(t: float) -> str:
            return dt.datetime.fromtimestamp(t, tz).strftime(form)

        if self.start is not None and self.end is not None:
            same_day = fmt(self.start)[:10] == fmt(self.end)[:10]
            if same_day and fmt(self.start)[11:] in ("00:00", "00:00:00"):
                return f"{fmt(self.end)[:10]} before {fmt(self.end)[11:]}"  # "before 10:00:05"
            return f"{fmt(self.start)} to {fmt(self.end)[11:] if same_day else fmt(self.end)}"
        if self.start is not None:
            return f"after {fmt(self.start)}"
        if self.end is not None:
            return f"before {fmt(self.end)}"
        return "all time"

    def intersect(self, other: Window) -> Window:
        starts = [t for t in (self.start, other.start) if t is not None]
        ends = [t for t in (self.end, other.end) if t is not None]
        return Window(
            max(starts) if starts else None,
            min(ends) if ends else None,
            self.moment or other.moment,
        )


@dataclass(frozen=True)
class Found:
    """What `find_window` read: the window (None: no time said), the rest of the text."""

    window: Window | None
    rest: str
    future: str | None = None
    """The phrase that points after the archive's clock ("tomorrow"), if any."""


_OF_RECORDING = r"(?: of (?:the )?(?:recording|clip|video|footage|archive|audio))?"
MIDDLE = 1.0
"""'In the middle of the recording': the seconds either side of its midpoint."""

_HOUR = (
    r"(?P<{n}h>\d{{1,2}}|noon|midday|midnight)(?::(?P<{n}m>\d{{2}})(?::(?P<{n}s>\d{{2}}))?)?"
    r"\s*(?P<{n}ap>a\.?m\.?|p\.?m\.?|o'?clock)?"
)


def _hour_re(name: str) -> str:
    return _HOUR.format(n=name)


_NUM = r"(?P<n>\d+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_UNIT = r"(?P<u>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)"
_DAYWORD = (
    r"(?P<day>the day before yesterday|yesterday|today|"
    + "|".join(WEEKDAYS)
    + r"|\d{4}-\d{2}-\d{2}"
    + r"|(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:"
    + "|".join(m[:3] + r"[a-z]*" for m in MONTHS)
    + r"))|(?:(?:"
    + "|".join(m[:3] + r"[a-z]*" for m in MONTHS)
    + r")\.?\s+\d{1,2}(?:st|nd|rd|th)?))"
)
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rx, re.IGNORECASE))
    for name, rx in (
        ("future", r"\b(?:tomorrow|next (?:week|month|hour|year)|in the future|later today)\b"),
        (
            "last",
            r"\b(?:in |during |over |within )?(?:the )?(?:last|past|previous|final|closing)\s+"
            + _NUM
            + r"?\s*"
            + _UNIT
            + r"\b",
        ),
        (
            "between",
            r"\b(?:between|from)\s+" + _hour_re("a") + r"\s+(?:and|to|until|till|-)\s+"
            r"" + _hour_re("b"),
        ),
        (
            "first",
            r"\b(?:in |during |over |within )?(?:the )?(?:first|opening|initial)\s+"
            + _NUM
            + r"?\s*"
            + _UNIT
            + r"\b",
        ),
        ("half", r"\b(?:in |during )?the (?P<half>first|second|last|latter) half\b"),
        ("middle", r"\b(?:in|at|around|during) the (?:very )?middle" + _OF_RECORDING + r"\b"),
        ("lastnight", r"\b(?:last night|overnight)\b"),
        ("calendar", r"\b(?P<which>last|this|previous)\s+(?P<cal>month|year)\b"),
        (
            "part",
            r"\b(?:(?:this|in the|during the|that|on the)\s+)?"
            r"(?P<p>morning|afternoon|evening|tonight|night)\b",
        ),
        ("after", r"\b(?:after|since|from|later than)\s+" + _hour_re("a")),
        ("before", r"\b(?:before|until|till|up to|earlier than|by)\s+" + _hour_re("a")),
        ("at", r"\b(?:at|around|about)\s+" + _hour_re("a")),
        ("day", r"\b(?:on\s+|this\s+|last\s+)?" + _DAYWORD + r"\b"),
        ("ever", r"\b(?:ever|so far|in the archive|all day|at any time|at all)\b"),
    )
)


def _calendar(m: re.Match[str], now: float, tz: dt.tzinfo) -> Window:
    """This or last calendar month or year, in the site's zone."""
    today = _date(now, tz)
    back = m.group("which").lower() != "this"
    if m.group("cal").lower() == "year":
        year = today.year - back
        return Window(_at(dt.date(year, 1, 1), tz), _at(dt.date(year + 1, 1, 1), tz))
    month = today.month - 1 - back  # months since year 0 of the month meant, 0-based
    first = dt.date(today.year + month // 12, month % 12 + 1, 1)
    after = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return Window(_at(first, tz), _at(after, tz))


def _hour(m: re.Match[str], n: str) -> tuple[int, int] | None:
    """(hour, minute) of a matched time of day; None if it does not look like one (its
    seconds, "10:00:05", are `_second`)."""
    raw = (m.group(f"{n}h") or "").lower()
    if raw in ("noon", "midday"):
        return 12, 0
    if raw == "midnight":
        return 0, 0
    hour = int(raw)
    minute = int(m.group(f"{n}m") or 0)
    ap = (m.group(f"{n}ap") or "").lower().replace(".", "")
    if hour > 23 or minute > 59:
        return None
    if ap.startswith("p") and hour < 12:
        hour += 12
    elif ap.startswith("a") and hour == 12:
        hour = 0
    elif not ap and m.group(f"{n}m") is None and 1 <= hour <= 5:
        hour += 12
    return hour, minute


def _second(m: re.Match[str], n: str) -> int:
    sec = int(m.group(f"{n}s") or 0)
    return sec if sec < 60 else 0


def _date(t: float, tz: dt.tzinfo) -> dt.date:
    return dt.datetime.fromtimestamp(t, tz).date()


def _at(day: dt.date, tz: dt.tzinfo, hours: float = 0.0, minutes: float = 0.0) -> float:
    """Epoch seconds of a wall-clock time on `day` in `tz` (hours may run past 24)."""
    whole = int(hours // 24)
    moment = dt.datetime.combine(day + dt.timedelta(days=whole), dt.time(), tzinfo=tz)
    wall = moment + dt.timedelta(hours=hours - 24 * whole, minutes=minutes)
    # timedelta arithmetic on an aware datetime is wall-clock arithmetic: DST days keep 06:00
    return wall.timestamp()


def _day_start(text: str, now: float, tz: dt.tzinfo) -> dt.date | None:
    """The day a day word names, relative to `now` in `tz`."""
    today = _date(now, tz)
    word = text.lower().strip()
    if word == "today":
        return today
    if word == "yesterday":
        return today - dt.timedelta(days=1)
    if word == "the day before yesterday":
        return today - dt.timedelta(days=2)
    if word in WEEKDAYS:
        return today - dt.timedelta(days=(today.weekday() - WEEKDAYS.index(word)) % 7)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        try:
            return dt.date.fromisoformat(word)
        except ValueError:
            return None
    digits = re.search(r"\d{1,2}", word)
    month = next((i for i, m in enumerate(MONTHS, 1) if re.search(r"\b" + m[:3], word)), None)
    if digits is None or month is None:
        return None
    try:
        day = dt.date(today.year, month, int(digits.group()))
        return day if day <= today else dt.date(today.year - 1, month, int(digits.group()))
    except ValueError:
        return None


def find_window(text: str, now: float, tz: dt.tzinfo = UTC, start: float | None = None) -> Found:
    """The time window a question names (None if it names none) and the rest of the text.

    Days and times of day are read in `tz` (the site's time zone; UTC by default); "in the
    first N minutes" counts from `start`, the archive's first moment (ignored without it)."""
    rest = text
    spans: dict[str, re.Match[str]] = {}
    for name, rx in PATTERNS:
        m = rx.search(rest)
        if m is None:
            continue
        if name in ("after", "before", "at") and _hour(m, "a") is None:
            continue
        if name in ("after", "before", "at") and not _looks_like_time(m):
            continue
        spans[name] = m
        rest = rest[: m.start()] + " " + rest[m.end() :]
    rest = re.sub(r"\s+", " ", rest).strip(" ,")
    future = spans["future"].group(0) if "future" in spans else None
    window = _resolve(spans, now, tz, start)
    return Found(window, rest, future)


def _looks_like_time(m: re.Match[str]) -> bool:
    """'at 10' is a time, 'at 3 cameras' is not: a bare number must stand alone."""
    if m.group("am") or m.group("aap") or m.group("ah").lower() in ("noon", "midday", "midnight"):
        return True
    tail = m.string[m.end() :].lstrip().lower()
    return not re.match(
        r"(?:cams?|cameras?|mics?|microphones?|people|cars?|persons?|times?|of)\b", tail
    )


def _length(m: re.Match[str]) -> float:
    """Seconds of a matched "N units" ("the last 10 minutes", "the first hour")."""
    raw = (m.group("n") or "1").lower()
    n = float(raw) if raw.isdigit() else float(NUMBER_WORDS.get(raw, 1))
    unit = m.group("u").lower().rstrip("s")
    return n * UNITS.get(unit, UNITS.get(unit[:3], 3600.0))


def _resolve(
    spans: dict[str, re.Match[str]], now: float, tz: dt.tzinfo, start: float | None = None
) -> Window | None:
    keys: tuple[str, ...] = ("last", "first", "half", "between", "lastnight", "part", "after")
    keys += ("before", "at", "day", "ever", "calendar", "middle")
    if not any(k in spans for k in keys):
        return None
    if "calendar" in spans:  # "last month": the calendar month before this one
        return _calendar(spans["calendar"], now, tz)
    if "last" in spans:
        return Window(now - _length(spans["last"]), now)
    if "first" in spans and start is not None:
        return Window(start, start + _length(spans["first"]))
    if "middle" in spans and start is not None:  # "in the middle": around its midpoint
        middle = (start + now) / 2
        return Window(middle - MIDDLE, middle + MIDDLE, moment=True)
    if "half" in spans and start is not None:  # of the archive: "in the second half"
        middle = (start + now) / 2
        early = spans["half"].group("half") == "first"
        return Window(start, middle) if early else Window(middle, now)
    today = _date(now, tz)
    if "lastnight" in spans:
        return Window(_at(today - dt.timedelta(days=1), tz, 18), _at(today, tz, 6))
    named = _day_start(spans["day"].group("day"), now, tz) if "day" in spans else None
    day = named or today
    window = Window(_at(day, tz), _at(day, tz, 24)) if named else None
    if "part" in spans:
        lo, hi = PARTS[spans["part"].group("p").lower()]
        part = Window(_at(day, tz, lo), _at(day, tz, hi))
        window = part if window is None else window.intersect(part)
    clock = _clock_window(spans, day, tz)
    if clock is not None:
        loose = named is None and "part" not in spans
        first = clock.start
        if (
            loose
            and start is not None
            and first is not None
            and first < start
            and _from_zero(spans)
        ):
            # "at 00:00:10" of a clip that began at 10:00: 10 s in, as a player shows it
            shift = start - _at(day, tz)
            end = None if clock.end is None else min(clock.end + shift, now)
            return Window(first + shift, end, moment=clock.moment)
        if loose and clock.start is not None and clock.start > now + 60:
            # "at 8" when it is 07:00: yesterday's (a time within the archive's last minute,
            # "after 10:00:19" when it ends at 10:00:18, is still today's)
            return _clock_window(spans, day - dt.timedelta(days=1), tz)
        if loose:
            return clock
        window = clock if window is None else window.intersect(clock)
    if window is None and "ever" in spans:
        return Window(None, None)
    return window


def _from_zero(spans: dict[str, re.Match[str]]) -> bool:
    """Whether every clock time said is "00:MM:SS" (or "0:MM:SS"): a place in the
    recording, as a video player shows it, rather than just after midnight."""
    said = [
        (m, n)
        for name, m in spans.items()
        if name in ("after", "before", "at", "between")
        for n in ("a", "b")
        if f"{n}h" in m.re.groupindex and m.group(f"{n}h")
    ]
    return bool(said) and all(
        m.group(f"{n}h") in ("0", "00") and m.group(f"{n}s") is not None for m, n in said
    )


def _clock_window(spans: dict[str, re.Match[str]], day: dt.date, tz: dt.tzinfo) -> Window | None:
    def at(m: re.Match[str], n: str) -> float:
        hm = _hour(m, n)
        assert hm is not None
        return _at(day, tz, hm[0], hm[1]) + _second(m, n)

    if "between" in spans:
        m = spans["between"]
        if _hour(m, "a") is None or _hour(m, "b") is None:
            return None
        a, b = at(m, "a"), at(m, "b")
        if b <= a:  # "between 9 and 11" read 11 as 11 am; "between 11 and 1" wraps to pm
            b += 12 * 3600 if b + 12 * 3600 > a else DAY
        return Window(a, b)
    if "after" in spans and "before" in spans:
        return Window(at(spans["after"], "a"), at(spans["before"], "a"))
    if "after" in spans:
        return Window(at(spans["after"], "a"), _at(day, tz, 24))
    if "before" in spans:
        return Window(_at(day, tz), at(spans["before"], "a"))
    if "at" in spans:
        m = spans["at"]
        t = at(m, "a")
        span = 1.0 if m.group("as") else 60.0 if m.group("am") else 3600.0
        return Window(t, t + span, moment=True)
    return None


def window_label(window: Window | None, tz: dt.tzinfo = dt.UTC) -> str:
    return (
        ""
        if window is None or (window.start is None and window.end is None)
        else " " + window.describe(tz)
    )
