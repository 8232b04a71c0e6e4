"""What words in questions mean in senri's archive: labels, sounds, colours, attributes.

Two layers. A table of words people use (`TERMS`: "lorry" is a truck, "ambulance" a siren,
"rucksack" a backpack) is read first, so common wording is exact and fast. A word the table
does not know is compared with every term through sentence embeddings (`TextEmbedder`:
all-MiniLM-L6-v2 from the registry's ``text/minilm``, run by `senri.ask.minilm`) and taken
when it is close enough (`SIMILAR`), so "canine" finds dog and "coupe" finds car without a
table entry.
Words that resemble nothing are left alone: the parser refuses rather than guesses.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from senri import config
from senri.operators.colour import COLOURS

VEHICLES = ("car", "truck", "bus", "motorcycle")
ANIMALS = ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe")
"""The COCO detector's animals: what "animals" asks about."""
SOUNDS = (
    "siren", "dog_bark", "car_horn", "children_playing", "street_music", "drilling",
    "engine_idling", "jackhammer", "gun_shot", "air_conditioner",
)  # fmt: skip
PERSON_FLAGS = ("backpack", "handbag", "suitcase", "umbrella", "phone", "riding")
SIMILAR = 0.7
"""Cosine similarity above which an unknown word is read as a term."""


@dataclass(frozen=True)
class Term:
    """One meaning: a label of some event kind, an attribute value, or a group of labels."""

    kind: str  # object | sound | speech | text | face | colour | flag | plate
    value: str  # label, colour name or attribute name
    labels: tuple[str, ...] = ()  # for groups ("vehicles"): the labels it covers


def _t(kind: str, value: str, *labels: str) -> Term:
    return Term(kind, value, labels or ((value,) if kind in ("object", "sound") else ()))


_OBJECT_WORDS = {
    "person": "person people persons pedestrian pedestrians individual individuals anyone "
    "anybody someone somebody man men woman women folks folk visitor visitors guy guys "
    "human humans worker workers passerby passersby child children kid kids walker walkers "
    "toddler toddlers infant infants baby babies lady ladies gentleman gentlemen teenager "
    "teenagers student students adult adults shopper shoppers staff employee employees "
    "courier couriers jogger joggers runner runners commuter commuters "
    "resident residents customer customers footfall",
    "car": "car cars automobile automobiles sedan sedans auto autos hatchback hatchbacks taxi "
    "taxis saloon saloons suv suvs minivan minivans jeep jeeps coupe coupes convertible "
    "convertibles limousine limousines limo cab cabs",
    "truck": "truck trucks lorry lorries van vans pickup pickups hgv hgvs semi semis firetruck "
    "tanker tankers",
    "bus": "bus buses busses coach coaches minibus",
    "motorcycle": "motorcycle motorcycles motorbike motorbikes scooter scooters moped mopeds",
    "bicycle": "bicycle bicycles bike bikes cycle cycles cyclist cyclists pushbike",
    "dog": "dog dogs puppy puppies hound hounds",
    "cat": "cat cats kitten kittens",
    "horse": "horse horses pony ponies",
    "bird": "bird birds pigeon pigeons",
}
_SOUND_WORDS = {
    "siren": "siren sirens ambulance ambulances alarm alarms",
    "dog_bark": "bark barks barking barked",
    "car_horn": "horn horns honk honks honking honked hooting hooter hooters beeping",
    "street_music": "music busker buskers band",
    "drilling": "drill drills drilling",
    "engine_idling": "idling",
    "jackhammer": "jackhammer jackhammers",
    "gun_shot": "gunshot gunshots gunfire shot shots gun guns",
    "air_conditioner": "conditioner conditioning aircon",
}
_PHRASES: dict[str, Term] = {
    "dog barking": _t("sound", "dog_bark"),
    "dogs barking": _t("sound", "dog_bark"),
    "car horn": _t("sound", "car_horn"),
    "car horns": _t("sound", "car_horn"),
    "children playing": _t("sound", "children_playing"),
    "kids playing": _t("sound", "children_playing"),
    "street music": _t("sound", "street_music"),
    "engine idling": _t("sound", "engine_idling"),
    "idling engine": _t("sound", "engine_idling"),
    "gun shot": _t("sound", "gun_shot"),
    "air conditioner": _t("sound", "air_conditioner"),
    "air conditioning": _t("sound", "air_conditioner"),
    "pneumatic drill": _t("sound", "jackhammer"),
    "fire engine": _t("sound", "siren"),
    "police car": _t("sound", "siren"),
    "number plate": _t("plate", "plate"),
    "licence plate": _t("plate", "plate"),
    "license plate": _t("plate", "plate"),
    "registration number": _t("plate", "plate"),
    "mobile phone": _t("flag", "phone"),
    "cell phone": _t("flag", "phone"),
}
SAID_OTHERWISE = (
    (
        r"\bfir(?:e|ed|es|ing) (?:a |the |off )?(?:guns?|shots?|weapons?|rifles?|pistols?)\b",
        "gunshot",
    ),
    (r"\bconstruction (?:noise|work|sounds?)\b", "drilling or jackhammer"),
    (r"\broad ?works\b|\bpower tools?\b", "drilling or jackhammer"),
    (r"\bplayground (?:noise|sounds?)\b", "children playing"),
    (r"\bengines? (?:running|ticking over|left running|left on)\b|\brunning engines?\b", "idling"),
    (r"\b(?:ac|a/c|air con) units?\b", "aircon"),
    (r"\bhammering\b", "jackhammer"),
    (r"\bemergency (?:vehicles?|services)\b", "siren"),
    (r"\bair con\b", "aircon"),
)
"""Phrases read as the sound or thing they mean ('construction noise' is drilling or a
jackhammer; an emergency vehicle is known by its siren), before any word is looked up."""
_VEHICLE_GROUP = "vehicle vehicles traffic driver drivers motorist motorists"
_ANIMAL_GROUP = "animal animals creature creatures wildlife livestock"
_COLOUR_WORDS = {
    "red": "red crimson scarlet maroon burgundy",
    "orange": "orange amber",
    "yellow": "yellow gold golden",
    "green": "green olive lime",
    "cyan": "cyan turquoise teal",
    "blue": "blue navy",
    "purple": "purple violet lilac",
    "pink": "pink magenta",
    "black": "black dark",
    "white": "white cream",
    "grey": "grey gray silver",
}
_FLAG_WORDS = {
    "backpack": "backpack backpacks rucksack rucksacks knapsack",
    "handbag": "handbag handbags purse purses bag bags",
    "suitcase": "suitcase suitcases luggage trolley",
    "umbrella": "umbrella umbrellas brolly",
    "phone": "phone phones mobile mobiles cellphone smartphone texting",
    "riding": "riding rider riders ride rode",
}


