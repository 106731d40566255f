"""The web console in a real browser (Debian's headless Chromium) on the consumer service.

One service process (with tokens, so the login is part of every run) and one logged-in browser
serve the module; every test waits for what the page shows, as a user would, and ends with no
error in the browser's console beyond the failed requests it provoked on purpose.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from selenium.webdriver.support.ui import Select

from event_contract.events import EventDto
from kafka_kit import KafkaSettings, KafkaTemplate
from kafka_kit.headers import DLT_REPLAYED_FROM
from kafka_kit.local_kafka.cluster import free_ports
from kafka_kit.testing import wait_until
from kafka_kit.tracing import KafkaTracing, TracingSettings
from kafka_kit.tracing.setup import otlp_tracer_provider
from scripts.jaeger import LocalJaeger
from tests.app_helpers import answers_health, service_process
from tests.browser import Browser
from tests.kafka_helpers import create_topic, produce, read_to_end

READ_TOKEN = "console-test-read-token"
ADMIN_TOKEN = "console-test-admin-token"


@dataclass
class ConsoleService:
    """The consumer service under test and what it was started with."""

    base_url: str
    topic: str
    group: str
    bootstrap: str
    process: subprocess.Popen[str]

    def api(self, path: str) -> httpx.Response:
        """GET an API endpoint with the admin token."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return httpx.get(f"{self.base_url}{path}", headers=headers, timeout=10)


def _contains(text: Callable[[], str], part: str) -> bool:
    return part in text()


@pytest.fixture(scope="module")
def service(
    kafka_bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory, jaeger: LocalJaeger
) -> Iterator[ConsoleService]:
    """``uvicorn consumer_service.main:app`` with tokens, fast lag samples and page refreshes,
    traced into the session's Jaeger."""
    suffix = uuid.uuid4().hex[:8]
    (port,) = free_ports(1)
    store = tmp_path_factory.mktemp("console") / "events.db"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "EVENTS_TOPIC": f"console-events-{suffix}",
        "EVENT_LOG_GROUP_ID": f"console-log-{suffix}",
        "EVENT_STORE_URL": f"sqlite:///{store}",
        "API_READ_TOKEN": READ_TOKEN,
        "API_ADMIN_TOKEN": ADMIN_TOKEN,
        "LAG_OFFSET_REFRESH_S": "0.5",
        "CONSOLE_REFRESH_S": "0.5",
        "KAFKA_LISTENER_RETRY_ATTEMPTS": "1",
        "TRACING_ENABLED": "true",
        "TRACING_OTLP_ENDPOINT": jaeger.otlp_endpoint,
        "TRACING_UI_URL": jaeger.query_url,
        "TRACING_EXPORT_INTERVAL_S": "0.2",
    }
    running = ConsoleService(
        f"http://127.0.0.1:{port}",
        env["EVENTS_TOPIC"],
        env["EVENT_LOG_GROUP_ID"],
        kafka_bootstrap_servers,
        service_process("consumer_service.main", port, env),
    )
    try:
        asyncio.run(wait_until(lambda: _up(running), 90, "the consumer service to be healthy"))
        yield running
    finally:
        running.process.terminate()
        running.process.wait(timeout=30)


def _up(service: ConsoleService) -> bool:
    assert service.process.poll() is None, "the consumer service exited"
    return answers_health(service.base_url)


def _log_in(browser: Browser, token: str) -> None:
    browser.open("/console/listeners")
    browser.wait_for(lambda: browser.path.startswith("/console/login"), what="the login form")
    browser.find("#token").send_keys(token)
    browser.click("#login")
    browser.wait_for(lambda: browser.path == "/console/listeners", what="the listeners page")


@pytest.fixture(scope="module")
def browser(service: ConsoleService) -> Iterator[Browser]:
    """A browser logged in to the console with the admin token."""
    opened = Browser(service.base_url)
    try:
        _log_in(opened, ADMIN_TOKEN)
        yield opened
    finally:
        opened.quit()


def _errors(messages: list[dict[str, object]], allowed: tuple[str, ...]) -> list[dict[str, object]]:
    return [
        m
        for m in messages
        if m["level"] == "SEVERE" and not any(a in str(m["message"]) for a in allowed)
    ]


@pytest.fixture
def console_errors(browser: Browser) -> Iterator[list[str]]:
    """Fails the test on any error in the browser's console; a test lists the ones it causes."""
    seen = len(browser.console_messages())
    allowed: list[str] = []
    yield allowed
    new = browser.console_messages()[seen:]
    assert _errors(new, tuple(allowed)) == [], new


