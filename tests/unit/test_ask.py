"""Questions over an archive: every plan type, relative times, refusals and hostile input.

The archive here is small and written by hand, so each expected answer can be read off the
events below. The vocabulary is the word table alone (`Vocabulary()`), except where a test
checks matching by meaning with the real MiniLM model.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from senri.ask.directory import Directory, StreamInfo
from senri.ask.engine import Asker
from senri.ask.parser import parse
from senri.ask.plan import Refusal
from senri.ask.timeparse import find_window
from senri.ask.vocab import Vocabulary
from senri.errors import QueryError
from senri.indexes.events.sqlite import SqliteEventStore
from senri.indexes.events.store import MemoryEventStore
from senri.records import Event

pytestmark = pytest.mark.unit


def at(day: int, hour: int, minute: int = 0) -> float:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC).timestamp()


NOW = at(27, 18)  # Friday 27 November 2026, 18:00 UTC
PLACES = {"cam1": "entrance", "cam2": "car park", "cam3": "main road", "mic1": "entrance"}


def _track(
    stream: str, track: int, label: str, start: float, n: int = 3, **attrs: object
) -> list[Event]:
    return [
        Event(
            Event.make_id(stream, track, k), stream, start + k, "object", label, 0.8,
            track_id=track, attributes=attrs,  # type: ignore[arg-type]
        )
        for k in range(n)
    ]  # fmt: skip


def _archive() -> list[Event]:
    events: list[Event] = []
    events += _track("cam3", 1, "car", at(27, 10, 5), colour="red", plate="KA05MX1234")
    events += _track("cam3", 2, "car", at(27, 11, 0), colour="blue", plate="")
    events += _track("cam3", 3, "car", at(27, 9, 0), colour="red", plate="MH12AB3456")
    events += _track("cam3", 4, "truck", at(27, 12, 0), colour="white", plate="TN01CD7890")
    events += _track("cam3", 5, "car", at(26, 15, 0), colour="red", plate="DL02EF1111")
    events += _track("cam1", 1, "person", at(26, 14, 0), upper_colour="red", backpack=True)
    events += _track("cam1", 2, "person", at(27, 15, 0), upper_colour="blue", phone=True)
    events += _track(
        "cam1",
        3,
        "dog",
        at(
            27,
            13,
            0,
        ),
        n=5,
    )
    # the same track id on another stream is another object
    events += _track("cam2", 1, "car", at(27, 16, 0), colour="black")
    # an untracked low-confidence detection is not an object that passed
    events.append(Event("noise", "cam3", at(27, 10, 30), "object", "car", 0.2))
    siren = at(27, 13, 0)
    events += [
        Event("s1", "mic1", siren, "sound", "siren", 0.9, end_time=siren + 8),
        Event("s2", "mic1", at(25, 9, 0), "sound", "car_horn", 0.9, end_time=at(25, 9, 0) + 2),
        Event("b1", "mic1", at(27, 13, 0) + 2, "sound", "dog_bark", 0.9, end_time=siren + 4),
        Event("t1", "mic1", siren + 3, "transcript", "speech", 0.9, end_time=siren + 6,
              text="please move the blue van"),
        Event("t2", "mic1", at(27, 16, 0), "transcript", "speech", 0.9,
              end_time=at(27, 16, 0) + 5, text="the delivery is at the gate"),
        Event("o1", "cam1", at(27, 9, 0), "text", "text", 0.9, attributes={"text": "EXIT"}),
    ]  # fmt: skip
    return events


@pytest.fixture(scope="module")
def asker() -> Asker:
    store = MemoryEventStore()
    store.put(_archive())
    return Asker(store, now=NOW, places=PLACES, vocab=Vocabulary())


def short(asker: Asker, question: str) -> str:
    answer = asker.ask(question)
    return answer.short


# ---- every plan type -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected", "kind"),
    [
        ("how many red cars passed camera 3 after 10 am?", "1", "count"),
        ("How many cars passed cam 3 today?", "3", "count"),
        ("how many cars were seen in total?", "5", "count"),  # cam2's track 1 is another car
        ("how many times did the siren sound?", "1", "count"),
        ("was anyone carrying a backpack near the entrance yesterday?", "yes", "exists"),
        ("was anyone carrying a backpack near the entrance today?", "no", "exists"),
        ("is anyone on the phone at the entrance?", "yes", "exists"),
        ("what plates were read on camera three this morning?", "KA05MX1234, MH12AB3456", "list"),
        ("what kinds of vehicles passed the main road today?", "car, truck", "list"),
        ("when did the siren go off?", "13:00", "when"),
        ("when was the last red car on cam3?", "10:05", "when"),
        ("which camera saw the most cars?", "cam3", "which"),
        ("which mic heard the siren?", "mic1", "which"),
        ("what colour was the car at 10:05?", "red", "colour"),
        ("what colour top was the person on the phone wearing?", "blue", "colour"),
        ("how many different colours of cars did cam 3 see?", "2", "distinct"),
        ("how many distinct plates were read on cam3?", "4", "distinct"),
        ("were there more cars or trucks on camera 3?", "cars", "compare"),
        ("did the entrance or the main road see more people?", "entrance", "compare"),
        ("were there more red cars than blue cars on cam3?", "red", "compare"),
        ("what was said on mic 1 when the siren sounded?", "please move the blue van", "said"),
        ("what was said at the entrance this afternoon?",
         "please move the blue van, the delivery is at the gate", "said"),
        ("was a dog barking while a dog was in view at the entrance?", "yes", "exists"),
        ("what does the sign at the entrance say?", "EXIT", "said"),
    ],
)  # fmt: skip
def test_plan_types_answer_from_the_store(
    asker: Asker, question: str, expected: str, kind: str
) -> None:
    answer = asker.ask(question)
    assert answer.plan is not None and answer.plan["type"] == kind, answer.plan
    assert answer.short == expected, answer.text
    assert not answer.refused
    assert 0.0 < answer.confidence <= 1.0


def test_answers_carry_evidence_and_a_sentence(asker: Asker) -> None:
    answer = asker.ask("how many red cars passed camera 3 after 10 am?")
    assert answer.text.startswith("1 red car on cam3 (main road)")
    (ev,) = answer.evidence
    assert (ev.stream_id, ev.track_id, ev.attributes["colour"]) == ("cam3", 1, "red")
    assert at(27, 10, 5) <= ev.time < at(27, 10, 6)
    said = asker.ask("what was said on mic 1 when the siren sounded?")
    # what was said, then the partner it was related to: the siren, with its time
    assert [(e.kind, e.text or e.label) for e in said.evidence] == [
        ("transcript", "please move the blue van"), ("sound", "siren")]  # fmt: skip
    assert said.text.startswith("During the siren at 13:")


def test_untracked_detections_are_not_counted(asker: Asker) -> None:
    # the 0.2-confidence untracked "car" at 10:30 is noise, not a car that passed
    assert short(asker, "how many cars passed cam3 between 10:15 and 10:45 today?") == "0"


def test_the_same_answers_from_sqlite(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite")
    store.put(_archive())
    sqlite = Asker(store, now=NOW, places=PLACES, vocab=Vocabulary())
    memory = MemoryEventStore()
    memory.put(_archive())
    reference = Asker(memory, now=NOW, places=PLACES, vocab=Vocabulary())
    for question in (
        "how many red cars passed camera 3 after 10 am?",
        "which camera saw the most cars?",
        "what was said on mic 1 when the siren sounded?",
        "how many distinct plates were read on cam3?",
        "when did the siren go off?",
    ):
        assert sqlite.ask(question).short == reference.ask(question).short, question
    store.close()


def test_the_clock_defaults_to_the_latest_event() -> None:
    store = MemoryEventStore()
    store.put(_archive())
    asker = Asker(store, places=PLACES, vocab=Vocabulary())
    assert asker.span()[1] == at(27, 16, 0) + 5  # the last transcript's end
    assert asker.ask("how many cars passed cam 3 in the last 8 hours?").short == "3"


# ---- relative times --------------------------------------------------------------------


def _window(text: str) -> tuple[str, str]:
    found = find_window(text, NOW)
    assert found.window is not None, text
    fmt = "%a %d %H:%M"
    start, end = found.window.start, found.window.end
    assert start is not None and end is not None
    return (
        dt.datetime.fromtimestamp(start, dt.UTC).strftime(fmt),
        dt.datetime.fromtimestamp(end, dt.UTC).strftime(fmt),
    )


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("yesterday", "Thu 26 00:00", "Fri 27 00:00"),
        ("the day before yesterday", "Wed 25 00:00", "Thu 26 00:00"),
        ("today", "Fri 27 00:00", "Sat 28 00:00"),
        ("after 10 am", "Fri 27 10:00", "Sat 28 00:00"),
        ("after 10 am yesterday", "Thu 26 10:00", "Fri 27 00:00"),
        ("since noon", "Fri 27 12:00", "Sat 28 00:00"),
        ("before 8", "Fri 27 00:00", "Fri 27 08:00"),
        ("in the last hour", "Fri 27 17:00", "Fri 27 18:00"),
        ("in the past two hours", "Fri 27 16:00", "Fri 27 18:00"),
        ("over the last 30 minutes", "Fri 27 17:30", "Fri 27 18:00"),
        ("in the last 2 days", "Wed 25 18:00", "Fri 27 18:00"),
        ("between 9 and 11 yesterday", "Thu 26 09:00", "Thu 26 11:00"),
        ("from 2 to 4 pm on Tuesday", "Tue 24 14:00", "Tue 24 16:00"),
        ("this morning", "Fri 27 06:00", "Fri 27 12:00"),
        ("on Wednesday afternoon", "Wed 25 12:00", "Wed 25 18:00"),
        ("last night", "Thu 26 18:00", "Fri 27 06:00"),
        ("at 10:05", "Fri 27 10:05", "Fri 27 10:06"),
        ("at 3", "Fri 27 15:00", "Fri 27 16:00"),
        ("on 25 November", "Wed 25 00:00", "Thu 26 00:00"),
        ("Nov 24th after 2pm", "Tue 24 14:00", "Wed 25 00:00"),
        ("on 2026-11-26", "Thu 26 00:00", "Fri 27 00:00"),
        ("friday", "Fri 27 00:00", "Sat 28 00:00"),
    ],
)
def test_relative_times(text: str, start: str, end: str) -> None:
    assert _window(f"how many cars {text}?") == (start, end)


def test_time_words_are_cut_out_of_the_question() -> None:
    found = find_window("how many cars passed camera 3 after 10 am?", NOW)
    assert "10" not in found.rest and "camera 3" in found.rest
    assert find_window("how many cars on 3 cameras", NOW).window is None


def test_a_time_later_than_the_clock_means_yesterday() -> None:
    early = at(27, 7)
    found = find_window("cars at 9", early)
    assert found.window is not None and found.window.start == at(26, 9)


# ---- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("what is the weather like at the entrance?", "weather"),
        ("who was the man in the red top?", "names"),
        ("how fast was the red car going?", "speeds"),
        ("how old was the person with the backpack?", "ages"),
        ("what make was the blue car?", "makes"),
        ("how many cars passed camera 9?", "no 'camera 9'"),
        ("how many cars will pass tomorrow?", "tomorrow"),
        ("how many cars passed on 2026-10-01?", "covers"),
        ("what was said on camera 3?", "no speech is recorded on cam3"),
        ("what is the licence plate of the bicycle?", "no licence plates"),
        ("what breed was the dog?", "breeds"),
        ("what is the capital of France?", "names nothing"),
        ("tell me a joke", "names nothing"),
        ("the weather", "weather"),
        ("blah blah", "names nothing the archive records"),
        ("how come the car turned", "could not tell what kind of answer"),
        ("was anyone arrested at the entrance?", "incidents"),
        ("which car was parked illegally?", "incidents"),
        ("what did the man at cam1 look like?", "looked like"),
        ("how many passengers were on the bus?", "inside vehicles"),
        ("how many cars were electric?", "fuel"),
        ("what time did the shop open?", "open, close or lock"),
        ("where did the red car go after it left?", "out of view"),
        ("what did the security guard say?", "who spoke"),
        ("what is the driver's phone number?", "personal details"),
        ("compare the cars", "two things"),
        ("was the dog at the entrance friendly?", "behaviour"),
        ("which person was the tallest?", "heights"),
        ("how many cars passed last month?", "not 2026-10-01 00:00 to 2026-11-01 00:00"),
    ],
)
def test_out_of_scope_questions_are_refused_with_the_reason(
    asker: Asker, question: str, reason: str
) -> None:
    answer = asker.ask(question)
    assert answer.refused and answer.short == "unanswerable"
    assert reason in answer.text, answer.text
    assert answer.text.startswith("Cannot answer:")


def test_an_empty_archive_is_refused() -> None:
    answer = Asker(MemoryEventStore(), vocab=Vocabulary()).ask("how many cars?")
    assert answer.refused and "empty" in answer.text


# ---- hostile input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "x" * 100_000,
        "how many cars " * 200,
        '{"query": {"match_all": {}}}',
        '" OR 1=1 --',
        "'; DROP TABLE events; --",
        "cars\x00\x1b[31m\u202e",
        "<script>alert(1)</script>",
        "*:*",
        "label:car AND stream_id:*",
        "",
        "   ",
        "???",
        "🚗🚗🚗",
    ],
)
def test_hostile_input_is_refused_or_answered_safely(asker: Asker, question: str) -> None:
    before = asker.store.count()
    answer = asker.ask(question)
    assert answer.refused or answer.short.isdigit() or answer.short in ("yes", "no", "none")
    assert asker.store.count() == before  # nothing written, nothing dropped
    assert asker.ask("how many cars passed cam 3 today?").short == "3"


def test_query_syntax_in_a_question_is_only_ever_words(asker: Asker) -> None:
    # the injected text matches nothing as syntax: the count is the plain count
    plain = asker.ask("how many cars passed cam 3 today?")
    injected = asker.ask('how many cars passed cam 3 today " OR 1=1 -- *:*')
    assert injected.short == plain.short == "3"


def test_non_text_questions_are_refused() -> None:
    directory = Directory([StreamInfo("cam1")])
    with pytest.raises(Refusal, match="must be text"):
        parse(123, directory, Vocabulary(), NOW)  # type: ignore[arg-type]


def test_per_frame_mode_counts_detections(asker: Asker) -> None:
    store = MemoryEventStore()
    store.put([
        Event("p1", "upload", 0.0, "object", "person", 0.9, attributes={"upper_colour": "red"}),
        Event("p2", "upload", 0.0, "object", "person", 0.9, attributes={"upper_colour": "red"}),
        Event("c1", "upload", 0.0, "object", "car", 0.9, attributes={"colour": "blue"}),
    ])  # fmt: skip
    frame = Asker(store, now=0.0, vocab=Vocabulary(), per_frame=True)
    assert frame.ask("how many people are there?").short == "2"
    assert frame.ask("what colour is the car?").short == "blue"
    assert frame.ask("is anyone using a phone?").short == "no"
    assert frame.ask("what was said?").refused


# ---- words matched by meaning (the real MiniLM model) -----------------------------------


@pytest.fixture(scope="module")
def embedder():  # type: ignore[no-untyped-def]
    from senri.ask.vocab import TextEmbedder

    return TextEmbedder.load()  # `make test` fetches every registry model first


def test_minilm_matches_sentence_transformers(embedder) -> None:  # type: ignore[no-untyped-def]
    # recorded from sentence-transformers 5.7.0 with the same model directory
    texts = ["red car", "crimson automobile"]
    got = embedder.encode(texts)
    expected = [
        [-0.035122, 0.041932, -0.052005, 0.063419, -0.022295, 0.066731],
        [-0.033827, -0.028616, -0.044638, 0.027111, -0.088518, 0.039013],
    ]
    assert np.allclose(got[:, :6], expected, atol=2e-5)
    assert float(got[0] @ got[1]) == pytest.approx(0.576788, abs=1e-4)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_unknown_words_find_terms_by_meaning(embedder) -> None:  # type: ignore[no-untyped-def]
    store = MemoryEventStore()
    store.put(_archive())
    asker = Asker(store, now=NOW, places=PLACES, vocab=Vocabulary(embedder))
    answer = asker.ask("was a canine seen at the entrance today?")
    assert answer.short == "yes" and answer.plan is not None
    assert answer.plan["subject"]["labels"] == ["dog"]
    assert answer.confidence < 1.0  # matched by meaning, not by the table
    # a word that resembles nothing the archive records is not guessed
    assert asker.ask("how many giraffes passed cam 3?").refused
    # words the parser reads itself are not matched by meaning ("busier" is no street music)
    busier = asker.ask("was cam 3 busier with cars or with trucks today?")
    assert busier.plan is not None and busier.plan["subject"]["kind"] == "object", busier.text


def test_plates_written_in_a_question_select_their_vehicle(asker: Asker) -> None:
    assert asker.ask("when did the car with plate ka 05 mx 1234 pass?").short == "10:05"
    assert asker.ask("what colour was the vehicle with registration MH12AB3456?").short == "red"
    assert asker.ask("which camera saw TN01CD7890?").short == "cam3"


def test_either_colour_riders_and_speech_words(asker: Asker) -> None:
    assert asker.ask("how many red or blue cars passed cam 3 today?").short == "3"
    assert asker.ask("were there more red or blue cars on cam 3 today?").short == "red"
    assert asker.ask("how many conversations were recorded at the entrance?").short == "2"
    riders = asker.ask("was anybody riding a bicycle at the entrance?")
    assert riders.plan is not None and riders.plan["subject"]["labels"] == ["person"]
    assert riders.short == "no"  # nobody in this archive rides


def test_time_zones_move_days_and_clock_times() -> None:
    tokyo = __import__("zoneinfo").ZoneInfo("Asia/Tokyo")  # UTC+9, no DST
    # 18:00 UTC on Friday is 03:00 on Saturday in Tokyo: "yesterday" there is Friday
    found = find_window("cars yesterday", NOW, tokyo)
    assert found.window is not None
    assert found.window.start == at(26, 15) and found.window.end == at(27, 15)
    after = find_window("cars after 10 am yesterday", NOW, tokyo).window
    assert after is not None and after.start == at(27, 1)


def test_dst_days_keep_wall_clock_hours() -> None:
    london = __import__("zoneinfo").ZoneInfo("Europe/London")
    # Sunday 29 March 2026: clocks go from 01:00 GMT to 02:00 BST
    now = dt.datetime(2026, 3, 30, 12, tzinfo=dt.UTC).timestamp()
    window = find_window("between 9 and 11 yesterday", now, london).window
    assert window is not None
    assert window.start == dt.datetime(2026, 3, 29, 8, tzinfo=dt.UTC).timestamp()  # 09:00 BST
    day = find_window("yesterday", now, london).window
    assert day is not None and day.start is not None and day.end is not None
    assert day.end - day.start == 23 * 3600  # that day had 23 hours


def test_answers_use_the_sites_time_zone() -> None:
    store = MemoryEventStore()
    store.put(_archive())
    asker = Asker(store, now=NOW, places=PLACES, vocab=Vocabulary(), tz="Asia/Tokyo")
    assert asker.ask("when did the siren go off?").short == "22:00"  # 13:00 UTC
    with pytest.raises(QueryError, match="unknown time zone"):
        Asker(store, vocab=Vocabulary(), tz="Mars/Olympus")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("did anyone mention the van?", "yes"),
        ("was anything said about deliveries?", "yes"),  # "delivery" in the transcript
        ("was the gate mentioned on mic 1 this morning?", "no"),  # it was, at 16:00
        ("how many times was the gate mentioned?", "1"),
        ("what was said about the blue van?", "please move the blue van"),
        ("did anyone talk about a helicopter?", "no"),
    ],
)
def test_what_speech_was_about(asker: Asker, question: str, expected: str) -> None:
    answer = asker.ask(question)
    assert answer.short == expected, (answer.text, answer.plan)
    assert answer.plan is not None and answer.plan["subject"]["kind"] == "transcript"


def test_archives_larger_than_one_read() -> None:
    """Past `MAX_FETCH` events, lists come from store aggregations and 'last' reads newest."""
    from senri.ask.lookup import MAX_FETCH

    start = at(27, 8)
    events = _track("cam3", 1, "car", start, n=MAX_FETCH + 50, colour="red")
    events += _track("cam3", 2, "car", start + MAX_FETCH + 100, colour="blue")
    events += _track("cam3", 3, "truck", start + MAX_FETCH + 200, colour="white")
    store = MemoryEventStore()
    store.put(events)
    asker = Asker(store, now=NOW, vocab=Vocabulary())
    colours = asker.ask("what colours were the cars on cam 3?")
    assert colours.short == "blue, red" or set(colours.short.split(", ")) == {"red", "blue"}
    assert asker.ask("how many cars passed cam 3?").short == "2"
    assert asker.ask("was there a car on cam 3?").text.startswith("Yes: 2 cars")
    last = asker.ask("what colour was the last car on cam 3?")
    assert last.short == "blue"
    when = asker.ask("when did the last vehicle pass cam 3?")
    assert when.short == dt.datetime.fromtimestamp(start + MAX_FETCH + 200, dt.UTC).strftime(
        "%H:%M"
    )


def test_refresh_picks_up_new_streams_when_old_enough() -> None:
    store = MemoryEventStore()
    store.put(_archive())
    asker = Asker(store, now=NOW, vocab=Vocabulary())
    assert asker.ask("how many cars passed camera 7?").refused  # no cam7 yet
    store.put(_track("cam7", 1, "car", at(27, 11)))
    asker.refresh(older_than=3600)  # read moments ago: kept
    assert asker.ask("how many cars passed camera 7?").refused
    asker.refresh()
    assert asker.ask("how many cars passed camera 7?").short == "1"


def test_before_and_after_an_anchor(asker: Asker) -> None:
    # the siren on mic1 sounds 13:00:00-13:00:08; the dog on cam1 is in view 13:00:00-13:00:04
    after = asker.ask("was a dog barking at the entrance right after the siren?")
    assert after.plan is not None and after.plan["relation"] == "after"
    assert after.short == "no"  # the bark ended (13:00:04) before the siren did
    during = asker.ask("was a dog barking at the entrance when the siren sounded?")
    assert during.short == "yes"
    before = asker.ask("what was said on mic 1 before the siren?")
    assert before.plan is not None and before.plan["relation"] == "before"
    assert before.short == "none"  # the only earlier speech is hours before
    later = asker.ask("what was said on mic 1 after the siren?")
    assert later.short == "none"  # the van line ends (13:00:06) while the siren still sounds
    assert later.plan is not None and later.plan["relation"] == "after"


def test_how_long(asker: Asker) -> None:
    assert asker.ask("how long did the siren sound?").short == "8"
    dog = asker.ask("how long was the dog in view at the entrance?")
    assert dog.short == "4" and dog.plan is not None and dog.plan["type"] == "duration"
    assert asker.ask("how long did the siren sound yesterday?").short == "0"


def test_vocabulary_embeddings_are_cached_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from senri.ask.vocab import TextEmbedder

    class Counting:
        """Stands in for MiniLM: deterministic unit vectors, and a count of calls."""

        calls = 0

        def encode(self, texts: list[str]) -> np.ndarray:
            Counting.calls += 1
            rng = np.random.default_rng(len(texts))
            rows = rng.normal(size=(len(texts), 8)).astype(np.float32)
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    monkeypatch.setenv("SENRI_CACHE", str(tmp_path))
    Vocabulary(TextEmbedder(Counting(), "model-a")).warm()
    assert Counting.calls == 1 and list((tmp_path / "ask").glob("terms-*.npy"))
    Vocabulary(TextEmbedder(Counting(), "model-a")).warm()
    assert Counting.calls == 1  # read back, not recomputed
    Vocabulary(TextEmbedder(Counting(), "model-b")).warm()
    assert Counting.calls == 2  # other weights, other file


def test_which_day_and_hour(asker: Asker) -> None:
    assert asker.ask("which day saw the most cars on cam 3?").short == "2026-11-27"
    assert asker.ask("what day did the car horn sound?").short == "2026-11-25"
    busiest = asker.ask("which hour had the most people at the entrance?")
    # one person at 14:00 and one at 15:00: a tie is said, not settled by sort order
    assert busiest.short == "14:00, 15:00" and busiest.text.startswith("A tie"), busiest.text
    store = MemoryEventStore()
    store.put(_archive())
    tokyo = Asker(store, now=NOW, places=PLACES, vocab=Vocabulary(), tz="Asia/Tokyo")
    # 15:00 UTC on the 27th is midnight in Tokyo: the person on the phone passed on the 28th
    assert tokyo.ask("what day did the person on the phone pass?").short == "2026-11-28"
    assert asker.ask("what day did the person on the phone pass?").short == "2026-11-27"
    assert tokyo.ask("what day did the car horn sound?").short == "2026-11-25"  # 18:00 JST


# ---- moving things (vision.motion) are things on camera --------------------------------


def _motion_archive() -> list[Event]:
    """What the demo's camera writes: `motion` events labelled "object", tracked, coloured."""
    events: list[Event] = []
    for track, colour in enumerate(["red", "yellow", "red", "green"], start=1):
        events += [
            Event(
                Event.make_id("cam9", track, k), "cam9", at(27, 10, track) + k, "motion",
                "object", 1.0, track_id=track, attributes={"colour": colour},
            )
            for k in range(4)
        ]  # fmt: skip
    events.append(Event("m1", "mic9", at(27, 10), "sound", "siren", 0.9, end_time=at(27, 10, 1)))
    events += [
        Event("w1", "mic9", at(27, 10, 1) + 1, "transcript", "speech", 0.9,
              end_time=at(27, 10, 1) + 3, text="red car on camera nine"),
        Event("w2", "mic9", at(27, 10, 30), "transcript", "speech", 0.9,
              end_time=at(27, 10, 30) + 3, text="all quiet now"),
    ]  # fmt: skip
    return events


