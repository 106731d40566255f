"""A secured cluster (SASL_SSL, SCRAM, ACLs) from the launcher, and the kit's clients against it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from consumer_service.app import create_app as create_consumer_app
from consumer_service.event_stats import EventStatsSettings
from consumer_service.settings import EventStatsStreamsSettings
from event_contract.events import EventsTopicSettings
from kafka_kit import kafka_listener
from kafka_kit.admin import KafkaAdmin, NewTopic
from kafka_kit.errors import ClusterUnreachableError
from kafka_kit.local_kafka import LocalKafkaCluster
from kafka_kit.local_kafka.cluster import free_ports
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import ConsumerSettings, KafkaSettings
from kafka_kit.streams import State, StoreReader, StreamsApplication, StreamsSettings, StreamsState
from kafka_kit.template import KafkaTemplate
from kafka_kit.testing import wait_until
from producer_service.app import create_app as create_producer_app
from scripts.service_settings import service_acls
from tests.app_helpers import running, started

pytestmark = pytest.mark.secured
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def secured() -> Iterator[LocalKafkaCluster]:
    """One SASL_SSL broker for the module: users ``admin`` (super user), ``app``, and
    ``services`` (granted what the two services need)."""
    with LocalKafkaCluster(1, security="sasl_ssl", users=("app", "services")) as cluster:
        yield cluster


def app_settings(cluster: LocalKafkaCluster, mechanism: str = "SCRAM-SHA-512") -> KafkaSettings:
    fast = ConsumerSettings(heartbeat_interval_ms=300, session_timeout_ms=6000)
    return cluster.client_settings("app", mechanism).model_copy(update={"consumer": fast})


async def make_topic(cluster: LocalKafkaCluster, name: str) -> None:
    await KafkaAdmin(cluster.client_settings("admin")).ensure_topics([NewTopic(name, 1)])


async def declare_for_the_service(cluster: LocalKafkaCluster, events: EventsTopicSettings) -> None:
    """What an operator does for a service without Create: its topics made, visible to it."""
    declared = events.declarations()
    await KafkaAdmin(cluster.client_settings("admin")).ensure_topics(declared)
    for topic in declared:
        cluster.grant("app", "Describe", "DescribeConfigs", topic=topic.name)


async def test_produce_and_consume_over_sasl_ssl_with_acls(
    secured: LocalKafkaCluster, topic_name: str
) -> None:
    await make_topic(secured, topic_name)
    secured.grant("app", "Write", "Read", "Describe", topic=topic_name)
    secured.grant("app", "Read", group=f"g-{topic_name}")
    settings = app_settings(secured)
    registry = ListenerRegistry()
    received: list[dict[str, int]] = []

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", registry=registry)
    async def on(value: dict[str, int]) -> None:
        received.append(value)

    async with started(registry, settings), KafkaTemplate(settings) as template:
        sent = await template.send(topic_name, {"n": 1})
        await wait_until(lambda: received == [{"n": 1}], 60, "the record over SASL_SSL")
    assert sent.offset == 0
    assert secured.security is not None
    assert secured.security.users["app"] not in repr(settings)  # a secret is never shown


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_every_sasl_mechanism_connects(
    secured: LocalKafkaCluster, topic_name: str, mechanism: str
) -> None:
    await make_topic(secured, topic_name)
    secured.grant("app", "Describe", topic=topic_name)
    assert await KafkaAdmin(app_settings(secured, mechanism)).exists(topic_name)


async def test_a_wrong_password_is_a_clear_start_up_error(secured: LocalKafkaCluster) -> None:
    wrong = app_settings(secured).model_copy(update={"sasl_password": SecretStr("not-it")})
    with pytest.raises(ClusterUnreachableError, match="invalid credentials"):
        async with KafkaTemplate(wrong):
            pass


async def test_a_wrong_ca_fails_clearly(secured: LocalKafkaCluster) -> None:
    # The system's public CAs did not sign the cluster's throwaway certificate.
    stranger = app_settings(secured).model_copy(
        update={"ssl_cafile": "/etc/ssl/certs/ca-certificates.crt"}
    )
    with pytest.raises(ClusterUnreachableError, match="CERTIFICATE_VERIFY_FAILED"):
        async with KafkaTemplate(stranger):
            pass


async def test_a_write_the_acls_forbid_is_answered_403(
    secured: LocalKafkaCluster, topic_name: str
) -> None:
    await make_topic(secured, f"{topic_name}-allowed")
    events = EventsTopicSettings(topic=topic_name, partitions=1, replication_factor=1,
                                 min_insync_replicas=1)  # fmt: skip
    # The service may see its topic but not write to it (it may write elsewhere: an idempotent
    # producer needs Write on some topic).
    await declare_for_the_service(secured, events)
    secured.grant("app", "Write", topic=f"{topic_name}-allowed")
    app = create_producer_app(app_settings(secured), events)
    async with running(app, "producer") as client:
        answer = await client.post("/events", json={"type": "t", "source": "s"})
    assert answer.status_code == 403, answer.text
    assert "TopicAuthorizationFailed" in answer.json()["detail"]


async def test_a_listener_without_group_access_is_unhealthy_with_the_reason(
    secured: LocalKafkaCluster, topic_name: str
) -> None:
    for topic in (topic_name, f"{topic_name}-dlt"):  # the listener's and its dead letters'
        await make_topic(secured, topic)
        secured.grant("app", "Read", "Write", "Describe", topic=topic)
    registry = ListenerRegistry()

    @kafka_listener(topic_name, group_id=f"no-access-{topic_name}", registry=registry)
    async def on(value: bytes) -> None:
        pass

    events = EventsTopicSettings(topic=f"{topic_name}-events", partitions=1,
                                 replication_factor=1, min_insync_replicas=1)  # fmt: skip
    await declare_for_the_service(secured, events)
    secured.grant("app", "Write", topic=f"{topic_name}-events")
    app = create_consumer_app(app_settings(secured), events, registry)
    async with running(app, "consumer") as client:

        async def red() -> bool:
            answer = await client.get("/health")
            return answer.status_code == 503

        await wait_until(red, 60, "the listener's health red")
        reason = (await client.get("/health")).json()["listeners"]["on"]
    assert f"User:app may not Read Group no-access-{topic_name}" in reason
    grant = "kafka-acls --add --allow-principal User:app --operation Read --group"
    assert f"{grant} no-access-{topic_name}" in reason


async def test_a_stream_application_runs_exactly_once_over_sasl_ssl(
    secured: LocalKafkaCluster, topic_name: str, tmp_path: Path
) -> None:
    # The super user: transactions and internal topics need more ACLs than grant() names.
    settings = secured.client_settings("admin")
    await KafkaAdmin(settings).ensure_topics(
        [NewTopic(topic_name, 1), NewTopic(f"{topic_name}-out", 1)]
    )
    streams = StreamsApplication(
        StreamsSettings(
            application_id=f"secured-{topic_name}", commit_interval_s=0.2, state_dir=str(tmp_path)
        ),
        settings,
    )
    source = streams.app.topic(topic_name, key_deserializer="str", value_deserializer="json")
    out = streams.app.topic(f"{topic_name}-out", key_serializer="str", value_serializer="json")

    def count(value: dict[str, int], state: State[str, int]) -> int:
        total = (state.get("n") or 0) + value["n"]
        state.set("n", total)
        return total

    streams.app.dataframe(source).apply(count, stateful=True).to_topic(out)
    async with KafkaTemplate(settings) as template:
        for n in (1, 2, 3):
            await template.send(topic_name, {"n": n}, key="k")
    async with streams:
        reader = StoreReader(streams.app, topic_name)
        await wait_until(lambda: reader.get("k", "n") == 6, 90, "the sum kept over SASL_SSL")
    assert streams.state is StreamsState.NOT_RUNNING


async def test_the_services_run_on_the_secured_cluster_with_the_launchers_grants(
    secured: LocalKafkaCluster, tmp_path: Path
) -> None:
    # As a user runs them: the launcher grants a user what the services need; the services
    # start with exactly that user's settings, create their topics, write, read, count.
    lines = secured.grant_acls("services", service_acls())
    assert any("--operation Create" in line for line in lines)
    assert all(line.startswith("kafka-acls ") and "User:services" in line for line in lines)
    settings = secured.client_settings("services").model_copy(
        update={"consumer": ConsumerSettings(heartbeat_interval_ms=300, session_timeout_ms=6000)}
    )
    events = EventsTopicSettings(topic="events", partitions=1, replication_factor=1)
    producer = create_producer_app(settings, events)
    consumer = create_consumer_app(
        settings,
        events,
        event_stats=EventStatsSettings(enabled=True),
        streams=EventStatsStreamsSettings(commit_interval_s=0.2, state_dir=str(tmp_path)),
    )
    async with running(consumer, "consumer") as ask, running(producer, "producer") as post:
        answer = await post.post("/events", json={"type": "t", "source": "s", "key": "k"})
        assert answer.status_code == 202, answer.text
        event_id = answer.json()["id"]

        async def stored() -> bool:
            return (await ask.get(f"/events/{event_id}")).status_code == 200

        async def counted() -> bool:
            found = await ask.get("/streams/keys/k", follow_redirects=True)
            return found.status_code == 200 and found.json()["count"] == 1

        await wait_until(stored, 60, "the event stored by the listener")
        await wait_until(counted, 90, "the event counted by the stream topology")
        assert (await ask.get("/health")).json()["status"] == "UP"


@pytest.mark.parametrize("service", ["producer_service", "consumer_service.main:app"])
def test_a_service_without_acls_stops_at_start_with_one_line_naming_the_grant(
    secured: LocalKafkaCluster, tmp_path: Path, service: str
) -> None:
    # `app` as the launcher prints it, granted nothing: the start must say what to grant.
    (port,) = free_ports(1)
    env = {
        **os.environ,
        **secured.client_environment("app"),
        "EVENTS_TOPIC": "acl-less",
        "EVENTS_PARTITIONS": "1",
        "EVENT_STORE_URL": f"sqlite:///{tmp_path}/events.db",
    }
    serving = ["producer_service", "--workers", "1"] if service == "producer_service" else [
        "uvicorn", service
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", *serving, "--port", str(port)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    (refusal,) = [line for line in output.splitlines() if "KafkaAuthorizationError" in line]
    assert "User:app may not Create Topic acl-less" in refusal
    assert "kafka-acls --add --allow-principal User:app --operation Create --topic acl-less" in (
        refusal
    )
    assert len(output.splitlines()) < 12, output


def test_the_launchers_printed_settings_are_usable_as_printed() -> None:
    # `python -m kafka_kit.local_kafka run --security sasl_ssl`, then the exports as printed:
    # the user they name may create the services' topics and write them.
    launcher = subprocess.Popen(
        [
            *(sys.executable, "-m", "kafka_kit.local_kafka", "run"),
            *("--security", "sasl_ssl", "--allow-topic", "events"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert launcher.stdout is not None
        exports = {}
        for line in launcher.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = value
            if line.startswith("(Ctrl-C stops)"):
                break
        env_names = {name.removeprefix("KAFKA_").lower(): value for name, value in exports.items()}
        settings = KafkaSettings(**env_names)
        assert settings.sasl_username == "app"
        assert asyncio.run(_create_and_write(settings)) == 0
    finally:
        launcher.terminate()
        _, errors = launcher.communicate(timeout=120)
    assert "--operation Create" in errors  # the grants, said on stderr


async def _create_and_write(settings: KafkaSettings) -> int:
    events = EventsTopicSettings(topic="events", partitions=1)
    await KafkaAdmin(settings).ensure_topics(events.declarations())
    async with KafkaTemplate(settings) as template:
        sent = await template.send("events", {"type": "t", "source": "s"})
    return sent.offset