def test_every_page_renders_with_live_data(
    browser: Browser, service: ConsoleService, console_errors: list[str]
) -> None:
    for link in [a.get_attribute("href") for a in browser.find_all("header nav a")]:
        assert link is not None
        browser.driver.get(link)
        # Re-rendered in place at least once, and nothing failed to gather.
        browser.wait_for(
            lambda: int(browser.find("#live").get_attribute("data-refreshed") or 0) >= 1,
            what=f"{link} to refresh itself",
        )
        assert browser.find_all("#failure") == [], browser.text_of("#failure")
    assert browser.path == "/console/connect"
    assert "No Kafka Connect cluster is configured" in browser.text_of("#live")


async def test_the_cluster_page_shows_brokers_and_partitions_and_follows_changes(
    browser: Browser, service: ConsoleService, console_errors: list[str]
) -> None:
    browser.open("/console/cluster")
    host, port = service.bootstrap.split(",")[0].rsplit(":", 1)
    browser.wait_for(lambda: f"{host}:{port}" in browser.text_of("#brokers"), what="the broker")
    leader = browser.text_of("#leader")
    assert leader.isdigit(), leader
    rows = browser.find_all(f'#partitions tr[data-topic="{service.topic}"]')
    assert len(rows) == 6, [r.text for r in rows]  # EVENTS_PARTITIONS' default
    assert browser.text_of("#offline") == "0 offline"
    # A topic created while the page is open appears on it: the page follows the cluster.
    created = f"console-new-{uuid.uuid4().hex[:8]}"
    await create_topic(service.bootstrap, created, partitions=3)
    browser.wait_for(
        lambda: len(browser.find_all(f'#partitions tr[data-topic="{created}"]')) == 3,
        what="the new topic's partitions on the open page",
    )
    row = f'#partitions tr[data-topic="{created}"][data-partition="2"]'
    cells = [browser.text_of(f"{row} td:nth-child({n})") for n in range(1, 6)]
    assert cells[2] == cells[3] == cells[4], cells  # leader, replicas, ISR: the one broker
    browser.screenshot("cluster")


def _listener(service: ConsoleService) -> dict[str, object]:
    answer = service.api("/listeners/event_log")
    answer.raise_for_status()
    status: dict[str, object] = answer.json()
    return status


async def test_pausing_a_listener_in_the_page_pauses_it(
    browser: Browser, service: ConsoleService, console_errors: list[str]
) -> None:
    browser.open("/console/listeners")
    card = "#listener-event_log"
    browser.wait_for(lambda: browser.text_of(f"{card} .state") == "running", what="running")
    browser.click(f"{card} button.pause")
    await wait_until(lambda: _listener(service)["state"] == "paused", 30, "the listener paused")
    browser.wait_for(lambda: browser.text_of(f"{card} .state") == "paused", what="shown paused")
    assert browser.text_of("#flash") == "paused event_log"
    containers = _listener(service)["containers"]
    assert isinstance(containers, list)
    partitions = [p for c in containers for p in c["partitions"]]
    assert partitions and all(p["paused"] for p in partitions), partitions
    browser.screenshot("listeners")
    # What arrives while paused is handled once the page resumes the listener.
    event = {"type": "console.checked", "source": "test", "id": str(uuid.uuid4())}
    await produce(service.bootstrap, service.topic, [json.dumps(event).encode()])
    browser.click(f"{card} button.resume")
    await wait_until(lambda: _listener(service)["state"] == "running", 30, "the listener running")
    await wait_until(
        lambda: service.api(f"/events/{event['id']}").status_code == 200, 60, "the event stored"
    )
    browser.wait_for(lambda: browser.text_of(f"{card} .state") == "running", what="running")
    # The events page shows it: where it was read from, and where it was stored.
    browser.open("/console/events")
    browser.wait_for(lambda: event["id"] in browser.text_of("#recent-events"), what="the event")
    assert browser.text_of("#stored-in").startswith("sqlite:///")


def _handled(service: ConsoleService) -> int:
    containers = _listener(service)["containers"]
    assert isinstance(containers, list)
    return sum(int(c["metrics"]["records_handled"]) for c in containers)


