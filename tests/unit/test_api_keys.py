"""API keys for `senri serve`: kept as digests, checked per route scope, declared in OpenAPI."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from senri.api.app import create_app
from senri.api.auth import ApiKeyError, KeyRing
from senri.cli import app as cli

pytestmark = pytest.mark.unit


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys.json")


def test_keys_are_stored_as_digests_readable_by_the_owner_only(ring: KeyRing) -> None:
    key = ring.add("dashboard", ["ask", "events"])
    ring.save()
    text = ring.path.read_text()
    assert key.startswith("snr_") and key not in text
    assert stat.S_IMODE(ring.path.stat().st_mode) == 0o600
    again = KeyRing.load(ring.path)
    found = again.check(key)
    assert found is not None and found.name == "dashboard"
    assert found.scopes == {"ask", "events"}
    assert again.check(key + "x") is None and again.check("") is None


def test_bad_names_scopes_and_files_are_refused(ring: KeyRing, tmp_path: Path) -> None:
    with pytest.raises(ApiKeyError, match="letters, digits"):
        ring.add("two words", [])
    with pytest.raises(ApiKeyError, match="unknown scope"):
        ring.add("x", ["write"])
    ring.add("x", [])
    with pytest.raises(ApiKeyError, match="exists"):
        ring.add("x", [])
    assert ring.keys["x"].scopes == {"events", "ask", "similar"}  # none given: all
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ApiKeyError, match="cannot read API keys"):
        KeyRing.load(bad)
    with pytest.raises(ApiKeyError, match="no key called"):
        ring.remove("nobody")


def test_routes_need_a_key_with_their_scope(ring: KeyRing) -> None:
    asks = ring.add("asker", ["ask"])
    c = TestClient(create_app(keys=ring))
    body = {"question": "how many cars?"}
    r = c.post("/ask", json=body)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "API key is required" in r.json()["detail"]
    assert c.post("/ask", json=body, headers={"X-API-Key": "snr_guess"}).status_code == 401
    # a right key passes the check: the route then says no archive is configured (503)
    assert c.post("/ask", json=body, headers={"X-API-Key": asks}).status_code == 503
    bearer = {"Authorization": f"Bearer {asks}"}
    assert c.post("/ask", json=body, headers=bearer).status_code == 503
    r = c.get("/events", headers={"X-API-Key": asks})
    assert r.status_code == 403 and "lacks the 'events' scope" in r.json()["detail"]
    assert c.get("/healthz").status_code == 200  # probes need no key


def test_openapi_declares_the_schemes_only_when_keys_are_required(ring: KeyRing) -> None:
    ring.add("k", [])
    spec = TestClient(create_app(keys=ring)).get("/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"APIKeyHeader", "HTTPBearer"}
    assert {"APIKeyHeader": []} in spec["paths"]["/ask"]["post"]["security"]
    assert {"APIKeyHeader": []} in spec["paths"]["/similar"]["post"]["security"]
    assert "security" not in spec["paths"]["/healthz"]["get"]
    open_spec = TestClient(create_app()).get("/openapi.json").json()
    assert "securitySchemes" not in open_spec.get("components", {})


def test_keys_cli_adds_lists_and_removes(tmp_path: Path) -> None:
    runner = CliRunner()
    path = str(tmp_path / "keys.json")
    r = runner.invoke(cli, ["keys", "add", "grafana", "--scope", "events", "--api-keys", path])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip()
    assert key.startswith("snr_")
    assert KeyRing.load(Path(path)).check(key) is not None
    r = runner.invoke(cli, ["keys", "list", "--api-keys", path])
    assert r.stdout.strip() == "grafana\tevents"
    assert runner.invoke(cli, ["keys", "remove", "grafana", "--api-keys", path]).exit_code == 0
    assert not KeyRing.load(Path(path))
    r = runner.invoke(cli, ["keys", "remove", "grafana", "--api-keys", path])
    assert r.exit_code == 2 and "no key called" in r.output


def test_serve_refuses_an_open_interface_without_keys(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli, ["serve", "--host", "0.0.0.0", "--api-keys", str(tmp_path / "none.json")]
    )
    assert r.exit_code == 2
    assert "would answer anyone" in r.output and "--insecure" in r.output
