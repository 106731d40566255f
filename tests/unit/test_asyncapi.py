"""The AsyncAPI document of a KafkaApp: what it says, and that the AsyncAPI project's own parser
accepts it (every feature at once: replies, type mappings, batches, share groups, patterns,
security)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from kafka_kit import ConsumerRecord, KafkaApp, KafkaSettings
from kafka_kit.asyncapi import asyncapi_document
from kafka_kit.web.asyncapi import render_page
from tests.asyncapi_parser import errors, validate


class Address(BaseModel):
    city: str


class Order(BaseModel):
    id: int
    ship_to: Address


class Receipt(BaseModel):
    order: int


@dataclasses.dataclass
class Refund:
    order: int


class Ping(TypedDict):
    at: str


class Legacy(typing.TypedDict):  # pydantic wants typing_extensions' TypedDict before 3.12
    at: str


def _secured(mechanism: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers="k1:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism=mechanism,
        sasl_username="app",
        sasl_password="secret",
    )


def _shop(settings: KafkaSettings | None = None) -> KafkaApp:
    app = KafkaApp(settings or KafkaSettings(bootstrap_servers="k1:9092,k2:9092"))
    app.topic("orders", partitions=6, replication_factor=3)

    @app.listener("orders", group_id="billing", reply_to="receipts")
    async def bill(order: Order) -> Receipt:
        """Bill each order once."""
        return Receipt(order=order.id)

    @app.listener("questions", group_id="answers", reply_to=True)
    async def answer(question: str) -> list[str]:
        return [question.upper()]

    @app.listener("money", group_id="money", type_mapping={"order": Order, "refund": Refund})
    async def money(value: Order | Refund) -> None: ...

    @app.listener("pings", group_id="pings", batch=True)
    async def pings(batch: list[Ping]) -> None: ...

    @app.listener("work", share_group="workers")
    async def work(raw: bytes) -> None: ...

    @app.listener(pattern="audit-.*", group_id="audit")
    async def audit(record: ConsumerRecord[bytes, bytes]) -> None: ...

    app.publisher("orders", Order, summary="orders the shop takes")
    return app


def test_listeners_are_receive_operations_with_their_groups_and_payloads() -> None:
    doc = asyncapi_document(_shop(), title="shop", version="2.1.0", description="A shop.")
    assert doc["asyncapi"] == "3.0.0" and doc["info"]["version"] == "2.1.0"
    bill = doc["operations"]["bill"]
    assert bill["action"] == "receive" and bill["summary"] == "Bill each order once."
    assert bill["channel"] == {"$ref": "#/channels/orders"}
    assert bill["messages"] == [{"$ref": "#/channels/orders/messages/Order"}]
    assert bill["bindings"]["kafka"]["groupId"] == {"type": "string", "enum": ["billing"]}
    assert doc["components"]["messages"]["Order"]["payload"] == {
        "$ref": "#/components/schemas/Order"
    }
    order = doc["components"]["schemas"]["Order"]
    assert order["properties"]["ship_to"] == {"$ref": "#/components/schemas/Address"}
    assert "Address" in doc["components"]["schemas"]
    assert doc["channels"]["orders"]["bindings"]["kafka"] == {
        "bindingVersion": "0.5.0",
        "partitions": 6,
        "replicas": 3,
    }
    # A batch listener's message is one element; a share group is flagged; bytes are binary.
    assert doc["operations"]["pings"]["messages"] == [{"$ref": "#/channels/pings/messages/Ping"}]
    assert doc["operations"]["work"]["x-kafka-share-group"] is True
    assert doc["components"]["messages"]["bytes"]["contentType"] == "application/octet-stream"
    assert doc["operations"]["audit"]["x-kafka-topic-pattern"] == "audit-.*"
    assert [s["host"] for s in doc["servers"].values()] == ["k1:9092", "k2:9092"]


def test_replies_type_mappings_and_publications() -> None:
    doc = asyncapi_document(_shop(), title="shop")
    assert doc["operations"]["bill"]["reply"] == {
        "channel": {"$ref": "#/channels/receipts"},
        "messages": [{"$ref": "#/channels/receipts/messages/Receipt"}],
    }
    dynamic = doc["operations"]["answer"]["reply"]
    assert dynamic["address"] == {"location": "$message.header#/kafka_replyTopic"}
    assert doc["channels"]["answer.reply"]["address"] is None
    assert dynamic["messages"] == [{"$ref": "#/channels/answer.reply/messages/text"}]
    money = doc["operations"]["money"]["messages"]
    assert money == [
        {"$ref": "#/channels/money/messages/Order.order"},
        {"$ref": "#/channels/money/messages/Refund.refund"},
    ]
    refund = doc["components"]["messages"]["Refund.refund"]
    assert refund["headers"]["properties"]["__TypeId__"] == {"type": "string", "const": "refund"}
    sent = doc["operations"]["send.orders"]
    assert sent["action"] == "send" and sent["summary"] == "orders the shop takes"


def test_a_secured_cluster_names_its_security_scheme() -> None:
    doc = asyncapi_document(_shop(_secured("SCRAM-SHA-512")), title="shop")
    (server,) = doc["servers"].values()
    assert server["protocol"] == "kafka-secure"
    assert server["security"] == [{"$ref": "#/components/securitySchemes/sasl"}]
    assert doc["components"]["securitySchemes"]["sasl"]["type"] == "scramSha512"
    assert "secret" not in json.dumps(doc)


def test_the_asyncapi_parser_accepts_every_document() -> None:
    secured = _secured("PLAIN")
    documents = {
        "shop": asyncapi_document(_shop(), title="shop", description="A shop."),
        "secured": asyncapi_document(_shop(secured), title="secured"),
        "empty": asyncapi_document(KafkaApp(KafkaSettings()), title="nothing declared"),
    }
    for name, verdict in validate(documents).items():
        assert verdict["valid"], (name, errors(verdict))


def test_the_parser_would_refuse_a_broken_document() -> None:
    doc: dict[str, Any] = asyncapi_document(_shop(), title="shop")
    del doc["operations"]["bill"]["action"]
    doc["channels"]["orders"]["messages"]["Order"] = {"$ref": "#/components/messages/Nope"}
    (verdict,) = validate({"broken": doc}).values()
    assert not verdict["valid"]
    found = "\n".join(errors(verdict))
    assert "action" in found and "Nope" in found


def test_the_page_shows_operations_channels_and_schemas() -> None:
    page = render_page(asyncapi_document(_shop(), title="shop <&>"))
    assert "shop &lt;&amp;&gt;" in page  # escaped
    for shown in ("Bill each order once.", "billing", "kafka_replyTopic", "ship_to", "k1:9092"):
        assert shown in page, shown
    assert "http://" not in page and "https://" not in page  # nothing from outside


def test_kafka_kit_asyncapi_prints_an_apps_document(tmp_path: Path) -> None:
    (tmp_path / "greeter.py").write_text(
        "from kafka_kit import KafkaApp\n"
        "app = KafkaApp()\n"
        "@app.listener('names', group_id='greeter')\n"
        "async def greet(name: str) -> None: ...\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "kafka_kit.cli", "asyncapi", "greeter:app", "--app-dir", tmp_path],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["info"]["title"] == "greeter" and list(doc["operations"]) == ["greet"]


@pytest.mark.parametrize("spec", ["json:loads", "json"])
def test_kafka_kit_asyncapi_refuses_what_is_no_app(spec: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kafka_kit.cli", "asyncapi", spec],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode != 0
    assert "give a KafkaApp" in done.stderr or "has no attribute" in done.stderr, done.stderr


def test_a_type_without_a_json_schema_is_described_not_fatal() -> None:
    app = KafkaApp(KafkaSettings())
    app.publisher("legacy", Legacy)
    doc = asyncapi_document(app, title="legacy")
    schema = doc["components"]["schemas"]["Legacy"]
    assert sys.version_info >= (3, 12) or "no JSON schema for Legacy" in schema["description"]
