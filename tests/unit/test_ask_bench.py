"""The `ask` benchmark: its questions, the VQA scorer, the runner and `senri eval ask`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from senri.evaluation.ask import bench
from senri.evaluation.ask.cli import eval_app
from senri.evaluation.ask.oracle import OPS, evaluate
from senri.indexes.events.store import MemoryEventStore
from senri.worlds.archive import Archive, generate

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def archive() -> Archive:
    return generate(7)


@dataclass
class Reply:
    short: str
    refused: bool = False


class OracleAsker:
    """Answers every benchmark question with the oracle's canonical answer."""

    def __init__(self, store: Any, *, now: float | None = None, places: Any = None) -> None:
        assert now is not None and places is not None
        data = generate(7)
        self.answers = {
            q.question: bench.expected(q, data).canonical for q in bench.load_questions()
        }

    def ask(self, question: str) -> Reply:
        short = self.answers[question]
        return Reply(short, refused=short == "unanswerable")


class RefusingAsker:
    def ask(self, question: str) -> Reply:
        return Reply("unanswerable", refused=True)


class BrokenAsker:
    def ask(self, question: str) -> Reply:
        raise RuntimeError("parser fell over")


def refusing_factory(store: Any, **_: Any) -> RefusingAsker:
    return RefusingAsker()


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Three", "3"),
        ("  The RED car. ", "red car"),
        ("an umbrella", "umbrella"),
        ("09:28", "09:28"),
        ("At 9:28!", "at 9:28"),
        ("twenty", "20"),
        ("red, blue and white", "blue, red, white"),
        ("White, red, blue", "blue, red, white"),
        ("red, red", "red"),
        ("engine_idling", "engine idling"),
        ("cam3", "cam3"),
        ("Yes.", "yes"),
    ],
)
def test_normalise(text: str, normal: str) -> None:
    assert bench.normalise(text) == normal


@pytest.mark.parametrize(
    ("answer", "references", "score"),
    [
        ("3", ["3", "3", "3", "4"], 1.0),
        ("three", ["3", "3", "3", "4"], 1.0),
        ("4", ["3", "3", "3", "4"], 1 / 3),
        ("4", ["3", "4", "3", "4"], 2 / 3),
        ("5", ["3", "3", "3", "4"], 0.0),
        ("blue and red", ["red, blue", "red, blue", "red, blue"], 1.0),
        ("camera 3", ["cam3", "cam3", "cam3", "camera 3", "main road"], 1 / 3),
        ("", ["3", "3", "3"], 0.0),
    ],
)
def test_vqa_accuracy(answer: str, references: list[str], score: float) -> None:
    assert bench.vqa_accuracy(answer, references) == pytest.approx(score)


def test_question_file(archive: Archive) -> None:
    questions = bench.load_questions(bench.QUESTIONS)
    assert len(questions) >= 240
    assert len({q.id for q in questions}) == len(questions)
    assert len({q.question.lower() for q in questions}) == len(questions)
    per_type = Counter(q.type for q in questions)
    assert set(per_type) == set(bench.TYPES)
    assert min(per_type.values()) >= 15, per_type
    assert 0.08 <= per_type["refuse"] / len(questions) <= 0.15
    for question in questions:
        assert question.truth["op"] in OPS
        assert (question.type == "refuse") == (question.truth["op"] == "unanswerable")
        exp = bench.expected(question, archive)
        assert not exp.ambiguous, question.id
        assert len(exp.references) >= 3 and exp.references[:3] == (exp.canonical,) * 3


def test_runner_scores_a_perfect_asker(archive: Archive) -> None:
    questions = [q for q in bench.load_questions() if q.archive == "archive"]
    report = bench.run(questions, archive, MemoryEventStore(), OracleAsker)
    assert report.accuracy == 1.0
    assert all(acc == 1.0 for acc, _ in report.by_type.values())
    assert (
        report.correct_refusals
        == report.unanswerable
        == Counter(q.type for q in questions)["refuse"]
    )
    assert report.wrong_refusals == 0
    assert report.unseen == sum(not q.seen for q in questions)
    assert report.latency(50) <= report.latency(99)