@pytest.fixture(scope="module")
def motion_asker() -> Asker:
    store = MemoryEventStore()
    store.put(_motion_archive())
    return Asker(store, now=NOW, vocab=Vocabulary())


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("how many objects were on cam9?", 4),
        ("how many red objects passed cam9?", 2),
        ("how many yellow things were on camera?", 1),
        ("was anything green on camera?", True),
        ("was anything pink on camera?", False),
    ],
)
def test_moving_things_are_counted_by_track_as_objects(
    motion_asker: Asker, question: str, value: object
) -> None:
    answer = motion_asker.ask(question)
    assert not answer.refused, answer.text
    assert answer.value == value, answer.text


def test_more_red_or_yellow_compares_moving_things(motion_asker: Asker) -> None:
    answer = motion_asker.ask("were there more red or yellow objects?")
    assert "red: 2, yellow: 1" in answer.text, answer.text


def test_joins_lead_with_their_clause_and_name_what_was_on_camera(motion_asker: Asker) -> None:
    said = motion_asker.ask("while the red object was on camera, what was said?")
    assert "red car on camera nine" in said.text and "all quiet" not in said.text, said.text
    seen = motion_asker.ask("when the siren sounded, what was on camera?")
    assert seen.text.startswith(
        "On camera during the siren at 10:00:00–10:01:00 on mic9: red object"
    ), seen.text
    assert "yellow" not in seen.text  # track 2 came a minute after the siren
    assert motion_asker.ask("what was on camera 9?").value == ["red object", "green object",
                                                               "yellow object"]  # fmt: skip


