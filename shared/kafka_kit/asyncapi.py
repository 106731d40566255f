"""AsyncAPI 3.0: the document of what a ``KafkaApp`` reads and writes, made from its declarations.

OpenAPI describes a service's HTTP routes; AsyncAPI describes its topics. The document is built
from what the app already declares, so it cannot drift from the code:

- each listener is a ``receive`` operation on its topics' channels, with its group as the Kafka
  binding and the payload its handler's annotation asks for (a ``type_mapping`` gives one message
  per type, told apart by Spring's ``__TypeId__`` header); a ``reply_to`` is the operation's
  ``reply`` (``reply_to=True``: the address the request's ``kafka_replyTopic`` header names);
- each ``app.publisher(topic, Model)`` is a ``send`` operation: what the program's template
  sends, declared, since a template does not know its payloads in advance;
- topics declared with ``app.topic`` give the channels their partitions and replicas;
- payload schemas are pydantic's JSON Schema (``components.schemas``), the servers the bootstrap
  addresses, with the security the settings ask for.

``kafka-kit asyncapi module:app`` prints it; the services serve it at ``/asyncapi.json``.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import PydanticUserError, TypeAdapter

from kafka_kit.headers import TYPE_ID
from kafka_kit.listener.endpoint import ListenerEndpoint
from kafka_kit.publication import Publication

if TYPE_CHECKING:
    from kafka_kit.app import KafkaApp

__all__ = ["ASYNCAPI_VERSION", "Publication", "asyncapi_document"]

ASYNCAPI_VERSION = "3.0.0"
"""The version of the AsyncAPI specification the documents follow."""

KAFKA_BINDING = "0.5.0"
"""The version of AsyncAPI's Kafka bindings used."""

_SASL_SCHEMES = {
    "PLAIN": "plain",
    "SCRAM-SHA-256": "scramSha256",
    "SCRAM-SHA-512": "scramSha512",
    "GSSAPI": "gssapi",
}


def _component_name(name: str) -> str:
    """A key AsyncAPI accepts for a component, channel or operation (``[\\w.-]+``)."""
    return re.sub(r"[^\w.\-]", "_", name)


class _Schemas:
    """Payload types as messages and JSON schemas, each named once in ``components``."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}

    def message(self, payload: Any, type_id: str | None = None) -> str:
        """The component name of the message carrying ``payload`` (added when new)."""
        content_type, schema, name = self._payload(payload)
        if type_id is not None:
            name = f"{name}.{_component_name(type_id)}"
        if name not in self.messages:
            message: dict[str, Any] = {"name": name, "contentType": content_type}
            message["payload"] = schema
            if type_id is not None:  # Spring's JsonSerializer names the type in a header
                message["headers"] = {
                    "type": "object",
                    "properties": {TYPE_ID: {"type": "string", "const": type_id}},
                }
            self.messages[name] = message
        return name

    def _payload(self, payload: Any) -> tuple[str, dict[str, Any], str]:
        """Content type, schema (a reference for named types) and message name of a type."""
        if payload in (bytes, bytearray, memoryview):
            return "application/octet-stream", {"type": "string", "format": "binary"}, "bytes"
        if payload is str:
            return "text/plain", {"type": "string"}, "text"
        if payload is None or payload is Any:  # a handler of whole records: any value
            return "application/json", {}, "json"
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(payload)
            schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
        except PydanticUserError as exc:  # e.g. typing.TypedDict before 3.12: say so, go on
            why = str(exc).splitlines()[0]
            schema = {"description": f"no JSON schema for {_type_name(payload)}: {why}"}
        for name, definition in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, definition)
        named = isinstance(payload, type) and (
            dataclasses.is_dataclass(payload)
            or hasattr(payload, "model_json_schema")
            or typing.is_typeddict(payload)
        )
        if not named:
            return "application/json", schema, _component_name(_type_name(payload))
        name = _component_name(payload.__name__)
        self.schemas.setdefault(name, schema)
        return "application/json", {"$ref": f"#/components/schemas/{name}"}, name


def _type_name(annotation: Any) -> str:
    """``dict``, ``list_int``…: a readable name for an unnamed payload type."""
    origin = typing.get_origin(annotation) or annotation
    args = "_".join(_type_name(a) for a in typing.get_args(annotation))
    base = getattr(origin, "__name__", str(origin))
    return f"{base}_{args}" if args else base


def _reply_payload(endpoint: ListenerEndpoint) -> Any:
    """What the handler returns, one element of it when it returns a list (each one a record)."""
    returned = typing.get_type_hints(endpoint.handler).get("return", Any)
    if typing.get_origin(returned) in (list, tuple):
        (returned, *_) = typing.get_args(returned) or (Any,)
    return returned


class _Builder:
    """Channels and operations, added listener by listener and publication by publication."""

    def __init__(self, app: KafkaApp) -> None:
        self.schemas = _Schemas()
        self.channels: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.declared = {topic.name: topic for topic in app.topics}

    def channel(self, topic: str) -> str:
        """The channel id of ``topic`` (added when new, with what its declaration says)."""
        channel = _component_name(topic)
        if channel not in self.channels:
            binding: dict[str, Any] = {"bindingVersion": KAFKA_BINDING}
            declared = self.declared.get(topic)
            if declared is not None and declared.partitions:
                binding["partitions"] = declared.partitions
            if declared is not None and declared.replication_factor:
                binding["replicas"] = declared.replication_factor
            self.channels[channel] = {
                "address": topic,
                "messages": {},
                "bindings": {"kafka": binding},
            }
        return channel

    def messages_on(self, channel: str, names: Iterable[str]) -> list[dict[str, str]]:
        """References to ``names`` as messages of ``channel`` (added to it)."""
        references = []
        for name in names:
            self.channels[channel]["messages"][name] = {"$ref": f"#/components/messages/{name}"}
            references.append({"$ref": f"#/channels/{channel}/messages/{name}"})
        return references

    def _payload_messages(self, endpoint: ListenerEndpoint) -> list[str]:
        if endpoint.type_mapping is not None:
            return [
                self.schemas.message(kind, token)
                for token, kind in endpoint.type_mapping.types.items()
            ]
        return [self.schemas.message(endpoint.invoker.payload_type)]

    def listener(self, endpoint: ListenerEndpoint) -> None:
        """A ``receive`` operation per topic the listener reads."""
        names = self._payload_messages(endpoint)
        topics = endpoint.topics or tuple(dict.fromkeys(p.topic for p in endpoint.partitions))
        if endpoint.pattern is not None:
            topics = (endpoint.pattern,)
        group = endpoint.share_group or endpoint.group_id
        for topic in topics:
            channel = self.channel(topic)
            operation: dict[str, Any] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": self.messages_on(channel, names),
                "summary": _first_line(endpoint.handler),
            }
            if group is not None:
                operation["bindings"] = {
                    "kafka": {
                        "groupId": {"type": "string", "enum": [group]},
                        "bindingVersion": KAFKA_BINDING,
                    }
                }
            if endpoint.share_group is not None:
                operation["x-kafka-share-group"] = True  # KIP-932: members share partitions
            if endpoint.pattern is not None:
                operation["x-kafka-topic-pattern"] = endpoint.pattern
            if endpoint.reply_to is not None:
                operation["reply"] = self._reply(endpoint)
            suffix = f".{channel}" if len(topics) > 1 else ""
            self.operations[_component_name(f"{endpoint.id}{suffix}")] = operation

    def _reply(self, endpoint: ListenerEndpoint) -> dict[str, Any]:
        name = self.schemas.message(_reply_payload(endpoint))
        if isinstance(endpoint.reply_to, str):
            channel = self.channel(endpoint.reply_to)
            return {
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": self.messages_on(channel, [name]),
            }
        # reply_to=True: wherever the request's kafka_replyTopic header says (Spring's @SendTo).
        channel = _component_name(f"{endpoint.id}.reply")
        self.channels[channel] = {"address": None, "messages": {}}
        return {
            "address": {"location": "$message.header#/kafka_replyTopic"},
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": self.messages_on(channel, [name]),
        }

    def publication(self, publication: Publication) -> None:
        """A ``send`` operation on the publication's topic."""
        channel = self.channel(publication.topic)
        name = self.schemas.message(publication.payload)
        self.operations[_component_name(f"send.{publication.topic}")] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": self.messages_on(channel, [name]),
            "summary": publication.summary or f"sends to {publication.topic}",
        }