def _build_terms() -> dict[str, Term]:
    terms: dict[str, Term] = {}
    for label, words in _OBJECT_WORDS.items():
        for w in words.split():
            terms[w] = _t("object", label)
    for w in _VEHICLE_GROUP.split():
        terms[w] = Term("object", "vehicle", VEHICLES)
    for w in _ANIMAL_GROUP.split():
        terms[w] = Term("object", "animal", ANIMALS)
    for label, words in _SOUND_WORDS.items():
        for w in words.split():
            terms[w] = _t("sound", label)
    for colour, words in _COLOUR_WORDS.items():
        if colour in COLOURS:
            for w in words.split():
                terms[w] = Term("colour", colour)
    for flag, words in _FLAG_WORDS.items():
        for w in words.split():
            terms[w] = Term("flag", flag)
    for w in ("plate", "plates", "registration", "registrations", "reg"):
        terms[w] = Term("plate", "plate")
    for w in ("face", "faces"):
        terms[w] = Term("face", "face", ("face",))
    terms.update(_PHRASES)
    return terms


TERMS: dict[str, Term] = _build_terms()
COLOUR_PATTERN = "|".join(sorted(w for w, t in TERMS.items() if t.kind == "colour" and w != "dark"))
"""A regex alternation of the words that name a colour ("dark" alone names none)."""
_DESCRIPTIONS: dict[Term, str] = {}
for _label in _OBJECT_WORDS:
    _DESCRIPTIONS[_t("object", _label)] = _label
for _label in SOUNDS:
    _DESCRIPTIONS[_t("sound", _label)] = _label.replace("_", " ")
for _colour in COLOURS:
    _DESCRIPTIONS[Term("colour", _colour)] = f"{_colour} colour"
for _flag in PERSON_FLAGS:
    _DESCRIPTIONS[Term("flag", _flag)] = _flag
_DESCRIPTIONS[Term("object", "vehicle", VEHICLES)] = "vehicle"
_DESCRIPTIONS[Term("object", "animal", ANIMALS)] = "animal"

STOPWORDS = frozenset(
    """a an the of on in at to by for from with without and or but is was were are be been
    being do did does done has have had how many much what which when where who whom whose why
    there their them they it its this that these those any anything some every each all
    camera cameras cam cams mic mics microphone microphones stream streams near around about
    passed pass passing went go going came come seen see saw spotted detected appear appeared
    record recorded show shown count number total times time please tell me us i we you
    heard hear hearing sound sounded sounds noise noises was there ever than more fewer less
    most least same different distinct kinds kind types type colour colours color colors
    carrying carried wearing wore dressed holding using used talking said say says spoke
    morning afternoon evening night today yesterday hour hours minute minutes day days
    between after before since until last past first latest earliest did anyone someone
    also just only still yet again often frequently overall altogether so not no yes""".split()  # noqa: SIM905
)