def test_a_refusal_says_are_for_plurals() -> None:
    store = MemoryEventStore()
    store.put([Event("m1", "mic9", NOW - 60, "sound", "siren", 0.9, end_time=NOW - 50)])
    answer = Asker(store, now=NOW, vocab=Vocabulary()).ask("how many objects were on camera?")
    assert answer.text == (
        "Cannot answer: no objects are recorded in this archive; it holds sounds on mic9."
    ), answer.text


def test_a_refusal_says_what_the_archive_can_answer_instead(motion_asker: Asker) -> None:
    answer = motion_asker.ask("what was said on cam9?")
    assert answer.refused
    assert answer.text.endswith("it holds objects on cam9 and speech and sounds on mic9."), (
        answer.text
    )


# ---- accents, dialects and languages (audio.dialect) -----------------------------------


@pytest.fixture(scope="module")
def dialect_asker() -> Asker:
    def span(i: int, stream: str, label: str, cluster: str) -> Event:
        start = at(27, 9, i)
        return Event(
            f"d{i}", stream, start, "dialect", label, 0.6, end_time=start + 2,
            attributes={"cluster": cluster},
        )  # fmt: skip

    store = MemoryEventStore()
    store.put(
        [
            span(1, "mic1", "en-gb-scotland", "english"),
            span(2, "mic1", "en-us", "english"),
            span(3, "mic2", "yue", "chinese"),
            Event("t1", "mic1", at(27, 9, 1), "transcript", "speech", 0.9,
                  end_time=at(27, 9, 1) + 2, text="the van is at the gate"),
        ]
    )  # fmt: skip
    return Asker(store, now=NOW, vocab=Vocabulary())


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("what dialect was spoken on mic 1?", ["en-gb-scotland", "en-us"]),
        ("was anyone speaking with a scottish accent?", True),
        ("was there a french accent?", False),
        ("was anyone speaking in cantonese?", True),
        ("how many times was an american accent heard?", 1),
        ("what languages were spoken?", ["english", "chinese"]),
    ],
)
def test_accent_and_language_questions_read_dialect_events(
    dialect_asker: Asker, question: str, value: object
) -> None:
    answer = dialect_asker.ask(question)
    assert not answer.refused, answer.text
    got = sorted(answer.value) if isinstance(value, list) else answer.value
    assert got == (sorted(value) if isinstance(value, list) else value), answer.text


