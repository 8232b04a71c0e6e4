"""Questions that relate to what was said, weigh two kinds of event, and name unnamed things:
utterances as anchors (quoted or not), "fewer" and "as many" comparisons, colours compared
without a noun, the first of the sounds, and `audio.loudness`'s "loud" kept out of sounds."""

from __future__ import annotations

import pytest

from senri.ask.engine import Asker
from senri.ask.vocab import Vocabulary
from senri.indexes.events.store import MemoryEventStore
from senri.records import Event

pytestmark = pytest.mark.unit
T0 = 1_767_261_600.0


def moving(tid: int, start: float, end: float, colour: str) -> list[Event]:
    """A thing `vision.motion` saw but no detector named: label "object", one event a second."""
    colours = {"colour": colour}
    return [
        Event(
            f"m{tid}-{t}", "cam1", T0 + t, "motion", "object", 0.9, track_id=tid, attributes=colours
        )
        for t in range(start, end + 1)
    ]


def span(eid: str, kind: str, label: str, start: float, end: float, text: str = "") -> Event:
    return Event(eid, "mic1", T0 + start, kind, label, 0.9, end_time=T0 + end, text=text or None)


@pytest.fixture(scope="module")
def asker() -> Asker:
    store = MemoryEventStore()
    store.put(
        moving(1, 2, 6, "green") + moving(2, 3, 5, "yellow") + moving(3, 20, 24, "red")
        + moving(4, 21, 23, "red") + moving(5, 40, 44, "blue")
        + [span("t1", "transcript", "speech", 3, 5, "the green band stopped at the gate"),
           span("t2", "transcript", "speech", 21, 23, "red car on camera one"),
           span("l1", "sound", "loud", 1, 2), span("l2", "sound", "loud", 41, 43),
           span("s1", "sound", "siren", 41, 43), span("s2", "sound", "car_horn", 30, 31)]
    )  # fmt: skip
    places = {"cam1": "yard", "mic1": "yard"}
    return Asker(store, now=T0 + 60, places=places, vocab=Vocabulary())


def test_a_quoted_utterance_is_an_anchor_not_a_camera(asker: Asker) -> None:
    seen = asker.ask('what was on camera when "red car on camera one" was said?')
    assert seen.short == "red object ×2", seen.text
    assert 'utterance "red car on camera one"' in seen.text


def test_an_utterance_is_found_by_most_of_its_words(asker: Asker) -> None:
    # the transcript reads "band" where the question has "van"
    found = asker.ask(
        "how many objects were on camera while someone said green van stopped at the gate?"
    )
    assert found.value == 2, found.text  # the green and the yellow thing
    assert asker.ask("was anything on camera when someone said the alarm is off?").short == "no"


def test_two_kinds_of_event_are_weighed(asker: Asker) -> None:
    answer = asker.ask("were there more sounds or sentences?")
    assert answer.value == {"sound": 2, "utterance": 2}, answer.text  # "loud" is no kind


def test_fewer_and_as_many(asker: Asker) -> None:
    assert asker.ask("were there fewer green objects than red objects?").short == "green"
    assert asker.ask("were there more green objects than red objects?").short == "red"
    same = asker.ask("were there as many yellow as blue objects?")
    assert same.short == "same" and same.text.startswith("Yes"), same.text
    assert asker.ask("were there as many red as blue objects?").text.startswith("No")


def test_colours_are_compared_without_a_noun(asker: Asker) -> None:
    assert asker.ask("which colour was more common, red or yellow?").value == {
        "red": 2,
        "yellow": 1,
    }
    assert asker.ask("which appeared more, red or blue?").short == "red"


def test_the_first_of_unnamed_things_and_of_sounds(asker: Asker) -> None:
    first = asker.ask("which object appeared first?")
    assert first.short == "green object" and "10:00:02 on cam1" in first.text, first.text
    assert asker.ask("which object was seen last?").short == "blue object"
    assert asker.ask("which sound was heard first?").short == "car_horn"  # not "loud"
    assert asker.ask("how many sounds were heard?").value == 2


