"""Word forms the parser and the subject reader share: verbs of seeing and arriving,
clothing words, "which camera" forms, and the fields an answer reads off an occurrence
(its day, hour, kind of thing, what a person carried).
"""

from __future__ import annotations

from senri.ask.vocab import PERSON_FLAGS

UPPER_WORDS = (
    r"top|tops|shirt|shirts|t-shirt|jacket|jackets|coat|coats|hoodie|hoodies|jumper|jumpers"
    r"|sweater|sweaters|blouse|vest|hi-vis|jersey|dress|uniform|clothes|clothing|upper"
)
LOWER_WORDS = r"trousers|pants|jeans|shorts|skirt|skirts|leggings|bottoms|lower"
SEEN = (
    r"\b(?:seen|saw|see|sees|visible|view|passed|pass|passing|crossed|walked|walking|drove|"
    r"driving|parked|spotted|detected|appear|appeared|camera|cam|on screen|in shot)\b"
)
ASKS_WHERE = (
    r"\b(?:which|what|many|different|distinct)\s+(?:\w+\s+)?(?:cameras?|cams?|streams?|mics?"
    r"|microphones?|places?|locations?)\b(?!\s*(?:#|no\.?|number)?\s*(?:\d|one|two|three|four|five"
    r"|six|seven|eight|nine|ten)\b)|\bwhere\b|\bon which\b"
    r"|\b(?:list|name)\s+(?:\w+\s+)?(?:cameras|streams|mics|microphones|places|locations)\b"
)
TOPIC = (
    r"\b(?:mention(?:ed|ing|s)?|discuss(?:ed|ing)?|(?:talk|talked|talking|spoke|speak|said|say"
    r"|saying|announce|announced) about|brought up)\b"
    r"|\bthe words? [a-z]+ (?:was |were )?(?:said|spoken|heard|used|uttered)\b"
)
COLOURED_ONE = r"\b(?:the|a|an|that|this|those|these)\s+[a-z]+\s+ones?\b"
"""'The purple one': a thing of that colour, as the question's other things are."""
GENERIC = (
    r"\b(?:activity|anything|something|objects?|things?|shapes?|items?|movement|motion"
    r"|happen|happened|appear|appears|appeared|arrivals?|visits?"
    r"|happening|detections?|events?|going on|busy|busier|busiest|quiet|quieter|quietest"
    r"|on camera|on screen|in view|in shot)\b"
)
ARRIVE = (
    r"\b(?:appear|appeared|appears|appearing|enter|entered|enters|arrive|arrived|arrives|came"
    r"|come|comes|showed up|shows up|show up|turned up|new|began|started)\b"
)
"""Verbs of arriving: with a time window, they ask what began in it."""
DAY_FIELD, HOUR_FIELD, THING_FIELD = "@day", "@hour", "@thing"
CARRIED_FIELD = "@carried"
"""'What were people carrying': the person flags that are things carried, each a value."""
CARRIED = tuple(f for f in PERSON_FLAGS if f != "riding")
CARRYING = r"\b(?:carr(?:y|ies|ied|ying)|holding|held|hold)\b"
CARRIED_NAMED = r"\b(?:backpacks?|rucksacks?|handbags?|bags?|purses?|suitcases?|luggage"
CARRIED_NAMED += r"|umbrellas?|phones?|mobiles?)\b"
