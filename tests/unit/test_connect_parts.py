"""Connect's pure parts: the JSON envelope taken off, the failure messages."""

from __future__ import annotations

from kafka_kit.connect import ConnectorFailedError, ConnectorNotRunningError, without_schema
from kafka_kit.errors import KafkaKitError


def test_the_payload_of_an_envelope_is_returned() -> None:
    envelope = {"schema": {"type": "struct", "fields": []}, "payload": {"id": 1}}
    assert without_schema(envelope) == {"id": 1}


def test_a_document_without_an_envelope_is_unchanged() -> None:
    assert without_schema({"id": 1}) == {"id": 1}
    assert without_schema({"schema": 1, "payload": 2, "more": 3}) == {
        "schema": 1,
        "payload": 2,
        "more": 3,
    }
    assert without_schema([1, 2]) == [1, 2]
    assert without_schema(None) is None


def test_a_failure_names_the_connector_the_worker_and_the_traces_first_line() -> None:
    failed = ConnectorFailedError("sink", "127.0.0.1:8083", "java.net.ConnectException: no\n\tat x")
    assert str(failed) == "connector sink failed on 127.0.0.1:8083: java.net.ConnectException: no"
    assert isinstance(failed, KafkaKitError)
    for no_trace in (None, "", "  \n"):
        assert str(ConnectorFailedError("s", "w", no_trace)).endswith(": no trace given")


def test_a_timeout_says_what_was_seen_last() -> None:
    late = ConnectorNotRunningError("src", 60.0, "connector RUNNING, task 0 UNASSIGNED")
    assert str(late) == "connector src not running after 60 s: connector RUNNING, task 0 UNASSIGNED"
    assert isinstance(late, TimeoutError) and isinstance(late, KafkaKitError)