def test_least_common_colour_says_least(asker: Asker) -> None:
    least = asker.ask("which colour was seen least?")  # blue, green, yellow: one each
    assert least.short == "blue, green, yellow" and "A tie" in least.text, least.text
    most = asker.ask("which colour was most common?")
    assert most.short == "red" and "most common" in most.text, most.text
    fewest = asker.ask("which colour was seen least after 10:00:10?")
    assert fewest.short == "blue" and "least common" in fewest.text, fewest.text


def test_shapes_are_the_things_on_camera_and_refusals_read_well(asker: Asker) -> None:
    assert asker.ask("what shapes were seen?").short.startswith("red object ×2")
    breed = asker.ask("what breed was the dog?")
    assert breed.refused and "does not record the breeds of things" in breed.text


def test_appeared_in_a_window_means_began_in_it(asker: Asker) -> None:
    # the two red things are in view 10:00:20-24 and 10:00:21-23, the blue one 10:00:40-44
    assert asker.ask("how many objects appeared after 10:00:21?").value == 2  # red #4, blue
    assert asker.ask("how many objects were on camera after 10:00:21?").value == 3
    assert asker.ask("what colours appeared after 10:00:21?").short == "blue, red"
    first = asker.ask("which object appeared first after 10:00:21?")
    assert first.short == "red object" and "10:00:21" in first.text, first.text  # not red #3


def test_what_passed_and_what_kind_most(asker: Asker) -> None:
    assert asker.ask("list what passed camera 1").short.startswith("red object ×2")
    assert asker.ask("what went by camera 1?").short.startswith("red object ×2")
    assert asker.ask("what colour passed most often?").short == "red"


@pytest.mark.parametrize(
    "question",
    ["was the driver wearing sunglasses?", "how many people smiled?", "was anyone in a helmet?"],
)
def test_accessories_and_expressions_are_not_recorded(asker: Asker, question: str) -> None:
    answer = asker.ask(question)
    assert answer.refused and "does not record" in answer.text, answer.text


def test_a_when_question_with_a_while_clause(asker: Asker) -> None:
    # the siren sounds 10:00:41-43 while the blue thing is in view (10:00:40-44)
    when = asker.ask("when did a siren sound while the blue object was on camera?")
    assert "10:00:41 (mic1)" in when.text and "during the blue object" in when.text, when.text
    seen = asker.ask("how many objects were on camera while a siren was heard?")
    assert seen.value == 1, seen.text  # "a siren was heard" is a sound, not words


def test_clothes_words_ask_about_people(asker: Asker) -> None:
    answer = asker.ask("what top colours were worn on camera 1?")
    assert answer.plan is not None and answer.plan["subject"]["labels"] == ["person"]
    assert answer.plan["field"] == "attributes.upper_colour" and answer.short == "none"


def test_two_times_are_weighed(asker: Asker) -> None:
    # things begin at 10:00:02, :03, :20, :21 and :40
    split = asker.ask("were there more objects before 10:00:10 or after?")
    assert split.value == {"before 10:00:10": 2, "after": 3} and split.short == "after", split.text
    halves = asker.ask("did more objects appear in the first half or the second half?")
    assert halves.short == "first half", halves.text  # 4 began by 10:00:30, 1 after


def test_an_archives_own_sound_labels_are_known_by_name() -> None:
    store = MemoryEventStore()
    store.put([span("b1", "sound", "beeps", 1, 2), span("h1", "sound", "car_horn", 8, 10)])
    store.put(moving(1, 1, 3, "green"))
    beeps = Asker(store, now=T0 + 60, places={"cam1": "yard", "mic1": "yard"}, vocab=Vocabulary())
    when = beeps.ask("when did the beeps sound?")
    assert "10:00:01 (mic1)" in when.text, when.text  # not the car horn ("beeping" in the table)
    assert beeps.ask("how many objects were on camera while a beep played?").value == 1
    assert beeps.ask("how many objects were on camera while the horn sounded?").value == 0


def test_what_a_microphone_heard_besides_speech(asker: Asker) -> None:
    assert asker.ask("what did mic 1 record?").short == "car_horn, siren"
    assert asker.ask("what did the microphone pick up?").short == "car_horn, siren"
    assert asker.ask("what sounds were there apart from speech?").short == "car_horn, siren"