def test_runner_counts_refusals_and_survives_errors(archive: Archive) -> None:
    questions = bench.load_questions()[:40] + bench.load_questions()[-5:]
    refused = bench.run(questions, archive, MemoryEventStore(), refusing_factory)
    assert refused.correct_refusals == refused.unanswerable == 5
    assert refused.wrong_refusals == 40
    assert refused.by_type["refuse"] == (1.0, 5)
    broken = bench.run(questions[:3], archive, MemoryEventStore(), lambda *_, **__: BrokenAsker())
    assert broken.accuracy == 0.0
    assert all("parser fell over" in r.error for r in broken.results)
    assert any(line.startswith("errors: 3") for line in broken.lines())


def test_report_lines(archive: Archive) -> None:
    questions = bench.load_questions()[-3:]
    lines = bench.run(questions, archive, MemoryEventStore(), refusing_factory).lines()
    assert lines[0] == "VQA accuracy: 1.000 over 3 questions"
    assert "refusals: 3/3 unanswerable refused; 0 answerable wrongly refused" in lines
    unseen = sum(not q.seen for q in questions)
    assert f"unseen: {unseen}/3 questions never seen while writing the parser" in lines


def test_eval_ask_command(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = CliRunner().invoke(
        eval_app,
        [
            "ask",
            "--asker",
            f"{__name__}:OracleAsker",
            "--limit",
            "30",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "VQA accuracy: 1.000 over 30 questions" in result.output
    assert "latency: p50" in result.output
    payload = json.loads(out.read_text())
    assert len(payload["results"]) == 30 and payload["accuracy"] == 1.0


def test_eval_ask_fills_a_named_sqlite_store(tmp_path: Path) -> None:
    db = tmp_path / "ask.sqlite"
    result = CliRunner().invoke(
        eval_app,
        ["ask", "--store", f"sqlite:{db}", "--asker", f"{__name__}:refusing_factory"],
    )
    assert result.exit_code == 0, result.output
    assert db.exists()
    assert "wrongly refused" in result.output


def test_eval_ask_reports_a_missing_asker() -> None:
    result = CliRunner().invoke(eval_app, ["ask", "--asker", "senri.ask.nowhere:Asker"])
    assert result.exit_code == 1
    assert "cannot load asker" in result.output


def test_the_held_out_questions_cover_every_archive_and_type(
    archive: Archive, tmp_path: Path, street_world: Any
) -> None:
    """questions_worlds.jsonl: written before the parser saw them, over the generated archive
    and both demo worlds; every spec answers from its own world's truth, unambiguously."""
    from senri.evaluation.ask.worlds import demo_truth, street_truth
    from senri.worlds import shapes

    held = bench.load_questions(bench.WORLD_QUESTIONS)
    assert len(held) >= 150 and sum(not q.seen for q in held) >= 200  # 10 shown in review
    every = bench.load_questions()
    assert len({q.id for q in every}) == len(every)  # the two files share no id
    shapes_truth, _ = demo_truth(shapes.load_truth(shapes.generate(tmp_path, seed=7).truth))
    street_doc = street_world[1]
    truths = {"archive": archive.truth, "demo": shapes_truth, "street": street_truth(street_doc)[0]}
    for name in bench.ARCHIVES:
        mine = [q for q in held if q.archive == name]
        assert {q.type for q in mine} == set(bench.TYPES), name
        for question in mine:
            exp = evaluate(question.truth, truths[name], question.answers)
            assert not exp.ambiguous and exp.answerable == (question.type != "refuse"), question.id


PLURALS = [("cars", "car"), ("lorries", "lorry"), ("buses", "bus"), ("people", "person"),
           ("car horns", "car horn"), ("red, blue and green", "green, red, blue")]  # fmt: skip


@pytest.mark.parametrize(("answer", "reference"), PLURALS)
def test_plural_and_singular_answers_are_the_same_answer(answer: str, reference: str) -> None:
    assert bench.vqa_accuracy(answer, [reference] * 3) == 1.0


@pytest.mark.parametrize("word", ["yes", "bus", "glass", "status", "siren", "10:00"])
def test_words_that_are_not_plurals_stay(word: str) -> None:
    assert bench.normalise(word) == word
