"""Credentials for secured Kafka and Elasticsearch, read from the environment by every client.

Every Kafka client senri makes (ingest, workers, topic admin, vector replicas, the bus tools)
takes `kafka_options()`, and the Elasticsearch event store takes `elasticsearch_options()`,
so one set of variables secures a whole deployment (a Kubernetes Secret mounted as env and
files, for instance). Secrets can be given as files (``..._FILE``), which keeps them out of
process listings and shell history.

Kafka (both kafka-python and aiokafka accept the same keyword arguments):
    SENRI_KAFKA_SECURITY_PROTOCOL  PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL
    SENRI_KAFKA_SASL_MECHANISM     PLAIN (default with SASL), SCRAM-SHA-256 or SCRAM-SHA-512
    SENRI_KAFKA_USERNAME           the SASL user
    SENRI_KAFKA_PASSWORD[_FILE]    its password
    SENRI_KAFKA_CA_FILE            CA bundle (PEM) that signed the brokers' certificates
    SENRI_KAFKA_CERT_FILE, SENRI_KAFKA_KEY_FILE   a client certificate and key (mutual TLS)

Elasticsearch (the URL's scheme picks TLS: ``elasticsearch+https://HOST:PORT/INDEX`` or an
``https://`` `SENRI_ELASTICSEARCH`):
    SENRI_ES_API_KEY[_FILE]        an API key (the base64 ``id:key`` Elasticsearch returns)
    SENRI_ES_USERNAME, SENRI_ES_PASSWORD[_FILE]   basic authentication instead
    SENRI_ES_CA_FILE               CA bundle (PEM) that signed the node's certificate

A setting that cannot work (a protocol Kafka does not have, SASL without a user, a file that
is not there) raises `CredentialsError` naming the variable, before any connection is tried.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any

from senri.errors import SenriError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class CredentialsError(SenriError, ValueError):
    """A Kafka or Elasticsearch security setting in the environment that cannot work."""


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _secret(name: str) -> str | None:
    """`name` from the environment, or the contents of the file `name`_FILE names."""
    value = _env(name)
    path = _env(f"{name}_FILE")
    if value is not None and path is not None:
        raise CredentialsError(f"set {name} or {name}_FILE, not both")
    if path is None:
        return value
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CredentialsError(f"{name}_FILE={path}: {exc.strerror or exc}") from None


def _file(name: str) -> str | None:
    path = _env(name)
    if path is not None and not Path(path).is_file():
        raise CredentialsError(f"{name}={path}: no such file")
    return path


def kafka_options() -> dict[str, Any]:
    """Keyword arguments for a Kafka client (empty for a plain broker on a trusted network)."""
    protocol = (_env("SENRI_KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise CredentialsError(
            f"SENRI_KAFKA_SECURITY_PROTOCOL={protocol}: use one of {', '.join(PROTOCOLS)}"
        )
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.endswith("SSL"):
        context = ssl.create_default_context(cafile=_file("SENRI_KAFKA_CA_FILE"))
        cert, key = _file("SENRI_KAFKA_CERT_FILE"), _file("SENRI_KAFKA_KEY_FILE")
        if (cert is None) != (key is None):
            raise CredentialsError("SENRI_KAFKA_CERT_FILE and SENRI_KAFKA_KEY_FILE go together")
        if cert is not None:
            context.load_cert_chain(cert, key)
        options["ssl_context"] = context
    if protocol.startswith("SASL"):
        mechanism = (_env("SENRI_KAFKA_SASL_MECHANISM") or "PLAIN").upper()
        if mechanism not in MECHANISMS:
            raise CredentialsError(
                f"SENRI_KAFKA_SASL_MECHANISM={mechanism}: use one of {', '.join(MECHANISMS)}"
            )
        user, password = _env("SENRI_KAFKA_USERNAME"), _secret("SENRI_KAFKA_PASSWORD")
        if user is None or password is None:
            raise CredentialsError(
                f"{protocol} needs SENRI_KAFKA_USERNAME and SENRI_KAFKA_PASSWORD (or _FILE)"
            )
        options |= {
            "sasl_mechanism": mechanism,
            "sasl_plain_username": user,
            "sasl_plain_password": password,
        }
    return options


def elasticsearch_options() -> dict[str, Any]:
    """Keyword arguments for the `elasticsearch.Elasticsearch` client: auth and CA."""
    options: dict[str, Any] = {}
    api_key = _secret("SENRI_ES_API_KEY")
    user, password = _env("SENRI_ES_USERNAME"), _secret("SENRI_ES_PASSWORD")
    if api_key is not None and (user or password):
        raise CredentialsError("set SENRI_ES_API_KEY or SENRI_ES_USERNAME/PASSWORD, not both")
    if (user is None) != (password is None):
        raise CredentialsError("SENRI_ES_USERNAME and SENRI_ES_PASSWORD go together")
    if api_key is not None:
        options["api_key"] = api_key
    elif user is not None and password is not None:
        options["basic_auth"] = (user, password)
    ca = _file("SENRI_ES_CA_FILE")
    if ca is not None:
        options["ca_certs"] = ca
    return options
