"""Connect's JSON envelope is taken off; a document without one is left as it is."""

from __future__ import annotations

from kafka_kit.connect import without_schema


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
