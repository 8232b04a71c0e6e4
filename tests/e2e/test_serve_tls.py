"""`senri serve --tls-cert/--tls-key` answers HTTPS only, with keys checked inside the tunnel."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from senri.api.auth import KeyRing
from tests.serving import self_signed, serve

pytestmark = pytest.mark.e2e


def test_https_with_keys(tmp_path: Path) -> None:
    cert, private = self_signed(tmp_path, "127.0.0.1")
    ring = KeyRing(tmp_path / "keys.json")
    key = ring.create("tls", ["read"])
    ring.save()
    trusted = ssl.create_default_context(cafile=str(cert))
    args = ["--api-keys", str(ring.path), "--tls-cert", str(cert), "--tls-key", str(private)]
    with serve(args, tmp_path / "serve.log", tls=trusted) as url:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5, context=trusted) as r:
            assert json.load(r)["status"] == "ok"
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{url}/events", timeout=5, context=trusted)
        assert denied.value.code == 401
        denied.value.close()  # an unread error response would hold its connection open
        request = urllib.request.Request(f"{url}/events", headers={"X-API-Key": key})
        with pytest.raises(urllib.error.HTTPError) as no_store:  # past the key: no archive set
            urllib.request.urlopen(request, timeout=5, context=trusted)
        assert no_store.value.code == 503
        no_store.value.close()
        with pytest.raises(urllib.error.URLError):  # a client that does not trust it stops
            urllib.request.urlopen(f"{url}/healthz", timeout=5)
        plain = url.replace("https://", "http://")
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # no plain HTTP
            urllib.request.urlopen(f"{plain}/healthz", timeout=5)
