"""Topic names and specs: what `senri` asks the brokers to create."""

from __future__ import annotations

import pytest

from senri.connectors.kafka import TopicSpec, parse_bus, topic_part, topic_partitions


def test_replication_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENRI_KAFKA_REPLICATION", raising=False)
    assert TopicSpec("t", 3).replication == 1  # one broker, as `senri services` runs
    monkeypatch.setenv("SENRI_KAFKA_REPLICATION", "3")
    specs = [TopicSpec("t", 3), TopicSpec.compacted("c"), TopicSpec.changelog("s")]
    assert [s.replication for s in specs] == [3, 3, 3]
    assert specs[2].configs["cleanup.policy"] == "compact"


@pytest.mark.parametrize("value", ["0", "three", "-1", "2.5"])
def test_a_bad_replication_setting_says_what_it_wants(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SENRI_KAFKA_REPLICATION", value)
    with pytest.raises(ValueError, match="SENRI_KAFKA_REPLICATION must be a whole number >= 1"):
        TopicSpec("t")


def test_bus_urls_and_topic_parts() -> None:
    assert parse_bus("kafka://a:9092,b:9093") == "a:9092,b:9093"
    with pytest.raises(ValueError, match="only kafka://"):
        parse_bus("redis://x:1")
    assert topic_part("cam 1/é") == "cam-1--"  # only what a topic name may hold


def test_partitions_follow_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENRI_KAFKA_PARTITIONS", raising=False)
    assert topic_partitions() == 3
    monkeypatch.setenv("SENRI_KAFKA_PARTITIONS", "12")
    assert topic_partitions() == 12
    monkeypatch.setenv("SENRI_KAFKA_PARTITIONS", "0")
    with pytest.raises(ValueError, match="SENRI_KAFKA_PARTITIONS must be a whole number >= 1"):
        topic_partitions()


def test_changelog_segments_close_so_they_get_compacted() -> None:
    configs = TopicSpec.changelog("s").configs
    assert int(configs["segment.ms"]) <= 60 * 60 * 1000  # not the broker's 7 days
    assert int(configs["segment.bytes"]) >= int(configs["max.message.bytes"])


def test_kafka_python_checksums_in_c() -> None:
    """A worker's restore reads its whole changelog through kafka-python; with its pure-Python
    CRC32C that read 86 MB in 16 s, past the group's session timeout (the worker was then
    thrown out and rejoined for ever). The `crc32c` package makes it 0.6 s."""
    from kafka.record import util

    assert util.crc32c_c is not None