def test_speaking_in_a_place_is_still_about_speech(dialect_asker: Asker) -> None:
    answer = dialect_asker.ask("what was said in the morning on mic 1?")
    assert "the van is at the gate" in answer.text, answer.text


# ---- a track's class is its majority label ---------------------------------------------


def test_a_track_counts_as_its_majority_label_not_one_stray_frame() -> None:
    events = _track("cam5", 1, "motorcycle", at(27, 8), n=9)
    events.append(
        Event(Event.make_id("cam5", 1, 9), "cam5", at(27, 8) + 9, "object", "horse", 0.5,
              track_id=1)
    )  # fmt: skip
    events += _track("cam5", 2, "horse", at(27, 8, 5), n=6)
    store = MemoryEventStore()
    store.put(events)
    asker = Asker(store, now=NOW, vocab=Vocabulary())
    assert asker.ask("how many horses passed camera 5?").value == 1
    assert asker.ask("how many motorcycles passed camera 5?").value == 1
    first = asker.ask("when was the first horse seen?")
    assert "08:05" in first.text, first.text  # the horse, not the motorcycle's stray frame
    assert "1 horse" in asker.ask("was there a horse on cam5?").text
    assert asker.ask("were there more horses or motorcycles?").value == {
        "horse": 1,
        "motorcycle": 1,
    }


