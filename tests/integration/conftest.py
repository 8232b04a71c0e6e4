"""Fixtures shared by the integration tests (real services on localhost)."""

from __future__ import annotations

import pytest

from senri.services import kafka_bootstrap
from senri.services.probes import probe_kafka
from senri.services.settings import kafka_endpoint


@pytest.fixture(scope="module")
def bootstrap() -> str:
    """The Kafka broker address, or a skip naming how to start one."""
    probe = probe_kafka(kafka_endpoint(), timeout=3.0)
    if not probe.healthy:
        pytest.skip(
            f"no Kafka at {kafka_bootstrap()} ({probe.detail}); "
            "start it with `python -m senri.services up --only kafka`"
        )
    return kafka_bootstrap()