def test_the_one_thing_after_an_anchor_is_the_next(asker: Asker) -> None:
    # the horn sounds at 10:00:30-31; the blue thing comes at 10:00:40, the siren at :41
    assert (
        asker.ask("what colour was the object that appeared right after the horn?").short == "blue"
    )
    assert asker.ask("what sound came after the horn?").short == "siren"  # not the horn itself
    assert asker.ask("what was the colour of the object seen after the horn?").short == "blue"


def test_longest_shortest_and_loudest(asker: Asker) -> None:
    longest = asker.ask("which object stayed longest on camera?")
    assert longest.short in ("green object", "red object", "blue object"), longest.text
    assert "lasted longest (4.0 s)" in longest.text  # tracks 1, 3 and 5 span 4 s each
    assert asker.ask("which object was on camera the shortest?").short == "yellow object"
    assert asker.ask("which sound lasted longest?").short == "siren"  # 2 s against 1 s


def levels() -> Asker:
    """Beeps at 10:00:01-02 peaking at -30 dBFS, a car horn at 10:00:08-10 at -8 dBFS, as
    `audio.loudness` measured them."""
    store = MemoryEventStore()
    quiet, loud = span("l1", "sound", "loud", 1, 2), span("l2", "sound", "loud", 8, 10)
    quiet.attributes["peak_db"], loud.attributes["peak_db"] = -30.0, -8.0
    store.put([span("b1", "sound", "beeps", 1, 2), span("h1", "sound", "car_horn", 8, 10)])
    store.put([quiet, loud])
    return Asker(store, now=T0 + 60, vocab=Vocabulary())


def test_the_loudest_sound_is_read_from_the_loudness_events() -> None:
    assert levels().ask("which sound was loudest?").short == "car_horn"


def test_at_a_moment_a_sound_or_utterance_still_going_on_counts(asker: Asker) -> None:
    # the siren sounds 10:00:41-43, "red car on camera one" is said 10:00:21-23
    assert asker.ask("what was heard at 10:00:42?").short == "siren"
    assert asker.ask("was the siren sounding at 10:00:42?").short == "yes"
    assert asker.ask("was anything said at 10:00:22?").short == "yes"
    assert asker.ask("was the siren sounding at 10:00:45?").short == "no"
    # a window that is not a moment still counts what began in it
    assert asker.ask("how many sirens after 10:00:42?").value == 0


def test_right_before_an_anchor_is_the_one_next_to_it(asker: Asker) -> None:
    said = asker.ask("what was said just before the siren?")
    assert said.text.count('mic1: "') == 1 and "red car on camera one" in said.text, said.text
    everything = asker.ask("what was said before the siren?")
    assert everything.text.count('mic1: "') == 2, everything.text


def test_what_happened_at_a_moment_is_what_was_seen_heard_and_said(asker: Asker) -> None:
    # at 10:00:42 the blue thing is in view and the siren sounds
    seen = asker.ask("what happened at 10:00:42?")
    assert "blue object" in seen.text and "siren" in seen.text, seen.text
    said = asker.ask("what was going on at 10:00:22?")
    assert "red car on camera one" in said.text and "red object" in said.text, said.text
    assert asker.ask("what happened?").plan["type"] == "list"  # no moment: the things seen


def test_comparisons_said_other_ways_and_durations_in_seconds(asker: Asker) -> None:
    compared = asker.ask("how many red objects were there compared to blue?")
    assert compared.short == "red", compared.text  # 2 red tracks, 1 blue
    assert asker.ask("red objects versus green objects: which were more?").short == "red"
    kinds = asker.ask("how many objects were there compared with sounds?")
    assert kinds.text.endswith("more objects."), kinds.text
    assert asker.ask("how many seconds did the siren last?").value == pytest.approx(2.0)


def test_the_second_or_third_one_in_time_order(asker: Asker) -> None:
    # things enter at :02 (green), :03 (yellow), :20 (red), :21 (red), :40 (blue)
    assert asker.ask("which colour was the second object?").short == "yellow"
    assert asker.ask("what colour was the fifth object?").short == "blue"
    assert asker.ask("what was the second sound?").short == "siren"  # horn :30, siren :41
    assert "10:00:21" in asker.ask("when was the second utterance?").text
    assert asker.ask("how many objects in the second half?").value == 1  # not an ordinal