def test_what_a_camera_saw_lists_its_things_and_an_unknown_camera_is_refused(
    motion_asker: Asker,
) -> None:
    saw = motion_asker.ask("what did camera 9 see?")
    assert saw.value == ["red object", "green object", "yellow object"], saw.text
    assert motion_asker.ask("what did the thermal camera detect?").refused


def test_which_places_are_named_by_place_and_words_split_by_a_verb(asker: Asker) -> None:
    where = asker.ask("which places heard a siren?")
    assert where.short == "entrance", where.text
    assert asker.ask("which streams saw a dog?").short == "cam1"
    assert asker.ask("how many cars passed this month?").value == 5
    # "children were playing" is the sound "children playing", not children on camera
    store = MemoryEventStore()
    play = at(27, 11)
    store.put(
        _track("cam1", 1, "person", play + 1) + _track("cam1", 2, "person", play + 600)
        + [Event("p", "mic1", play, "sound", "children_playing", 0.9, end_time=play + 30)]
    )  # fmt: skip
    playing = Asker(store, now=NOW, places=PLACES, vocab=Vocabulary())
    during = playing.ask("how many people were at the entrance while children were playing?")
    assert during.value == 1 and "children playing" in during.text, during.text


def test_what_people_carried_and_lower_body_colours(asker: Asker) -> None:
    carried = asker.ask("what were people carrying at the entrance?")
    assert carried.short == "backpack, phone", carried.text
    assert asker.ask("what did people carry today?").short == "phone"
    assert asker.ask("how many different things did people carry?").value == 2
    said = asker.ask("tell me everything that was said at the entrance today")
    assert "please move the blue van" in said.text and "delivery" in said.text, said.text


