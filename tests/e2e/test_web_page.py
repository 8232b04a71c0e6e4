"""The web page in a real browser: Debian's chromium, driven by Playwright, against a running
`senri serve` with keys over the demo world's archive, its video, a collection and Kafka.

Each view is used as an investigator would: the timeline (lanes drawn from the archive, an
event opened with its picture and its partners in time, by mouse and by keyboard), the ask box
(an answer checked against the world's truth, evidence that jumps to the timeline), similar
images (a photo dropped on the form) and the status of a Kafka deployment (a worker group's
lag). A screenshot of each view must show a picture, not a blank page.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from senri.api.auth import KeyRing
from senri.engine.run import run_file
from senri.models.photos import photo_path
from senri.services import kafka_bootstrap
from senri.services.probes import probe_kafka
from senri.services.settings import kafka_endpoint
from senri.worlds import shapes
from senri.worlds.shapes.run import demo_pipeline
from tests.serving import home_with_models, serve

pytestmark = pytest.mark.e2e
SCREENSHOTS = os.environ.get("SENRI_SCREENSHOTS")  # a folder to keep the views' pictures in


@dataclass
class Site:
    url: str
    key: str
    truth: dict[str, Any]
    group: str
    shots: Path
    stream: str


def _refused_camera(bootstrap: str) -> str:
    """`senri ingest` of a camera that refuses, until its source gives up: the stream it
    reports on senri.health ends down, "Connection refused"."""
    from senri.connectors import ReconnectPolicy, VideoSource
    from senri.ingest import ingest

    stream = f"cam-web-{uuid.uuid4().hex[:8]}"
    policy = ReconnectPolicy(initial=0.05, max_delay=0.1, max_attempts=2, jitter=0)
    camera = VideoSource("rtsp://127.0.0.1:9/cam", stream, reconnect=policy, timeout=5)
    topic = f"senri.test.web.{stream}"
    report = ingest(camera, topic, bootstrap, partitions=1, dlq_topic=f"{topic}.dlq")
    assert report.records == 0 and report.dead_letters == 2
    return stream


def _call(url: str, key: str, method: str = "GET", **form: tuple[str, bytes, str]) -> Any:
    """A multipart request (only what PUT of a collection item needs), or a GET."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{fn}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, (fn, data, ctype) in form.items()
    ) + (f"--{boundary}--\r\n".encode() if form else b"")
    headers = {"X-API-Key": key}
    if form:
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    request = urllib.request.Request(url, data=body or None, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=120) as r:
        return json.load(r)


