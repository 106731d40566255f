"""docker-compose.yml agrees with the settings and the pinned Kafka."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from consumer_service.event_stats import EventStatsSettings
from consumer_service.settings import EventLogSettings, EventStoreSettings, ListenerRetrySettings
from consumer_service.work_queue import WorkQueueSettings
from event_contract.events import EventsTopicSettings
from kafka_kit.connect import ConnectSettings
from kafka_kit.local_kafka import KAFKA_VERSION
from kafka_kit.settings import ConsumerSettings, KafkaSettings, ProducerSettings
from kafka_kit.streams import StreamsSettings
from kafka_kit.tracing import TracingSettings
from kafka_kit.web.auth import ApiTokens
from scripts.demo import compose_command
from scripts.demo_compose import compose_environment, write_override

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PORTS = {"producer": 8000, "consumer": 8001}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    return {
        f"{prefix}{name}".upper()
        for name, field in settings.model_fields.items()
        if not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings))
    }


def _known_env_names() -> set[str]:
    every = (
        KafkaSettings,
        ProducerSettings,
        ConsumerSettings,
        EventsTopicSettings,
        EventLogSettings,
        EventStoreSettings,
        ListenerRetrySettings,
        ApiTokens,
        StreamsSettings,
        EventStatsSettings,
        ConnectSettings,
        TracingSettings,
        WorkQueueSettings,
    )
    return set().union(*(_env_names(s) for s in every))


def _kafka_nodes(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        n: s for n, s in compose["services"].items() if "KAFKA_NODE_ID" in s.get("environment", {})
    }


def test_three_kraft_nodes_of_the_pinned_kafka(compose: dict[str, Any]) -> None:
    nodes = _kafka_nodes(compose)
    assert len(nodes) == 3
    voters = set()
    ids = set()
    cluster_ids = set()
    for name, service in nodes.items():
        env = service["environment"]
        assert service["image"] == f"apache/kafka:{KAFKA_VERSION}"
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert not any("ZOOKEEPER" in key for key in env)
        ids.add(env["KAFKA_NODE_ID"])
        voters.add(env["KAFKA_CONTROLLER_QUORUM_VOTERS"])
        cluster_ids.add(env["CLUSTER_ID"])
        controller_port = re.search(r"CONTROLLER://:(\d+)", env["KAFKA_LISTENERS"]).group(1)
        assert (
            f"{env['KAFKA_NODE_ID']}@{name}:{controller_port}"
            in env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
        )
        assert service["hostname"] == name
    assert ids == {1, 2, 3}
    assert len(voters) == 1 and len(cluster_ids) == 1


def test_services_point_at_the_brokers_internal_listeners(compose: dict[str, Any]) -> None:
    advertised = set()
    for name, service in _kafka_nodes(compose).items():
        listeners = service["environment"]["KAFKA_ADVERTISED_LISTENERS"].split(",")
        internal = [item for item in listeners if item.startswith("PLAINTEXT://")]
        assert internal == [f"PLAINTEXT://{name}:19092"]
        advertised.add(internal[0].removeprefix("PLAINTEXT://"))
    for service_name, port in SERVICE_PORTS.items():
        service = compose["services"][service_name]
        env = service["environment"]
        assert set(env["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == advertised
        assert service["ports"] == [f"{port}:{port}"]
        assert service["command"][-1] == str(port)
        assert service["build"] == "."
        unknown = set(env) - _known_env_names()
        assert not unknown, f"{service_name} sets variables no setting reads: {unknown}"
        # The values are valid for the settings that read them.
        EventsTopicSettings(
            **{
                k.removeprefix("EVENTS_").lower(): v
                for k, v in env.items()
                if k.startswith("EVENTS_")
            }
        )


def test_the_events_topic_is_created_as_the_services_expect(compose: dict[str, Any]) -> None:
    command = compose["services"]["kafka-topics"]["command"]
    args = dict(zip(command[::2], command[1::2], strict=False))
    flags = [item for item in command if item.startswith("--")]
    assert "--create" in flags and "--if-not-exists" in flags
    env = compose["services"]["producer"]["environment"]
    topic_index = command.index("--topic")
    assert command[topic_index + 1] == env["EVENTS_TOPIC"]
    assert command[command.index("--partitions") + 1] == str(env["EVENTS_PARTITIONS"])
    assert command[command.index("--replication-factor") + 1] == str(
        env["EVENTS_REPLICATION_FACTOR"]
    )
    assert f"min.insync.replicas={env['EVENTS_MIN_INSYNC_REPLICAS']}" in command
    assert args  # the command is a flat list of flags and values
    for service_name in SERVICE_PORTS:
        depends = compose["services"][service_name]["depends_on"]
        assert depends["kafka-topics"]["condition"] == "service_completed_successfully"


def test_the_connect_worker_is_where_the_consumer_looks_and_on_the_brokers(
    compose: dict[str, Any],
) -> None:
    connect = compose["services"]["connect"]
    assert connect["image"] == compose["services"]["kafka-1"]["image"]
    mounted = next(v for v in connect["volumes"] if v.endswith(".properties:ro"))
    properties = dict(
        line.split("=", 1)
        for line in (ROOT / mounted.split(":")[0]).read_text().splitlines()
        if line and not line.startswith("#")
    )
    consumer_env = compose["services"]["consumer"]["environment"]
    assert ConnectSettings(url=consumer_env["CONNECT_URL"]).url == (
        f"http://{properties['rest.advertised.host.name']}:{properties['rest.advertised.port']}"
    )
    assert properties["bootstrap.servers"] == consumer_env["KAFKA_BOOTSTRAP_SERVERS"]
    assert connect["ports"] == [f"{properties['rest.advertised.port']}:8083"]
    replicas = {v for k, v in properties.items() if k.endswith(".replication.factor")}
    assert replicas == {str(consumer_env["EVENTS_REPLICATION_FACTOR"])}
    assert connect["depends_on"]["kafka-topics"]["condition"] == "service_completed_successfully"


@pytest.mark.skipif(compose_command() is None, reason="neither `docker compose` nor docker-compose")
def test_docker_compose_config_accepts_the_file() -> None:
    command = compose_command()
    assert command is not None
    done = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config", "--services"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == {
        "kafka-1",
        "kafka-2",
        "kafka-3",
        "kafka-topics",
        "producer",
        "admin-token",
        "consumer",
        "connect",
        "prometheus",
        "grafana",
        "jaeger",
    }


def _mounted(service: dict[str, Any], inside: str) -> Path:
    """The repository path mounted at ``inside`` in the container."""
    source = next(v.split(":")[0] for v in service["volumes"] if v.split(":")[1] == inside)
    return ROOT / source


def test_prometheus_scrapes_both_services_where_they_listen(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    config = yaml.safe_load(_mounted(prometheus, "/etc/prometheus/prometheus.yml").read_text())
    targets = {
        job["job_name"]: (job["metrics_path"], target)
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert targets == {name: ("/metrics", f"{name}:{port}") for name, port in SERVICE_PORTS.items()}
    assert set(prometheus["depends_on"]) == set(SERVICE_PORTS)


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    provisioning = _mounted(grafana, "/etc/grafana/provisioning")
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    (source,) = sources["datasources"]
    port = compose["services"]["prometheus"]["ports"][0].split(":")[1]
    assert (source["type"], source["url"]) == ("prometheus", f"http://prometheus:{port}")
    providers = yaml.safe_load((provisioning / "dashboards" / "kafka-kit.yml").read_text())
    (provider,) = providers["providers"]
    dashboards = _mounted(grafana, provider["options"]["path"])
    dashboard = json.loads((dashboards / "kafka-kit.json").read_text())
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/kafka-kit.json"
    # Every panel asks the provisioned data source, and asks something.
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]


def test_the_consumer_takes_an_admin_token_made_per_run(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    maker = compose["services"]["admin-token"]
    consumer = compose["services"]["consumer"]
    token_file = Path(consumer["environment"]["API_ADMIN_TOKEN_FILE"])
    assert maker["command"][:3] == ["python", "-m", "kafka_kit.web.tokens"]
    assert Path(maker["command"][3]) == token_file
    # The file is written into a volume the consumer mounts where it reads it.
    (written,) = [v for v in maker["volumes"] if v.split(":")[1] == str(token_file.parent)]
    (mounted,) = [v for v in consumer["volumes"] if v.startswith(written.split(":")[0] + ":")]
    assert mounted.split(":")[1:] == [str(token_file.parent), "ro"]
    assert written.split(":")[0] in compose["volumes"]
    assert consumer["depends_on"]["admin-token"]["condition"] == "service_completed_successfully"
    # The module run as the compose file runs it: a token written, printed, readable by its owner.
    target = tmp_path / "run" / "admin-token"
    done = subprocess.run(
        [sys.executable, "-m", "kafka_kit.web.tokens", str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    token = target.read_text().strip()
    assert len(token) >= 32 and f"admin token for this run: {token}" in done.stdout
    assert target.stat().st_mode & 0o077 == 0
    assert ApiTokens(admin_token_file=target, admin_token=None).scope_of(token) == "admin"


def test_both_services_can_trace_into_the_jaeger_of_the_file(compose: dict[str, Any]) -> None:
    jaeger = compose["services"]["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/jaeger:2.")
    published = {p.split(":")[1] for p in jaeger["ports"]}
    assert {"4318", "16686"} <= published
    for name in SERVICE_PORTS:
        env = compose["services"][name]["environment"]
        assert env["TRACING_OTLP_ENDPOINT"] == "http://jaeger:4318"
        assert env["TRACING_UI_URL"] == "http://jaeger:16686"
        assert env["TRACING_ENABLED"] == "${TRACING_ENABLED:-false}"
        assert "jaeger" in compose["services"][name]["depends_on"]


def test_the_demo_passes_the_checked_settings_to_the_services_that_read_them() -> None:
    environ = {
        "KAFKA_PRODUCER_LINGER_MS": "20",
        "PRODUCER_MAX_BATCH_EVENTS": "50",
        "EVENT_STORE_URL": "sqlite:///elsewhere.db",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
        "HOME": "/root",
    }
    environment, left_out = compose_environment(environ)
    assert environment == {
        "producer": {"KAFKA_PRODUCER_LINGER_MS": "20", "PRODUCER_MAX_BATCH_EVENTS": "50"},
        "consumer": {"KAFKA_PRODUCER_LINGER_MS": "20", "EVENT_STORE_URL": "sqlite:///elsewhere.db"},
    }
    assert left_out == ["KAFKA_BOOTSTRAP_SERVERS"]  # the compose cluster's own brokers win


@pytest.mark.skipif(compose_command() is None, reason="neither `docker compose` nor docker-compose")
def test_docker_compose_takes_the_demos_override(tmp_path: Path) -> None:
    command = compose_command()
    assert command is not None
    environment, _ = compose_environment({"KAFKA_PRODUCER_LINGER_MS": "20"})
    override = write_override(environment, tmp_path)
    done = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "-f", str(override), "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    for name in ("producer", "consumer"):
        env = services[name]["environment"]
        assert str(env["KAFKA_PRODUCER_LINGER_MS"]) == "20", name
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka-1:19092,kafka-2:19092,kafka-3:19092", name
