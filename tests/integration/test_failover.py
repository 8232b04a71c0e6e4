"""The failover matrix's kill -9 cases against real Kafka and Elasticsearch: nothing lost,
duplicated or changed, in the store and on the results topic, against an undisturbed run.

Each run is two `senri worker` processes over the demo world's camera and microphone
(`senri.evaluation.failover`); one is killed with SIGKILL mid-utterance, mid-track, or (exit
137 at a chosen point) after its results or its state were sent and before its commit. About
40 s per run: the survivor takes over only after the group's session timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from senri.evaluation.failover import FAULTS, Fault, Scenario, compare
from senri.services import elasticsearch_url, manager
from senri.services.probes import probe_elasticsearch
from senri.services.settings import elasticsearch_endpoint

pytestmark = pytest.mark.integration

Reference = tuple[Scenario, dict[str, dict[str, Any]], list[dict[str, Any]]]
KILLS = [f for f in FAULTS if f.action in ("kill", "crash-after-state")]


@pytest.fixture(scope="module")
def scenario(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """The ingested demo world; the stored and published events of an undisturbed run."""
    if not probe_elasticsearch(elasticsearch_endpoint(), 3.0).healthy:
        manager.up(only="elasticsearch", say=lambda _: None)
    scene = Scenario(tmp_path_factory.mktemp("failover"), bootstrap, elasticsearch_url())
    try:
        reference, published, _ = scene.run(Fault("reference", "none"), workers=1)
        yield scene, reference, published
    finally:
        scene.close()


def test_the_reference_run_holds_every_kind_of_event(scenario: Reference) -> None:
    """The comparison means something only if the reference has tracks, speech and sounds,
    and published each stored event once."""
    _, reference, published = scenario
    assert sorted(e["id"] for e in published) == sorted(reference)
    kinds = {(e["kind"], e["label"]) for e in reference.values()}
    assert any(e.get("track_id") for e in reference.values())
    assert any(kind == "speech" for kind, _ in kinds)
    assert any(kind == "sound" for kind, _ in kinds)
    assert any(kind == "dialect" for kind, _ in kinds)
    assert len(reference) > 250


@pytest.mark.parametrize("fault", KILLS, ids=[f.name for f in KILLS])
def test_kill_loses_duplicates_and_changes_nothing(scenario: Reference, fault: Fault) -> None:
    scene, reference, _ = scenario
    stored, published, seconds = scene.run(fault)
    outcome = compare(fault.name, reference, stored, published, seconds)
    assert (outcome.lost, outcome.duplicated, outcome.changed) == (0, 0, 0), outcome.examples
    assert (outcome.topic_lost, outcome.topic_duplicated, outcome.topic_changed) == (0, 0, 0), (
        outcome.examples
    )


@pytest.fixture(scope="module")
def packets(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """The same world with the camera as its H.264 packets, decoded by decode.video."""
    if not probe_elasticsearch(elasticsearch_endpoint(), 3.0).healthy:
        manager.up(only="elasticsearch", say=lambda _: None)
    root = tmp_path_factory.mktemp("failover-packets")
    scene = Scenario(root, bootstrap, elasticsearch_url(), packets=True)
    try:
        reference, published, _ = scene.run(Fault("reference", "none"), workers=1)
        yield scene, reference, published
    finally:
        scene.close()


MID_TRACK = next(f for f in FAULTS if f.action == "kill" and "track" in f.name)


def test_kill_mid_track_on_compressed_video_loses_duplicates_and_changes_nothing(
    packets: Reference,
) -> None:
    """kill -9 of the worker holding the camera while a track is open, the camera being
    packets: the survivor restarts its decoder from the changelog's kept packets."""
    scene, reference, _ = packets
    assert "op: decode.video" in (scene.root / "reference.yaml").read_text()
    assert any(e.get("track_id") for e in reference.values()) and len(reference) > 250
    stored, published, seconds = scene.run(MID_TRACK)
    outcome = compare(MID_TRACK.name, reference, stored, published, seconds)
    assert (outcome.lost, outcome.duplicated, outcome.changed) == (0, 0, 0), outcome.examples
    assert (outcome.topic_lost, outcome.topic_duplicated, outcome.topic_changed) == (0, 0, 0), (
        outcome.examples
    )
