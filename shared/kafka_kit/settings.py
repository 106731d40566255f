"""Settings from environment variables (pydantic-settings), named like ``spring.kafka.*``."""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_kit._internal.environment import (
    SettingRow,
    exit_if_invalid,
    invalid_settings,
    setting_rows,
)

__all__ = [
    "ConsumerSettings",
    "KafkaSettings",
    "LagSettings",
    "ProducerSettings",
    "SettingRow",
    "exit_if_invalid",
    "invalid_settings",
    "setting_rows",
]


class ProducerSettings(BaseSettings):
    """How the template's producer batches and acknowledges records (env ``KAFKA_PRODUCER_*``).

    ``acks``: ``0`` — the producer does not wait: fastest, and a record can be lost unnoticed (its
    offset is unknown); ``1`` — the partition leader wrote it: lost if the leader dies before a
    follower copied it; ``all`` — every in-sync replica has it (at least ``min.insync.replicas``):
    survives the loss of a broker. Idempotence (on by default, only with ``all``) makes the
    producer's retries write each record once and in order.

    ``max_batch_size`` is 256 KiB, not the Java client's 16 KiB: aiokafka keeps one open batch per
    partition, and once it is full every further send to that partition waits until it was sent —
    with many concurrent sends (a busy HTTP service) most of them queue up and wake up again and
    again. Java queues further batches instead. Keyless records still stick to a partition for
    one batch's worth of bytes, as in Java.
    """

    model_config = SettingsConfigDict(env_prefix="KAFKA_PRODUCER_", extra="ignore")

    acks: Literal["0", "1", "all"] = Field(
        default="all",
        description="`0`: do not wait; `1`: the leader wrote it; `all`: every in-sync replica has "
        "it (see the acks table)",
    )
    enable_idempotence: bool = Field(
        default=True,
        description="retries never duplicate or reorder a partition's records (only with acks=all)",
    )
    linger_ms: int = Field(
        default=5, ge=0, description="how long a batch may wait for more records before it is sent"
    )
    max_batch_size: int = Field(
        default=262_144,
        gt=0,
        description="bytes per partition batch (256 KiB: aiokafka has one open batch per "
        "partition, and sends to a full one wait); also how long a keyless partition sticks",
    )
    compression_type: Literal["gzip", "snappy", "lz4", "zstd"] | None = Field(
        default=None, description="`gzip`, `snappy`, `lz4` or `zstd`"
    )
    delivery_timeout_ms: int = Field(
        default=30_000, gt=0, description="longest wait for a send's acknowledgement"
    )
    request_timeout_ms: int = Field(
        default=10_000,
        gt=0,
        description="longest wait for one produce request: a request to a frozen or fenced "
        "leader is abandoned after this and retried on the new leader (Kafka fences a silent "
        "broker after `broker.session.timeout.ms`, 9 s by default)",
    )
    default_topic: str | None = Field(default=None, description="the topic of `send_default`")
    partitioner: str | None = Field(
        default=None, description="`package.module:name` of a custom partitioner"
    )
    transactional_id: str | None = Field(
        default=None, description="makes the template transactional (`template.transaction()`)"
    )