def test_an_anchor_named_by_its_order_or_its_start(asker: Asker) -> None:
    # utterances at :03-:05 and :21-:23; things enter :02 (green), :03 (yellow), :20, :21, :40
    before = asker.ask("how many objects were there before the first sentence?")
    assert before.value == 2, before.text  # green and yellow, not the reds before the second
    during = asker.ask("how many objects were on camera during the second utterance?")
    assert during.value == 2, during.text  # the two red things
    store = MemoryEventStore()
    store.put([*moving(1, 10, 30, "grey"), span("t", "transcript", "speech", 25, 27, "gate")])
    late = Asker(store, now=T0 + 60, places={"cam1": "yard", "mic1": "yard"}, vocab=Vocabulary())
    assert late.ask("was anything said while the grey object was on camera?").short == "yes"
    assert late.ask("was anything said when the grey object arrived?").short == "no"  # at :10


def test_which_of_two_was_louder_or_longer() -> None:
    asker = levels()
    assert asker.ask("which was louder, the beeps or the horn?").short == "car_horn"
    assert asker.ask("which lasted longer, the horn or the beeps?").short == "car_horn"


def test_between_two_events(asker: Asker) -> None:
    # the horn ends at :31, the siren starts at :41; the blue thing is in view :40-:44
    between = asker.ask("how many objects were there between the horn and the siren?")
    assert between.value == 1, between.text
    assert "between the car horn at" in between.text and "and the siren at" in between.text
    said = asker.ask("what was said between the first sentence and the horn?")
    assert said.text.count('mic1: "') == 1 and "red car" in said.text, said.text
    assert asker.ask("how many objects between 10:00:01 and 10:00:04?").value == 2  # a time
    nothing = asker.ask("was anything said between the siren and the horn?")
    assert nothing.short == "no", nothing.text  # no horn after the siren


def test_the_quietest_sound_and_the_colours_of_several_things(asker: Asker) -> None:
    assert levels().ask("which sound was the quietest?").short == "beeps"
    assert levels().ask("which was quieter, the beeps or the horn?").short == "beeps"
    # "what colour were the objects": each one's colour, not the most common one
    both = asker.ask("what colour were the objects while the first sentence was said?")
    assert both.short == "green, yellow", both.text


def test_values_seen_more_than_once_or_only_once(asker: Asker) -> None:
    # colours by track: red ×2, green, yellow, blue
    assert asker.ask("which colours appeared more than once?").short == "red"
    assert asker.ask("what colours were seen at least twice?").short == "red"
    once = asker.ask("which colours were seen only once?")
    assert once.short == "blue, green, yellow", once.text
    assert asker.ask("how many colours appeared more than once?").value == 1
    assert asker.ask("which sounds were heard more than once?").short == "none"
    assert asker.ask("were there more red or blue objects?").short == "red"  # still a comparison
    assert asker.ask("which colours appeared more than 2 times?").short == "none"
    from senri.ask.parser import _times

    assert _times("objects that stayed more than 5 minutes")[0] == (1, None)  # not a count


def test_the_coloured_one_is_a_thing_and_never_its_own_partner(asker: Asker) -> None:
    after = asker.ask("what colour was the object that came in after the yellow one?")
    assert after.short == "red", after.text  # the next to come in, not the yellow itself
    together = asker.ask(
        "what colour was the thing that entered at the same time as the yellow one?"
    )
    assert together.short == "green", together.text  # came in a second before it
    came = asker.ask("which things came in while the green one was on camera?")
    assert came.short == "yellow object", came.text  # not the green one, in view already
    # a count of what was in view keeps the anchor: the green and the yellow thing
    assert asker.ask("how many things were on camera while the yellow one was?").value == 2


def test_before_anyone_spoke_is_before_the_first_utterance(asker: Asker) -> None:
    seen = asker.ask("was anything on camera before anyone spoke?")
    assert seen.short == "yes" and "10:00:03" in seen.text, seen.text
    assert asker.ask("how many sounds were heard in the final 20 seconds?").value == 1