async def test_seeking_from_the_page_reads_a_partition_again(
    browser: Browser, service: ConsoleService, console_errors: list[str]
) -> None:
    events = [
        json.dumps({"type": "console.seek", "source": "test", "id": str(uuid.uuid4())}).encode()
        for _ in range(3)
    ]
    await produce(service.bootstrap, service.topic, events, partition=4)
    ends = await read_to_end(service.bootstrap, service.topic)
    in_partition = sum(r.partition == 4 for r in ends)
    await wait_until(
        lambda: all(
            service.api(f"/events/{json.loads(e)['id']}").status_code == 200 for e in events
        ),
        60,
        "the events stored",
    )
    before = _handled(service)
    browser.open("/console/listeners")
    form = "#listener-event_log form.seek"
    browser.wait_for(lambda: browser.find_all(f"{form} option[value='{service.topic}:4']"))
    Select(browser.find(f"{form} select[name=position]")).select_by_value("offset")
    browser.find(f"{form} input[name=value]").send_keys("0")
    Select(browser.find(f"{form} select[name=partition]")).select_by_value(f"{service.topic}:4")
    browser.click(f"{form} button[type=submit]")
    browser.wait_for(lambda: browser.text_of("#flash") == "seek accepted for event_log")
    # Every record of partition 4 is handled again (stored once: the store skips known ids).
    await wait_until(
        lambda: _handled(service) >= before + in_partition, 60, "partition 4 read again"
    )


async def _replays_of(service: ConsoleService, source: str) -> int:
    records = await read_to_end(service.bootstrap, service.topic)
    return sum((DLT_REPLAYED_FROM, source.encode()) in r.headers for r in records)


async def test_a_poison_pill_appears_on_the_dead_letter_page_and_a_click_replays_it_once(
    browser: Browser, service: ConsoleService, console_errors: list[str]
) -> None:
    key = f"poison-{uuid.uuid4().hex[:8]}"
    # Markup in a record stays text on the page (an image that failed to load, or an alert,
    # would fail the test).
    pill = b"<img src=x onerror=alert(1)>{not json"
    await produce(service.bootstrap, service.topic, [pill], key=key.encode())
    dlt = f"{service.topic}-dlt"
    browser.open("/console/dead-letters")
    browser.wait_for(lambda: browser.find_all(f'a[href="/console/dead-letters/{dlt}"]'), what=dlt)
    browser.click(f'a[href="/console/dead-letters/{dlt}"]')

    def letter() -> str:
        rows = [r for r in browser.find_all("#dead-letters tr.letter") if key in r.text]
        if not rows:
            return ""
        partition, offset = (rows[0].get_attribute(a) for a in ("data-partition", "data-offset"))
        return f"tr[data-partition='{partition}'][data-offset='{offset}']"

    row = browser.wait_for(letter, what="the poison pill on the page")
    text = browser.text_of(row)
    assert "DeserializationError" in text and service.topic in text, text
    assert pill.decode() in browser.text_of(f"{row} code.value")
    browser.screenshot("dead-letters")
    partition, offset = (browser.attribute(row, a) for a in ("data-partition", "data-offset"))
    source = f"{dlt}/{partition}/{offset}"

    browser.click(f"{row} button.replay")
    browser.wait_for(lambda: "(1 sent)" in browser.text_of("#flash"), what="the replay's answer")
    assert await _replays_of(service, source) == 1
    browser.wait_for(lambda: "replayed" in browser.text_of(f"{row} .pill"), what="marked replayed")

    # Again: the service answers 409 and sends nothing; the page says so.
    console_errors.append("409 (Conflict)")
    browser.click(f"{row} button.replay")
    browser.wait_for(lambda: "HTTP 409" in browser.text_of("#flash"), what="the 409 shown")
    assert "already replayed; nothing was sent" in browser.text_of("#flash")
    assert f"{partition}@{offset}" in browser.text_of("#flash")
    assert await _replays_of(service, source) == 1


