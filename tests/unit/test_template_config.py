import pytest

from kafka_kit.partitioners import PriorityPartitioner
from kafka_kit.settings import KafkaSettings, ProducerSettings
from kafka_kit.template import KafkaTemplate


def _config(**producer: object) -> dict[str, object]:
    settings = KafkaSettings(bootstrap_servers="b:1", producer=ProducerSettings(**producer))
    return settings.producer_config()


@pytest.mark.parametrize(("acks", "expected"), [("0", 0), ("1", 1), ("all", "all")])
def test_acks_from_settings(acks: str, expected: object) -> None:
    assert _config(acks=acks)["acks"] == expected


def test_idempotence_is_on_with_acks_all_only() -> None:
    assert _config(acks="all")["enable_idempotence"] is True
    assert _config(acks="1")["enable_idempotence"] is False
    assert _config(acks="all", enable_idempotence=False)["enable_idempotence"] is False


def test_batching_and_compression_from_settings() -> None:
    config = _config(linger_ms=20, max_batch_size=65536, compression_type="zstd")
    assert (config["linger_ms"], config["max_batch_size"], config["compression_type"]) == (
        20,
        65536,
        "zstd",
    )


def test_environment_configures_the_producer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PRODUCER_ACKS", "1")
    monkeypatch.setenv("KAFKA_PRODUCER_LINGER_MS", "50")
    monkeypatch.setenv("KAFKA_PRODUCER_PARTITIONER", "kafka_kit.partitioners:PriorityPartitioner")
    template = KafkaTemplate(KafkaSettings())
    assert template.settings.producer_config()["acks"] == 1
    assert template.settings.producer_config()["linger_ms"] == 50
    assert isinstance(template.partitioner, PriorityPartitioner)


def test_a_transactional_template_forces_acks_all_and_idempotence() -> None:
    settings = KafkaSettings(producer=ProducerSettings(acks="1", enable_idempotence=False))
    config = settings.producer_config(transactional_id="tx-1")
    assert (config["transactional_id"], config["acks"], config["enable_idempotence"]) == (
        "tx-1",
        "all",
        True,
    )