def _first_line(handler: Any) -> str:
    """The first line of the handler's docstring, else its name."""
    doc = inspect.getdoc(handler) or ""
    return doc.strip().splitlines()[0] if doc.strip() else handler.__qualname__


def _servers(app: KafkaApp) -> tuple[dict[str, Any], dict[str, Any]]:
    """One server per bootstrap address, and the security schemes they name."""
    settings = app.settings
    secure = settings.security_protocol in ("SSL", "SASL_SSL")
    schemes: dict[str, Any] = {}
    if settings.sasl_mechanism is not None:
        kind = _SASL_SCHEMES.get(settings.sasl_mechanism, "userPassword")
        schemes["sasl"] = {"type": kind, "description": f"SASL {settings.sasl_mechanism}"}
    elif settings.ssl_certfile is not None:
        schemes["tls"] = {"type": "X509", "description": "a client certificate (mutual TLS)"}
    servers: dict[str, Any] = {}
    for number, address in enumerate(settings.bootstrap_servers.split(","), start=1):
        server: dict[str, Any] = {
            "host": address.strip(),
            "protocol": "kafka-secure" if secure else "kafka",
            "description": f"bootstrap broker {number} ({settings.security_protocol})",
        }
        if schemes:
            server["security"] = [{"$ref": f"#/components/securitySchemes/{s}"} for s in schemes]
        servers[f"broker-{number}"] = server
    return servers, schemes


def asyncapi_document(
    app: KafkaApp,
    *,
    title: str,
    version: str = "1.0.0",
    description: str = "",
    publications: Iterable[Publication] = (),
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``app``: its listeners, publications, topics and payloads.

    Args:
        app: Whose declarations to describe (its settings name the servers).
        title: The document's title (the service's name).
        version: The version of the API described.
        description: What the service does, in a sentence or two.
        publications: Sends to describe besides ``app.publications``.
    """
    builder = _Builder(app)
    for endpoint in app.registry.endpoints.values():
        builder.listener(endpoint)
    for publication in (*app.publications, *publications):
        builder.publication(publication)
    servers, schemes = _servers(app)
    components: dict[str, Any] = {
        "messages": builder.schemas.messages,
        "schemas": builder.schemas.schemas,
    }
    if schemes:
        components["securitySchemes"] = schemes
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info,
        "defaultContentType": "application/json",
        "servers": servers,
        "channels": builder.channels,
        "operations": builder.operations,
        "components": components,
    }
