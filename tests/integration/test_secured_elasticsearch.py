"""The Elasticsearch store speaks HTTPS with an API key or a user when the environment says so.

The embedded node has no x-pack (docs/services.md), so it cannot check credentials itself.
Here a TLS front door made with openssl stands before the real node: it answers 401 to any
request without the expected ``Authorization`` (an API key, or basic credentials), and passes
the rest through. What is tested is the client side: that the store sends the credentials
from `SENRI_ES_*` on every request, verifies the node's certificate against
`SENRI_ES_CA_FILE`, and says what went wrong when either is off. Elasticsearch's own security
(roles, API-key creation) is not exercised: that needs the distribution, not on the registries.
"""

from __future__ import annotations

import base64
import http.client
import ssl
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from senri.credentials import CredentialsError, elasticsearch_options
from senri.errors import StoreError
from senri.indexes.events.query import Eq, Query
from senri.indexes.events.stores import open_store
from senri.records import Event
from senri.services import elasticsearch_url, manager
from senri.services.probes import probe_elasticsearch
from senri.services.settings import elasticsearch_endpoint
from tests.serving import self_signed

pytestmark = pytest.mark.integration
API_KEY = base64.b64encode(b"key-id:key-secret").decode()
USER, PASSWORD = "archivist", "s3cret words"
ALLOWED = {f"ApiKey {API_KEY}", "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


@pytest.fixture(scope="module")
def front_door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[str]]]:
    """(https address, CA file, the Authorization header of every request) of the door."""
    if not probe_elasticsearch(elasticsearch_endpoint(), 3.0).healthy:
        manager.up(only="elasticsearch", say=lambda _: None)
    node = urlsplit(elasticsearch_url())
    cert, key = self_signed(tmp_path_factory.mktemp("es-tls"))
    seen: list[str] = []

    class Door(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _forward(self) -> None:
            given = self.headers.get("Authorization", "")
            seen.append(given)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if given not in ALLOWED:
                reply = b'{"error": "missing or wrong credentials", "status": 401}'
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'ApiKey, Basic realm="security"')
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                return
            upstream = http.client.HTTPConnection(node.hostname, node.port or 9200, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in
                       ("authorization", "host", "connection")}  # fmt: skip
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            upstream.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Door)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", cert, seen
    finally:
        server.shutdown()
        server.server_close()


def _roundtrip(address: str) -> list[Event]:
    index = f"senri-test-secure-{uuid.uuid4().hex[:8]}"
    store = open_store(f"elasticsearch+https://{address}/{index}")
    try:
        store.put([Event(f"e{i}", "cam1", 100.0 + i, "object", "car", 0.9) for i in range(3)])
        store.flush()
        return list(store.search(Query(Eq("stream_id", "cam1"))))
    finally:
        store.client.options(ignore_status=404).indices.delete(index=index)
        store.client.options(ignore_status=404).indices.delete_index_template(name=index)
        store.close()


def test_api_key_and_basic_auth_over_verified_tls(
    front_door: tuple[str, Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    address, cert, seen = front_door
    monkeypatch.setenv("SENRI_ES_CA_FILE", str(cert))
    monkeypatch.setenv("SENRI_ES_API_KEY", API_KEY)
    seen.clear()
    assert sorted(e.id for e in _roundtrip(address)) == ["e0", "e1", "e2"]
    assert len(seen) >= 4 and set(seen) == {f"ApiKey {API_KEY}"}  # on every request
    monkeypatch.delenv("SENRI_ES_API_KEY")
    monkeypatch.setenv("SENRI_ES_USERNAME", USER)
    monkeypatch.setenv("SENRI_ES_PASSWORD", PASSWORD)
    assert len(_roundtrip(address)) == 3


def test_missing_credentials_and_untrusted_certificates_are_refused(
    front_door: tuple[str, Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    address, cert, _ = front_door
    monkeypatch.setenv("SENRI_ES_CA_FILE", str(cert))
    with pytest.raises(StoreError, match="401"):
        open_store(f"elasticsearch+https://{address}/senri-test-secure-none")
    monkeypatch.delenv("SENRI_ES_CA_FILE")
    monkeypatch.setenv("SENRI_ES_API_KEY", API_KEY)
    with pytest.raises(StoreError, match=r"(?i)certificate"):
        open_store(f"elasticsearch+https://{address}/senri-test-secure-none")
    with pytest.raises(StoreError, match="not in the store URL"):
        open_store(f"elasticsearch+https://user:pw@{address}/x")


def test_elasticsearch_settings_that_cannot_work_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SENRI_ES_API_KEY", API_KEY)
    monkeypatch.setenv("SENRI_ES_USERNAME", USER)
    with pytest.raises(CredentialsError, match="not both"):
        elasticsearch_options()
    monkeypatch.delenv("SENRI_ES_API_KEY")
    with pytest.raises(CredentialsError, match="go together"):
        elasticsearch_options()
    monkeypatch.setenv("SENRI_ES_PASSWORD", PASSWORD)
    assert elasticsearch_options() == {"basic_auth": (USER, PASSWORD)}