def test_two_times_compared_count_each_thing_where_it_came_in(asker: Asker) -> None:
    split = asker.ask("were more things seen in the first 4 seconds or after?")
    # the green thing (2-6 s) stayed past 5 s: it counts once, where it came in
    assert split.value == {"first 4 seconds": 2, "after": 3}, split.text
    once = asker.ask("were there more things in the first 10 seconds than in the last 10?")
    assert once.value == {"first 10 seconds": 2, "last 10": 0}, once.text


def test_seen_twice_is_exactly_twice_and_final_is_last(asker: Asker) -> None:
    assert asker.ask("which colour was seen twice?").short == "red", "two red things"
    assert asker.ask("which colours appeared once?").short == "blue, green, yellow"
    final = asker.ask("which was the final thing to appear?")
    assert final.short == "blue object", final.text  # the thing, not the camera


def test_did_two_things_overlap(asker: Asker) -> None:
    # the siren (41-43 s) and the sentences (3-5, 21-23 s) never overlap; the blue thing
    # (40-44 s) and the siren do
    assert asker.ask("did the siren and an utterance overlap?").short == "no"
    assert asker.ask("did the siren and the blue thing overlap?").short == "yes"
    # 'a yellow and a green thing' share their noun: both things, not a yellow person
    together = asker.ask("did a yellow and a green thing appear at the same time?")
    assert together.short == "yes" and "yellow object" in together.text, together.text
    assert asker.ask("did a yellow and a blue thing appear at the same time?").short == "no"


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("tell me how many things there were", "5"),
        ("tell me the colour of the last thing", "blue"),
        ("give me the number of red things", "2"),
        ("tell me whether a siren was heard", "yes"),
        ("state the time of the siren", "10:00"),
        ("at what point did the car horn sound?", "10:00"),
        ("what was heard at the very start?", "car_horn"),  # the first recognised sound
        ("what colour was the thing at the very end?", "blue"),
        ("what was seen first?", "green object"),
        ("was anything on camera in the middle of the recording?", "no"),  # 29-31 s: nothing
    ],
)
def test_requests_and_the_recording_s_start_middle_and_end(
    asker: Asker, question: str, short: str
) -> None:
    answer = asker.ask(question)
    assert answer.short == short, answer.text


def test_was_one_longer_or_louder_than_the_other(asker: Asker) -> None:
    # the siren 10:00:41-43 (2 s), the horn 10:00:30-31 (1 s); the horn peaks at -8 dBFS,
    # the beeps at -30
    for question, short in [
        ("was the siren longer than the horn?", "yes"),
        ("was the horn longer than the siren?", "no"),
        ("was the horn shorter than the siren?", "yes"),
    ]:
        answer = asker.ask(question)
        assert answer.short == short and "lasted" in answer.text, (question, answer.text)
    assert levels().ask("were the beeps louder than the horn?").short == "no"
    assert levels().ask("was the horn louder than the beeps?").short == "yes"
    speech = asker.ask("how much speech was there?")  # two sentences of 2 s
    assert speech.value == pytest.approx(4.0) and "seconds" in speech.text, speech.text


def test_comparisons_either_side_of_an_anchor_and_said_otherwise(asker: Asker) -> None:
    # green 2 s, yellow 3 s, red 20 s, red 21 s, blue 40 s; the car horn at 30-31 s
    sides = asker.ask("were there more things before the horn or after it?")
    assert sides.value == {"before": 4, "after": 1} and sides.short == "before", sides.text
    flipped = asker.ask("did more things appear after the car horn than before it?")
    assert flipped.value == {"after": 1, "before": 4}, flipped.text
    assert asker.ask("did red things outnumber yellow things?").short == "red"
    equal = asker.ask("is the number of green things equal to the number of yellow things?")
    assert equal.text.startswith("Yes"), equal.text


def test_when_an_anchor_ended(asker: Asker) -> None:
    said = asker.ask("what was said when the yellow thing left?")  # it left at 10:00:05
    assert said.short == "the green band stopped at the gate", said.text
    ended = asker.ask("what was said when the blue thing left?")  # 10:00:44: nothing
    assert ended.short == "none" and "10:00:44" in ended.text, ended.text
    began = asker.ask("what was said when the blue thing arrived?")  # 10:00:40: nothing
    assert began.short == "none" and "10:00:40" in began.text, began.text


