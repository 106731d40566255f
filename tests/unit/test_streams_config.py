"""The stream application's configuration: the kit's settings in librdkafka's names."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from consumer_service.settings import EventStatsStreamsSettings
from kafka_kit import KafkaSettings
from kafka_kit.streams import StreamsApplication, StreamsSettings, StreamsState
from kafka_kit.streams.application import MEMBER_SEPARATOR
from kafka_kit.streams.connection import connection_config


def test_plaintext_is_just_the_brokers() -> None:
    config = connection_config(KafkaSettings(bootstrap_servers="a:9092,b:9092"))
    assert config.as_librdkafka_dict() == {
        "bootstrap.servers": "a:9092,b:9092",
        "security.protocol": "plaintext",
    }


def test_sasl_ssl_carries_the_same_files_and_credentials_as_the_listeners() -> None:
    kafka = KafkaSettings(
        bootstrap_servers="a:9093",
        security_protocol="SASL_SSL",
        ssl_cafile="/certs/ca.pem",
        ssl_check_hostname=False,
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="stats",
        sasl_password=SecretStr("s3cret"),
    )
    config = connection_config(kafka).as_librdkafka_dict()
    assert config["security.protocol"] == "sasl_ssl"
    assert config["ssl.ca.location"] == "/certs/ca.pem"
    assert config["ssl.endpoint.identification.algorithm"] == "none"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl.username"], config["sasl.password"]) == ("stats", "s3cret")


def test_an_instance_names_its_url_in_its_client_id_and_starts_created() -> None:
    streams = StreamsApplication(
        StreamsSettings(application_id="stats", application_server="http://10.0.0.7:8001"),
        KafkaSettings(bootstrap_servers="a:9092"),
    )
    assert streams.member_client_id == f"stats{MEMBER_SEPARATOR}http://10.0.0.7:8001"
    assert streams.state is StreamsState.CREATED
    assert streams.health()["state"] == "CREATED"


def test_restarting_error_and_stopped_states_fail_a_health_check() -> None:
    failing = {state for state in StreamsState if not state.healthy}
    assert failing == {
        StreamsState.RESTARTING,
        StreamsState.ERROR,
        StreamsState.NOT_RUNNING,
        StreamsState.PENDING_SHUTDOWN,
    }


def test_the_application_id_is_the_applications_own_not_a_library_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_STREAMS_APPLICATION_ID", raising=False)
    with pytest.raises(ValidationError, match="application_id"):
        StreamsSettings()  # type: ignore[call-arg]
    assert EventStatsStreamsSettings().application_id == "event-stats"
    monkeypatch.setenv("KAFKA_STREAMS_APPLICATION_ID", "billing-stats")
    assert StreamsSettings().application_id == "billing-stats"  # type: ignore[call-arg]