def test_lower_body_is_the_lower_colour() -> None:
    store = MemoryEventStore()
    store.put(_track("cam1", 1, "person", at(27, 10), upper_colour="red", lower_colour="blue"))
    plain = Asker(store, now=NOW, places=PLACES)
    answer = plain.ask("what lower body colours did people wear?")
    assert answer.short == "blue", answer.text
    carried = plain.ask("what were people carrying?")  # one person, carrying nothing
    assert carried.short == "none" and "seen carrying a backpack" in carried.text, carried.text


def test_written_text_is_the_signs(asker: Asker) -> None:
    written = asker.ask("what written text was seen at the entrance?")
    assert not written.refused and "EXIT" in written.text, written.text


def test_classes_wearing_and_what_were_there(asker: Asker) -> None:
    assert asker.ask("what classes were detected on camera 3?").short == "car, truck"
    assert asker.ask("what labels were found at the entrance?").short == "person, dog"
    assert asker.ask("what sounds were there on mic 1?").short == "car_horn, dog_bark, siren"
    assert asker.ask("what did people at the entrance wear?").short == "blue, red"
    nobody = asker.ask("what were the people carrying on camera 2?")  # cam2 saw a car only
    assert nobody.short == "none" and nobody.text.startswith("No person"), nobody.text


