"""Real Kafka and Elasticsearch on localhost for tests and development, from Maven Central jars.

`python -m senri.services up` (or `senri services up`) resolves the jars once with Maven, starts
a KRaft Kafka on localhost:9092 and an Elasticsearch 8 node on localhost:9200 as detached JVMs,
and waits until both answer. Clients find them with `kafka_bootstrap()` and
`elasticsearch_url()`, which honour `$SENRI_KAFKA` and `$SENRI_ELASTICSEARCH` (e.g. when the
servers come from docker/compose.yaml or a real cluster instead). See docs/services.md.
"""

from senri.services.settings import ServiceError, elasticsearch_url, kafka_bootstrap

__all__ = ["ServiceError", "elasticsearch_url", "kafka_bootstrap"]