class ConsumerSettings(BaseSettings):
    """Defaults for every listener container's consumer (env ``KAFKA_CONSUMER_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_CONSUMER_", extra="ignore")

    group_id: str | None = Field(
        default=None,
        description="the consumer group of listeners that name none (Spring: "
        "`spring.kafka.consumer.group-id`); none: each listener must name its own",
    )
    auto_offset_reset: Literal["earliest", "latest", "none"] = Field(
        default="earliest", description="where a group without a committed offset starts"
    )
    max_poll_records: int = Field(default=500, gt=0, description="records per poll, at most")
    poll_timeout_ms: int = Field(
        default=1000, gt=0, description="how long a poll waits for records"
    )
    session_timeout_ms: int = Field(
        default=10_000, gt=0, description="a consumer silent this long leaves its group"
    )
    heartbeat_interval_ms: int = Field(
        default=3_000, gt=0, description="how often a consumer tells its group it is alive"
    )
    max_poll_interval_ms: int = Field(
        default=300_000, gt=0, description="a consumer not polling this long leaves its group"
    )
    isolation_level: Literal["read_uncommitted", "read_committed"] = Field(
        default="read_uncommitted",
        description="`read_committed`: skip records of aborted transactions",
    )
    shutdown_timeout_s: float = Field(
        default=10.0, gt=0, description="how long a stopping container may finish its batch"
    )
    stall_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="a listener whose fetches of a partition go unanswered this long is "
        "unhealthy (`/health` DOWN, with the partition)",
    )
    progress_log_s: float = Field(
        default=30.0,
        ge=0,
        description="each listener logs at INFO what it handled at most this often (0: never); "
        "single records are logged at DEBUG only",
    )
    metadata_max_age_ms: int = Field(
        default=30_000,
        gt=0,
        description="how often a consumer refreshes topic metadata: a `pattern=` listener finds "
        "a new matching topic within this (Kafka's default: 5 minutes)",
    )


class KafkaSettings(BaseSettings):
    """Where the cluster is and how clients talk to it (env ``KAFKA_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(
        default="localhost:9092", description="brokers to bootstrap from, `host:port,…`"
    )
    client_id: str = Field(default="kafka-kit", description="client id prefix")
    request_timeout_ms: int = Field(
        default=30_000,
        gt=0,
        description="longest wait for a broker's answer (connecting, admin, metadata)",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="how clients talk to brokers (Kafka's `security.protocol`)"
    )
    ssl_cafile: str | None = Field(
        default=None, description="CA certificates (PEM) that signed the brokers' certificates"
    )
    ssl_certfile: str | None = Field(
        default=None, description="client certificate (PEM), for mutual TLS"
    )
    ssl_keyfile: str | None = Field(default=None, description="the client certificate's key (PEM)")
    ssl_key_password: SecretStr | None = Field(
        default=None, description="password of the client key, if it has one"
    )
    ssl_check_hostname: bool = Field(
        default=True, description="check that a broker's certificate names the host dialled"
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="SASL mechanism, with `SASL_PLAINTEXT`/`SASL_SSL`"
    )
    sasl_username: str | None = Field(default=None, description="SASL user")
    sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (never logged or shown)"
    )
    producer: ProducerSettings = Field(default_factory=ProducerSettings)
    """How the template produces (``KAFKA_PRODUCER_*``)."""
    consumer: ConsumerSettings = Field(default_factory=ConsumerSettings)
    """How listeners consume (``KAFKA_CONSUMER_*``)."""

    @model_validator(mode="after")
    def _security_is_complete(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_"):
            missing = [
                f"KAFKA_{name.upper()}"
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"{self.security_protocol} needs {', '.join(missing)}")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together (mutual TLS)")
        return self

    @property
    def principal(self) -> str:
        """Who the brokers' ACLs see: ``User:<name>`` with SASL; a client certificate's
        distinguished name with mutual TLS; ``User:ANONYMOUS`` otherwise."""
        if self.security_protocol.startswith("SASL_"):
            return f"User:{self.sasl_username}"
        if self.ssl_certfile is not None:
            return "User:<the certificate's distinguished name>"
        return "User:ANONYMOUS"

    # The one place aiokafka clients get their configuration, security included.
    def client_config(self, client_id: str | None = None) -> dict[str, Any]:
        """What every client gets: bootstrap servers, client id, request timeout, security.

        Args:
            client_id: Names the client in the brokers' logs and quotas (``KAFKA_CLIENT_ID``
                when omitted).
        """
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": client_id or self.client_id,
            "request_timeout_ms": self.request_timeout_ms,
            **self.security_config(),
        }

    def security_config(self) -> dict[str, Any]:
        """Only the security keyword arguments (for clients configured otherwise by hand)."""
        config: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.security_protocol in ("SSL", "SASL_SSL"):
            password = self.ssl_key_password.get_secret_value() if self.ssl_key_password else None
            config["ssl_context"] = _ssl_context(
                self.ssl_cafile,
                self.ssl_certfile,
                self.ssl_keyfile,
                password,
                self.ssl_check_hostname,
            )
        if self.security_protocol.startswith("SASL_"):
            assert self.sasl_password is not None  # checked when the settings were made
            config.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password.get_secret_value(),
            )
        return config

    def admin_config(self, client_id: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaAdminClient``.

        Args:
            client_id: Names the client (``<KAFKA_CLIENT_ID>-admin`` when omitted).
        """
        return self.client_config(client_id or f"{self.client_id}-admin")

    def producer_config(self, transactional_id: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaProducer``, from ``KAFKA_PRODUCER_*``.

        Args:
            transactional_id: Makes the producer transactional (and idempotent).
        """
        producer = self.producer
        acks: int | str = "all" if producer.acks == "all" else int(producer.acks)
        config = {
            **self.client_config(),
            "acks": acks,
            # Idempotence needs acks=all: Kafka dedupes retries only for fully replicated writes.
            "enable_idempotence": producer.enable_idempotence and acks == "all",
            "linger_ms": producer.linger_ms,
            "max_batch_size": producer.max_batch_size,
            "compression_type": producer.compression_type,
            # Shorter than the clients' general wait: in-flight writes leave a stuck leader soon.
            "request_timeout_ms": min(producer.request_timeout_ms, self.request_timeout_ms),
        }
        if transactional_id is not None:
            # Transactions need idempotence and acks=all; aiokafka enforces both.
            config.update(transactional_id=transactional_id, acks="all", enable_idempotence=True)
        return config

    def consumer_config(self, client_id: str | None = None, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaConsumer``: ``KAFKA_CONSUMER_*``, then ``overrides``.

        Auto-commit is always off: whoever consumes commits what it handled.

        Args:
            client_id: Names the client (``KAFKA_CLIENT_ID`` when omitted).
            overrides: aiokafka consumer arguments that win over the settings.
        """
        consumer = self.consumer
        config = {
            **self.client_config(client_id),
            "auto_offset_reset": consumer.auto_offset_reset,
            "max_poll_records": consumer.max_poll_records,
            "session_timeout_ms": consumer.session_timeout_ms,
            "heartbeat_interval_ms": consumer.heartbeat_interval_ms,
            "max_poll_interval_ms": consumer.max_poll_interval_ms,
            "isolation_level": consumer.isolation_level,
            "metadata_max_age_ms": consumer.metadata_max_age_ms,
            **overrides,
        }
        config["enable_auto_commit"] = False
        return config


@lru_cache(maxsize=16)
def _ssl_context(
    cafile: str | None,
    certfile: str | None,
    keyfile: str | None,
    password: str | None,
    check_hostname: bool,
) -> ssl.SSLContext:
    """One TLS context per distinct configuration, shared by every client that uses it."""
    context = create_ssl_context(
        cafile=cafile, certfile=certfile, keyfile=keyfile, password=password
    )
    context.check_hostname = check_hostname
    return context


class LagSettings(BaseSettings):
    """Burrow-style lag monitoring (env ``LAG_*``).

    ``LAG_CLUSTERS`` names the clusters to watch as JSON, ``{"local": "host:9092", ...}``; empty
    means one cluster, ``local``, at ``KAFKA_BOOTSTRAP_SERVERS``.
    """

    model_config = SettingsConfigDict(env_prefix="LAG_", extra="ignore")

    clusters: dict[str, str] = Field(
        default_factory=dict,
        description='clusters to watch, JSON `{"name": "host:port"}`; none: `local` at '
        "`KAFKA_BOOTSTRAP_SERVERS`",
    )
    window: int = Field(
        default=10,
        ge=2,
        description="commits kept per partition, and log-end samples (Burrow's `intervals`)",
    )
    allowed_lag: int = Field(
        default=0, ge=0, description="lag at or below this counts as caught up"
    )
    minimum_complete: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="a partition is judged once this share of its window is filled",
    )
    min_distance_s: float = Field(
        default=0.0,
        ge=0,
        description="a commit closer than this to the last sample is merged into it (keeping "
        "its timestamp)",
    )
    offset_refresh_s: float = Field(
        default=10.0,
        gt=0,
        description="how often log-end offsets, topics and group members are sampled",
    )
    expire_group_s: float = Field(
        default=7 * 86400, gt=0, description="forget a group whose last commit is this old"
    )
    history_points: int = Field(
        default=360,
        ge=2,
        description="lag samples kept per group for the console's chart (one per "
        "`LAG_OFFSET_REFRESH_S`)",
    )
