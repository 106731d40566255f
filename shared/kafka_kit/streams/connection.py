"""Quix Streams' connection settings from the kit's ``KAFKA_*`` settings (librdkafka's names)."""

from __future__ import annotations

from typing import Any

from quixstreams.kafka.configuration import ConnectionConfig

from kafka_kit.settings import KafkaSettings

__all__ = ["connection_config"]


def connection_config(kafka: KafkaSettings) -> ConnectionConfig:
    """The same brokers, TLS files and SASL credentials the listeners use.

    Args:
        kafka: The kit's settings.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol.lower(),
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        options.update(
            ssl_ca_location=kafka.ssl_cafile,
            ssl_certificate_location=kafka.ssl_certfile,
            ssl_key_location=kafka.ssl_keyfile,
            ssl_key_password=kafka.ssl_key_password,
            # librdkafka checks the broker's name unless told "none"; Java's "" means the same.
            ssl_endpoint_identification_algorithm="https" if kafka.ssl_check_hostname else "none",
        )
    if kafka.security_protocol.startswith("SASL_"):
        options.update(
            sasl_mechanism=kafka.sasl_mechanism,
            sasl_username=kafka.sasl_username,
            sasl_password=kafka.sasl_password,
        )
    return ConnectionConfig(**{k: v for k, v in options.items() if v is not None})
