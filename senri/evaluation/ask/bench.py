"""The `ask` benchmark: normalisation, the VQA accuracy rule, the runner and its report.

Each question of `bench/questions.jsonl` is asked of an asker built over a store filled with
the generated archive; its short answer is scored against the oracle's references with the VQA
rule, ``min(#references equal to the answer / 3, 1)``, after both sides are normalised.

Example:
    >>> vqa_accuracy("Three", ["3", "3", "3", "4"])
    1.0
    >>> vqa_accuracy("4", ["3", "3", "3", "4"])
    0.3333333333333333
"""

from __future__ import annotations

import importlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from senri.ask.types import UNANSWERABLE
from senri.evaluation.ask.oracle import Expected, evaluate
from senri.worlds.archive import Archive

QUESTIONS = Path(__file__).with_name("questions.jsonl")
WORLD_QUESTIONS = Path(__file__).with_name("questions_worlds.jsonl")
"""Questions over all three archives, written by someone who had not seen the parser."""
ARCHIVES = ("archive", "demo", "street")
"""The generated four-day archive, and the archives of the two `senri demo` worlds."""
TYPES = (
    "count",
    "exists",
    "list",
    "when",
    "which",
    "colour",
    "distinct",
    "compare",
    "join",
    "refuse",
)
DEFAULT_ASKER = "senri.ask.engine:Asker"
_NUMBERS = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen", "twenty"),
)
_NUMBER = {word: str(i) for i, word in enumerate(_NUMBERS)}
_ARTICLES = {"a", "an", "the"}
_TIME = re.compile(r"(?<=\d):(?=\d)")
_PUNCT = re.compile(r"[^\w\s\x00]")


class AnswerLike(Protocol):
    """What the runner reads from an answer (`senri.ask.types.Answer` has both)."""

    short: str
    refused: bool


class Asker(Protocol):
    def ask(self, question: str) -> AnswerLike: ...


AskerFactory = Callable[..., Asker]
"""Called as ``factory(store, now=archive.now, places=archive.places)``."""


_IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman"}