def test_phrases_read_as_what_they_mean(asker: Asker) -> None:
    heard = asker.ask("were any emergency vehicles heard at the entrance?")
    assert heard.short == "yes" and "siren" in heard.text, heard.text
    shot = asker.ask("did anyone fire a gun?")
    assert shot.short == "no" and "gun shot" in shot.text, shot.text
    building = asker.ask("was there any construction noise?")
    assert building.short == "no" and "drilling or jackhammer" in building.text, building.text


def test_who_asks_for_the_people_by_what_they_wore(asker: Asker) -> None:
    assert asker.ask("who was at the entrance yesterday?").short == "red person"
    assert asker.ask("who came first?").short == "red person"
    assert asker.ask("what people were seen at the entrance?").short == "blue person, red person"
    assert asker.ask("who was the man in the red top?").refused


def test_heard_or_seen_and_between_two_days(asker: Asker) -> None:
    dogs = asker.ask("were more dogs heard or seen at the entrance?")  # one bark, one dog
    assert dogs.value == {"heard": 1, "seen": 1}, dogs.text
    things = asker.ask("were more things seen or heard today?")
    assert things.value == {"seen": 7, "heard": 2} and things.short == "seen", things.text
    days = asker.ask("how did the number of cars on camera 3 compare between yesterday and today?")
    assert days.value == {"yesterday": 1, "today": 3}, days.text