async def test_an_events_trace_link_opens_its_waterfall_drawn_from_jaeger(
    browser: Browser, service: ConsoleService, console_errors: list[str], jaeger: LocalJaeger
) -> None:
    provider = otlp_tracer_provider(
        "shop", TracingSettings(otlp_endpoint=jaeger.otlp_endpoint, export_interval_s=0.2)
    )
    event = EventDto(type="order.created", source="shop", key="customer-42")
    settings = KafkaSettings(bootstrap_servers=service.bootstrap)
    async with KafkaTemplate(settings, tracing=KafkaTracing(provider)) as template:
        with provider.get_tracer("shop").start_as_current_span("POST /checkout") as request:
            await template.send(service.topic, event, key=event.key)
    await asyncio.to_thread(provider.shutdown)  # exported
    trace_id = f"{request.get_span_context().trace_id:032x}"
    link = f'a.trace-link[href="/console/traces/{trace_id}"]'
    browser.open("/console/events")
    browser.wait_for(lambda: browser.find_all(link), what="the event's trace link")
    browser.click(link)
    browser.wait_for(lambda: browser.path == f"/console/traces/{trace_id}", what="the trace page")

    def drawn() -> bool:
        names = browser.text_of("#trace-spans")
        return all(n in names for n in ("POST /checkout", "send ", "process ", "store events"))

    browser.wait_for(lambda: browser.find_all("#trace-spans") and drawn(), what="every span")
    rows = browser.find_all("#trace-spans tr.span")
    by_id = {r.get_attribute("data-span"): r for r in rows}
    store = next(r for r in rows if "store events" in r.text)
    process = by_id[store.get_attribute("data-parent")]
    assert "consumer-service" in process.text and "process" in process.text
    assert "shop" in by_id[process.get_attribute("data-parent")].text  # the send
    assert browser.attribute("#trace-ui", "href") == f"{jaeger.query_url}/trace/{trace_id}"
    browser.screenshot("trace")


async def test_a_stopped_consumer_turns_its_group_to_stop_on_the_page(
    browser: Browser, service: ConsoleService, console_errors: list[str]
) -> None:
    topic = f"console-stop-{uuid.uuid4().hex[:8]}"
    group = f"console-stopped-{uuid.uuid4().hex[:8]}"
    await create_topic(service.bootstrap, topic)
    await produce(service.bootstrap, topic, [b"a", b"b", b"c"])
    # As Burrow, the monitor keeps a commit only for a partition whose log end it sampled.
    await wait_until(
        lambda: service.api(f"/v3/kafka/local/topic/{topic}").status_code == 200,
        30,
        "the lag monitor to sample the new topic",
    )
    # A consumer that commits three times, then stops for good while records keep coming.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=service.bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        for offset in (1, 2, 3):
            await consumer.commit({tp: OffsetAndMetadata(offset, "")})
            await asyncio.sleep(0.05)  # three commits, three samples: not merged into one
    finally:
        await consumer.stop()
    browser.open("/console/groups")
    card = f'article[data-group="{group}"]'
    # The lag grows in three steps, each seen on the chart before the next.
    for added, lag in ((1, 1), (2, 3), (3, 6)):
        await produce(service.bootstrap, topic, [b"x"] * added)
        caption = functools.partial(browser.text_of, f"{card} figcaption")
        browser.wait_for(
            functools.partial(_contains, caption, f"now {lag}"), what=f"lag {lag} on the chart"
        )
    browser.wait_for(
        lambda: browser.attribute(card, "data-status") == "ERR",
        timeout_s=120,
        what="the stopped group judged ERR",
    )
    text = browser.text_of(card)
    assert f"{topic}[0] STOP" in text and "no commit for" in text, text
    assert "with lag 6" in text, text
    browser.screenshot("groups")


def test_a_read_token_watches_but_cannot_change(
    service: ConsoleService, kafka_bootstrap_servers: str
) -> None:
    reader = Browser(service.base_url)
    try:
        reader.open("/console/cluster")
        reader.wait_for(lambda: reader.path.startswith("/console/login"), what="the login form")
        reader.find("#token").send_keys("not-a-token")
        reader.click("#login")
        reader.wait_for(lambda: reader.find_all("#login-error"), what="the refusal")
        assert reader.text_of("#login-error") == "That token is not valid."
        _log_in(reader, READ_TOKEN)
        reader.wait_for(lambda: reader.find_all("#listener-event_log button.stop"), what="a card")
        reader.click("#listener-event_log button.stop")
        reader.wait_for(lambda: "HTTP 403" in reader.text_of("#flash"), what="the 403 shown")
        assert _listener(service)["state"] == "running"
        # The session cookie is HttpOnly: the page's scripts never see the token.
        assert reader.driver.execute_script("return document.cookie") == ""
        failed = _errors(reader.console_messages(), ("401 (Unauthorized)", "403 (Forbidden)"))
        assert failed == []
    finally:
        reader.quit()