def singular(word: str) -> str:
    """A plural noun's singular ("cars" → "car", "lorries" → "lorry", "buses" → "bus",
    "people" → "person"); other words as they are. "More cars or trucks?" is answered by
    "cars" as well as by "car"."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> str:
    text = _TIME.sub("\x00", text.lower().replace("_", " "))
    text = _PUNCT.sub(" ", text).replace("\x00", ":")
    words = [singular(_NUMBER.get(w, w)) for w in text.split() if w not in _ARTICLES]
    return " ".join(words)


def normalise(text: str) -> str:
    """Lowercase, drop articles and punctuation (not a time's ":"), number words to digits,
    plural nouns to singular.

    A list ("red, blue and white") becomes its distinct items, sorted, joined by ", ".
    """
    lowered = text.lower().strip()
    if "," in lowered or " and " in f" {lowered} ":
        parts = re.split(r",|\band\b", lowered)
        items = sorted({_words(p) for p in parts} - {""})
        return ", ".join(items)
    return _words(lowered)


def vqa_accuracy(answer: str, references: Iterable[str]) -> float:
    """min(#references equal to `answer` / 3, 1), comparing normalised forms."""
    mine = normalise(answer)
    return min(sum(normalise(r) == mine for r in references) / 3, 1.0)


@dataclass(frozen=True)
class Question:
    """One benchmark question: its text, its type, what it means, and whether the parser's
    author saw it (`seen`)."""

    id: str
    question: str
    type: str
    truth: dict[str, Any]
    seen: bool = False
    answers: tuple[str, ...] = ()
    archive: str = "archive"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Question:
        if d.get("type") not in TYPES:
            raise ValueError(f"question {d.get('id')!r}: type must be one of {TYPES}")
        return cls(
            id=str(d["id"]),
            question=str(d["question"]),
            type=str(d["type"]),
            truth=dict(d["truth"]),
            seen=bool(d.get("seen", False)),
            answers=tuple(str(a) for a in d.get("answers", ())),
            archive=str(d.get("archive", "archive")),
        )


def load_questions(path: str | Path | None = None) -> list[Question]:
    """The questions of a jsonl file (default: both packaged files)."""
    files = [Path(path)] if path is not None else [QUESTIONS, WORLD_QUESTIONS]
    lines = [ln for f in files for ln in f.read_text(encoding="utf-8").splitlines()]
    found = [Question.from_dict(json.loads(line)) for line in lines if line.strip()]
    unknown = {q.archive for q in found} - set(ARCHIVES)
    if unknown:
        raise ValueError(f"questions for unknown archive(s) {sorted(unknown)}; use {ARCHIVES}")
    return found


def expected(question: Question, archive: Archive) -> Expected:
    return evaluate(question.truth, archive.truth, question.answers)


@dataclass(frozen=True)
class Result:
    """How one question went."""

    id: str
    type: str
    question: str
    answer: str
    refused: bool
    accuracy: float
    canonical: str
    references: tuple[str, ...]
    answerable: bool
    seen: bool
    latency_ms: float
    error: str = ""
    sentence: str = ""
    """The answer's sentence (a refusal's reason)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "accuracy": round(self.accuracy, 4),
            "canonical": self.canonical,
            "references": list(self.references),
            "answerable": self.answerable,
            "seen": self.seen,
            "latency_ms": round(self.latency_ms, 3),
            "error": self.error,
            "sentence": self.sentence,
        }


@dataclass(frozen=True)
class Report:
    """The benchmark's figures, and every result behind them."""

    results: tuple[Result, ...]
    by_type: dict[str, tuple[float, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, results: Sequence[Result]) -> Report:
        groups: dict[str, list[float]] = defaultdict(list)
        for r in results:
            groups[r.type].append(r.accuracy)
        by_type = {t: (float(np.mean(groups[t])), len(groups[t])) for t in TYPES if t in groups}
        return cls(tuple(results), by_type)

    @property
    def accuracy(self) -> float:
        return float(np.mean([r.accuracy for r in self.results])) if self.results else 0.0

    def latency(self, pct: float) -> float:
        values = [r.latency_ms for r in self.results]
        return float(np.percentile(values, pct)) if values else 0.0

    @property
    def unanswerable(self) -> int:
        return sum(not r.answerable for r in self.results)

    @property
    def correct_refusals(self) -> int:
        return sum(r.refused and not r.answerable for r in self.results)

    @property
    def wrong_refusals(self) -> int:
        return sum(r.refused and r.answerable for r in self.results)

    @property
    def unseen(self) -> int:
        return sum(not r.seen for r in self.results)

    def lines(self) -> list[str]:
        """The report as plain lines of text."""
        n = len(self.results)
        out = [f"VQA accuracy: {self.accuracy:.3f} over {n} questions"]
        for t, (acc, count) in self.by_type.items():
            out.append(f"  {t:<9} {acc:.3f}  (n={count})")
        out += [
            f"latency: p50 {self.latency(50):.1f} ms, p99 {self.latency(99):.1f} ms",
            f"refusals: {self.correct_refusals}/{self.unanswerable} unanswerable refused; "
            f"{self.wrong_refusals} answerable wrongly refused",
            f"unseen: {self.unseen}/{n} questions never seen while writing the parser",
        ]
        errors = sum(bool(r.error) for r in self.results)
        if errors:
            out.append(f"errors: {errors} questions raised")
        return out


def load_factory(path: str = DEFAULT_ASKER) -> AskerFactory:
    """The asker factory named ``module:attribute`` (imported only when asked for)."""
    module, _, attr = path.partition(":")
    if not module or not attr:
        raise ValueError(f"asker {path!r}: use module:attribute")
    factory: AskerFactory = getattr(importlib.import_module(module), attr)
    return factory


def ask_one(asker: Asker, question: Question, archive: Archive) -> Result:
    """Ask one question, time the call and score the short answer."""
    exp = expected(question, archive)
    error = ""
    began = time.perf_counter()
    try:
        answer = asker.ask(question.question)
        short, refused = str(answer.short), bool(answer.refused)
        sentence = str(getattr(answer, "text", ""))
    except Exception as exc:  # a crash on one question scores 0, it does not stop the bench
        short, refused, error, sentence = "", False, f"{type(exc).__name__}: {exc}", ""
    latency = (time.perf_counter() - began) * 1000
    refused = refused or normalise(short) == UNANSWERABLE
    return Result(
        id=question.id,
        type=question.type,
        question=question.question,
        answer=short,
        refused=refused,
        accuracy=vqa_accuracy(short, exp.references) if not error else 0.0,
        canonical=exp.canonical,
        references=exp.references,
        answerable=exp.answerable,
        seen=question.seen,
        latency_ms=latency,
        error=error,
        sentence=sentence,
    )


def run(
    questions: Sequence[Question],
    archive: Archive,
    store: Any,
    factory: AskerFactory | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> Report:
    """Ask every question of an asker over `store` (already holding `archive`) and score them."""
    make = factory or load_factory()
    asker = make(store, now=archive.now, places=dict(archive.places))
    results = []
    for question in questions:
        result = ask_one(asker, question, archive)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return Report.of(results)


def write_results(report: Report, path: str | Path) -> None:
    """Per-question results as JSON."""
    payload = {
        "accuracy": report.accuracy,
        "by_type": {t: {"accuracy": a, "count": n} for t, (a, n) in report.by_type.items()},
        "latency_ms": {"p50": report.latency(50), "p99": report.latency(99)},
        "results": [r.to_dict() for r in report.results],
    }
    Path(path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
