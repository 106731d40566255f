import ssl

import pytest
from pydantic import SecretStr, ValidationError

from kafka_kit.settings import KafkaSettings


def test_plaintext_by_default() -> None:
    assert KafkaSettings().security_config() == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_reaches_every_client_with_its_secret_kept_out_of_sight() -> None:
    settings = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="app",
        sasl_password=SecretStr("p4ss-w0rd"),
    )
    for config in (settings.producer_config(), settings.consumer_config(), settings.admin_config()):
        assert config["security_protocol"] == "SASL_SSL"
        assert isinstance(config["ssl_context"], ssl.SSLContext)
        assert config["sasl_mechanism"] == "SCRAM-SHA-512"
        assert config["sasl_plain_password"] == "p4ss-w0rd"
    assert "p4ss-w0rd" not in repr(settings) and "p4ss-w0rd" not in str(settings.model_dump())


def test_incomplete_security_is_refused_naming_what_is_missing() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME"):
        KafkaSettings(security_protocol="SASL_PLAINTEXT")
    with pytest.raises(ValidationError, match="go together"):
        KafkaSettings(security_protocol="SSL", ssl_certfile="/tmp/client.pem")


def test_one_tls_context_per_configuration() -> None:
    a = KafkaSettings(security_protocol="SSL").security_config()["ssl_context"]
    b = KafkaSettings(security_protocol="SSL").security_config()["ssl_context"]
    c = KafkaSettings(security_protocol="SSL", ssl_check_hostname=False).security_config()
    assert a is b and c["ssl_context"] is not a and not c["ssl_context"].check_hostname
