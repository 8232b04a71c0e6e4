"""Requests with values at the edges of their types get 4xx with a reason, never a 500/503."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from senri.api.app import create_app
from senri.ask.frame import Media, MediaIndex
from senri.worlds import shapes


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    world = shapes.generate(tmp_path_factory.mktemp("world"), seed=7)
    media = MediaIndex({"cam1": Media(Path(world.video), 0.0)})
    with TestClient(create_app(media=media), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("t", ["1e308", "-1e308", "1e18"])
def test_a_frame_at_an_absurd_time_is_404(client: TestClient, t: str) -> None:
    r = client.get(f"/frames/cam1.jpg?t={t}")
    assert r.status_code == 404, r.text
    assert "no frame" in r.json()["detail"]
    assert client.get(f"/frames/cam1/{t}.jpg").status_code == 404


def test_a_frame_in_range_is_still_served(client: TestClient) -> None:
    r = client.get("/frames/cam1.jpg?t=3.0")
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