def test_mostly_picks_the_most_common(asker: Asker) -> None:
    mostly = asker.ask("what colour were the cars on camera 3 mostly?")  # red 3, blue 1
    assert mostly.short == "red", mostly.text


def test_overlapped_with_and_who_after_a_clause(asker: Asker) -> None:
    overlapped = asker.ask("which sounds overlapped with speech at the entrance?")
    assert overlapped.short == "dog_bark, siren", overlapped.text
    during = asker.ask("during the siren, who was at the entrance?")  # a dog, no people
    assert not during.refused and during.short == "none", during.text


@pytest.mark.parametrize(
    ("label", "n", "named"),
    [
        ("person", 2, "people"),
        ("children_playing", 3, "children playing"),
        ('utterance "a dog"', 3, 'utterances "a dog"'),
        ("person riding", 2, "people riding"),
        ("car", 1, "car"),
    ],
)
def test_plural_names(label: str, n: int, named: str) -> None:
    from senri.ask.vocab import plural

    assert plural(label, n) == named


@pytest.mark.parametrize(
    ("question", "short"),
    [
        # noun phrases, how busy, sizes
        ("how busy was the main road today?", "4"),  # four tracks on cam3 on the 27th
        ("how much traffic was on the main road today?", "4"),
        ("the colour of the last car on camera 3?", "blue"),
        ("the plates read on the main road today", "KA05MX1234, MH12AB3456, TN01CD7890"),
        ("sirens heard today?", "yes"),
        ("the number of cars on camera 3 today", "3"),
        ("how big was the truck?", "unanswerable"),
        # footfall, arrivals, audio events, passive pick-ups, who spoke
        ("how much footfall was there at the entrance?", "2"),
        ("how many arrivals were there on the main road today?", "4"),
        ("what audio events happened at the entrance?", "car_horn, dog_bark, siren"),
        ("what got picked up by mic 1 today?", "dog_bark, siren"),
        ("who spoke at the entrance today?", "unanswerable"),
        # lists said otherwise
        ("which different sounds were heard at the entrance?", "car_horn, dog_bark, siren"),
        ("enumerate the sounds heard at the entrance today", "dog_bark, siren"),
        ("what was mentioned about the van?", "please move the blue van"),
        ("on which days was a car horn heard?", "2026-11-25"),
        ("during which hours were people at the entrance?", "14:00, 15:00"),
        ("identify the colours of the cars on camera 3 today", "red, blue"),
        ("can you identify the man at the entrance?", "unanswerable"),
    ],
)
def test_phrasings(asker: Asker, question: str, short: str) -> None:
    answer = asker.ask(question)
    assert answer.short == short, answer.text