class TextEmbedder:
    """Sentence embeddings from the registry's ``text/minilm`` (all-MiniLM-L6-v2, NumPy)."""

    def __init__(self, model: Any, fingerprint: str = "") -> None:
        self._model = model
        self._lock = threading.Lock()
        self.fingerprint = fingerprint
        """Identifies the weights, so cached embeddings of another model are never used."""

    @classmethod
    def load(cls, *, fetch: bool = False) -> TextEmbedder:
        from senri.ask.minilm import MiniLM
        from senri.models.registry import card, resolve

        path = resolve("text/minilm", fetch_missing=fetch)
        return cls(MiniLM.load(path), f"{card('text/minilm').source.sha256}:{path}")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text."""
        with self._lock:
            return np.asarray(self._model.encode(list(texts)), dtype=np.float32)


class Vocabulary:
    """Looks words up in `TERMS`, then (with an embedder) by meaning."""

    def __init__(self, embedder: TextEmbedder | None = None) -> None:
        self.embedder = embedder
        self._keys = list(TERMS) + [d for d in _DESCRIPTIONS.values() if d not in TERMS]
        self._meanings = [TERMS.get(k) or _by_description(k) for k in self._keys]
        self._matrix: np.ndarray | None = None
        self._cache: dict[str, tuple[Term, float] | None] = {}
        self._lock = threading.Lock()
        self.own: dict[str, Term] = {}
        """Words for the labels an archive holds that the table lacks ("beeps"), first."""

    def term(self, word: str) -> Term | None:
        """The term a word (or two words) stands for: the archive's own labels, then `TERMS`."""
        return self.own.get(word) or TERMS.get(word)

    def with_labels(self, kind: str, labels: Iterable[str]) -> Vocabulary:
        """This vocabulary (sharing its embeddings and cache) that also knows `labels` of
        `kind` by name, singular, plural and -ing form: a site's "beeps" is "a beep"."""
        own: dict[str, Term] = {}
        for label in labels:
            name = label.lower().replace("_", " ").strip()
            if not name or len(name.split()) > 2 or not re.fullmatch(r"[a-z][a-z' -]*", name):
                continue
            stem = name[:-1] if name.endswith("s") and not name.endswith("ss") else name
            for form in (name, stem, stem + "s", stem + "ing"):
                own.setdefault(form, Term(kind, label, (label,)))
        view = copy.copy(self)
        view.own = own
        return view

    def warm(self) -> None:
        """Embed the vocabulary now rather than on the first unknown word."""
        if self.embedder is not None:
            with self._lock:
                self._terms_matrix()

    def _terms_matrix(self) -> np.ndarray:
        """The vocabulary's embeddings: from the cache file, or computed (0.7 s) and saved."""
        if self._matrix is not None:
            return self._matrix
        assert self.embedder is not None
        key = hashlib.blake2b(
            "\n".join([self.embedder.fingerprint, *self._keys]).encode(), digest_size=10
        ).hexdigest()
        path = config.cache() / "ask" / f"terms-{key}.npy"
        try:
            matrix = np.load(path)
            if matrix.shape[0] != len(self._keys):
                raise ValueError("stale")
        except (OSError, ValueError):
            matrix = self.embedder.encode(self._keys)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(tmp, matrix)
                tmp.replace(path)
            except OSError:
                pass  # a read-only cache only costs the 0.7 s again
        self._matrix = matrix
        return matrix

    def nearest(self, words: Iterable[str]) -> dict[str, tuple[Term, float]]:
        """Unknown words (not stopwords) that mean a term, with their similarity."""
        todo = [
            w for w in dict.fromkeys(words) if _content(w) and w not in TERMS and w not in self.own
        ]
        if self.embedder is None or not todo:
            return {}
        with self._lock:
            matrix = self._terms_matrix()
            fresh = [w for w in todo if w not in self._cache]
            if fresh:
                sims = self.embedder.encode(fresh) @ matrix.T
                for w, row in zip(fresh, sims, strict=True):
                    best = int(np.argmax(row))
                    ok = float(row[best]) >= SIMILAR
                    self._cache[w] = (self._meanings[best], float(row[best])) if ok else None
            found = {w: self._cache[w] for w in todo}
        return {w: hit for w, hit in found.items() if hit is not None}


def _by_description(text: str) -> Term:
    return next(t for t, d in _DESCRIPTIONS.items() if d == text)


def _content(word: str) -> bool:
    return (
        len(word) > 2 and word not in STOPWORDS and re.fullmatch(r"[a-z][a-z'-]*", word) is not None
    )


def plural(label: str, n: int = 2) -> str:
    """How an answer names `n` of a label: 1 car, 2 cars, 3 people, 2 buses."""
    word = label.replace("_", " ")
    for joint in (" riding", " with ", " about ", ' "'):  # 'utterances "a dog"'
        head, sep, tail = word.partition(joint)
        if sep:
            return plural(head, n) + sep + tail
    if n == 1:
        return word
    irregular = {"person": "people", "bus": "buses", "child": "children", "dog bark": "dog barks"}
    if word.endswith(("ing", "music")):  # "children playing", "drilling", "street music"
        return word
    return irregular.get(word, word + "s")