def test_counts_against_a_number_words_said_and_lengths(asker: Asker) -> None:
    more = asker.ask("were there more than 3 things?")  # five
    assert more.short == "yes" and "5 objects" in more.text, more.text
    assert asker.ask("were there fewer than two sirens?").short == "yes"
    assert asker.ask("was there more than one siren?").short == "no"
    assert asker.ask("was the word car spoken?").short == "yes"
    assert asker.ask("was the word bus used?").short == "no"
    longer = asker.ask("did any thing stay on screen longer than 2 seconds?")
    assert longer.refused and "length" in longer.text, longer.text


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("There was a siren, right?", "yes"),  # a statement with a tag
        ("A dog barked, didn't it?", "no"),
        ("Confirm that a car horn sounded", "yes"),
        ("Verify that a purple thing was on camera", "no"),
        ("True or false: a red object passed", "yes"),
        ("Siren?", "yes"),  # a bare noun asks whether there was one
        ("Might there have been a siren?", "yes"),
        ("Has anybody mentioned the gate?", "yes"),  # the topic is the gate, not "anybody"
        ("Has anybody mentioned the van?", "no"),
    ],
)
def test_whether_said_other_ways(asker: Asker, question: str, short: str) -> None:
    answer = asker.ask(question)
    assert answer.short == short, answer.text


def test_check_the_values_lists_them(asker: Asker) -> None:
    assert set(asker.ask("check the colours on camera 1").short.split(", ")) == {
        "green",
        "yellow",
        "red",
        "blue",
    }


@pytest.mark.parametrize(
    "question",
    [
        "Print the colours seen on camera 1",
        "I'd like a list of the colours on camera 1",
        "Can I get the colours from camera 1?",
        "Colours on camera 1?",  # a noun phrase of values
        "All the colours on camera 1",
        "Provide a breakdown of the colours on camera 1",
    ],
)
def test_requests_for_values_list_them(asker: Asker, question: str) -> None:
    answer = asker.ask(question)
    assert set(answer.short.split(", ")) == {"green", "yellow", "red", "blue"}, answer.text


def test_what_all_was_heard_lists_the_sounds(asker: Asker) -> None:
    assert set(asker.ask("what all was heard?").short.split(", ")) == {"siren", "car_horn"}


def test_a_place_in_the_recording_as_a_player_shows_it(asker: Asker) -> None:
    # the recording begins at 10:00:01 (its first event); "00:00:20" is 20 s into it
    at = asker.ask("which colours were on camera at 00:00:20?")
    assert at.short == "red" and "10:00:21" in at.text, at.text
    assert asker.ask("how many things appeared after 00:00:35?").value == 1  # the blue one
    early = asker.ask("what was on camera at 00:10?")  # 00:10 is ten past midnight, not 10 s
    assert early.refused and "covers" in early.text


def test_what_passed_names_no_camera_and_asks_every_one(asker: Asker) -> None:
    answer = asker.ask("what passed between 10:00:19 and 10:00:30?")
    assert not answer.refused and "red object" in answer.text, answer.text


def test_a_topic_after_say_and_things_that_only_sound_unrecorded(asker: Asker) -> None:
    assert asker.ask("did anyone say the gate was closed?").short == "yes"  # about the gate
    assert asker.ask("did anyone say something about a van?").short == "no"
    assert (
        asker.ask("what did the speaker say first?").short == "the green band stopped at the gate"
    )
    assert asker.ask("was there an electric drill?").short == "no"  # a sound, not a fuel


def test_a_request_that_leads_to_its_question_is_that_question(asker: Asker) -> None:
    assert asker.ask("i want to know when the siren sounded").short == "10:00"
    assert asker.ask("I'd like to know whether a horn sounded").short == "yes"
    assert asker.ask("can you print how many red things passed").value == 2


def test_what_else_leaves_the_anchor_out(asker: Asker) -> None:
    assert asker.ask("what was heard during the siren?").short == "siren"  # it, while it sounded
    assert asker.ask("what else was heard during the siren?").short == "none"
    with_it = asker.ask("what was on camera while the green object was?")
    assert with_it.short == "green object, yellow object", with_it.text
    assert asker.ask("what else was on camera while the green object was?").short == (
        "yellow object"  # not the green one itself
    )