def _lagging_group(bootstrap: str) -> tuple[str, str]:
    """A topic with 10 records and a worker group that has committed 4 of them: lag 6."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    from senri.connectors.kafka import TopicSpec, ensure_topics

    tag = uuid.uuid4().hex[:8]
    topic, group = f"senri.test.web.{tag}.frames", f"senri.worker.test-web-{tag}"
    ensure_topics(bootstrap, [TopicSpec(topic, 1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(10):
        producer.send(topic, f"frame {i}".encode())
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(4, "", -1)})
    consumer.close()
    return topic, group


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not probe_kafka(kafka_endpoint(), timeout=3.0).healthy:
        pytest.skip("no Kafka; start it with `senri services up`")
    root = tmp_path_factory.mktemp("web")
    world = shapes.generate(root / "world", seed=7)
    truth = shapes.load_truth(world.truth)
    pipeline = demo_pipeline(world, truth)
    archive = run_file(pipeline, root / "run").stores["events"]
    home = home_with_models(root)
    ring = KeyRing(root / "keys.json")
    key = ring.create("investigator", ["read", "ask", "write"])
    ring.save()
    topic, group = _lagging_group(kafka_bootstrap())
    stream = _refused_camera(kafka_bootstrap())
    args = ["--store", f"sqlite:{archive}", "--media", str(pipeline), "--api-keys",
            str(ring.path), "--bus", f"kafka://{kafka_bootstrap()}"]  # fmt: skip
    try:
        with serve(args, root / "serve.log", home=home) as url:
            for name in ("astronaut.png", "camera.png", "coffee.png"):
                item = f"{url}/collections/photos/items/{name}"
                _call(item, key, "PUT", image=(name, photo_path(name).read_bytes(), "image/png"))
            shots = Path(SCREENSHOTS) if SCREENSHOTS else root / "shots"
            shots.mkdir(parents=True, exist_ok=True)
            yield Site(url, key, truth, group, shots, stream)
    finally:
        from senri.connectors.kafka import delete_topics

        mine = f"senri.test.web.{stream}"
        delete_topics(kafka_bootstrap(), [topic, mine, f"{mine}.dlq"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is installed by scripts/setup.sh --dev"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(site: Site, browser: Any) -> Iterator[Any]:
    # the page's CSP forbids eval, which Playwright's wait_for_function needs; the policy
    # itself is checked in tests/unit/test_ask_api.py
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    tab.goto(site.url)
    tab.fill("#api-key", site.key)
    tab.dispatch_event("#api-key", "change")
    tab.wait_for_function("document.querySelectorAll('#stream-select option').length >= 2")
    tab.wait_for_load_state("networkidle")  # the first timeline is drawn
    yield tab
    context.close()
    assert problems == [], problems  # no script error on the way


def _not_blank(tab: Any, name: str, shots: Path) -> None:
    path = shots / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 200
    colours = len(np.unique(image.reshape(-1, 3)[::7], axis=0))
    assert colours > 40 and float(image.std()) > 10, f"{name}: the view looks blank"


def test_timeline_draws_the_archive_and_opens_an_event(page: Any, site: Site) -> None:
    cam = site.truth["stream_ids"]["video"]
    page.select_option("#stream-select", cam)
    page.wait_for_selector("#lanes rect.bar")
    start, end = page.evaluate("() => [view.start, view.end]")
    drawn = _call(f"{site.url}/timeline/{cam}?start={start}&end={end}", site.key)
    bars = page.locator("#lanes rect.bar")
    assert bars.count() == len(drawn["tracks"]) + len(drawn["spans"]) > 5
    lanes = page.locator("#lanes text.lane").all_text_contents()
    assert lanes[0] == "objects"
    bars.first.click()
    page.wait_for_selector("#details h2")
    page.wait_for_function("() => { const i = document.querySelector('#details img');"
                           " return i && i.complete && i.naturalWidth > 0; }")  # fmt: skip
    assert page.locator("#details table").count() == 2  # the facts, then the partners
    _not_blank(page, "timeline", site.shots)
    mic = site.truth["stream_ids"]["audio"]
    page.select_option("#stream-select", mic)
    page.wait_for_function("document.querySelectorAll('#lanes text.lane').length >= 2")
    kinds = set(page.locator("#lanes text.lane").all_text_contents())
    assert {"speech", "transcript"} <= kinds, kinds
    _not_blank(page, "timeline-audio", site.shots)


def test_the_page_works_from_the_keyboard(page: Any, site: Site) -> None:
    page.wait_for_selector("#lanes rect.bar")
    page.focus("#lanes rect.bar")
    page.keyboard.press("Enter")
    page.wait_for_selector("#details h2")
    page.focus("#tab-timeline")
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#tab-ask", "aria-selected") == "true"
    assert page.is_visible("#ask") and not page.is_visible("#timeline")
    page.keyboard.press("End")
    assert page.get_attribute("#tab-status", "aria-selected") == "true"


def test_ask_answers_from_the_truth_and_jumps_to_the_timeline(page: Any, site: Site) -> None:
    cam = site.truth["stream_ids"]["video"]
    page.click("#tab-ask")
    page.fill("#ask-form input[name=question]", f"how many objects were on {cam}?")
    page.click("#ask-form button")
    page.wait_for_selector("#ask p.answer")
    answer = page.inner_text("#ask p.answer")
    assert str(site.truth["summary"]["objects"]) in answer, answer
    page.wait_for_function("() => Array.from(document.querySelectorAll('#ask img'))"
                           ".every(i => i.complete && i.naturalWidth > 0)")  # fmt: skip
    _not_blank(page, "ask", site.shots)
    page.locator("#ask button", has_text="timeline").first.click()
    page.wait_for_selector("#lanes rect.bar.chosen")
    assert page.get_attribute("#tab-timeline", "aria-selected") == "true"
    assert page.input_value("#stream-select") == cam


def test_a_photo_dropped_on_similar_images_finds_itself(page: Any, site: Site) -> None:
    page.click("#tab-similar")
    page.fill("#similar-form input[name=collection]", "photos")
    data = base64.b64encode(photo_path("camera.png").read_bytes()).decode()
    transfer = page.evaluate_handle(
        """data => { const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
           const t = new DataTransfer();
           t.items.add(new File([bytes], "camera.png", {type: "image/png"})); return t; }""",
        data,
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    page.wait_for_selector("#similar table")
    first = page.locator("#similar table tr").nth(1).locator("td").nth(1).inner_text()
    assert first == "camera.png"
    _not_blank(page, "similar", site.shots)


def test_status_shows_a_worker_groups_lag(page: Any, site: Site) -> None:
    page.click("#tab-status")
    page.wait_for_selector(f"#status h3:has-text('{site.group}')")
    row = page.locator("#status table", has=page.locator("td")).first
    cells = page.locator(f"#status h3:has-text('{site.group}') + table tr").nth(1).locator("td")
    assert cells.nth(3).inner_text() == "6", row.inner_text()  # 10 records, 4 committed
    camera = page.locator("#status tr", has=page.locator(f"td:text-is('{site.stream}')"))
    assert camera.locator("td").nth(1).inner_text() == "ended"  # its ingest gave up and stopped
    assert "Connection refused" in camera.locator("td").nth(3).inner_text()
    _not_blank(page, "status", site.shots)
