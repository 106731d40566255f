"""Where to move a listener's consumers: beginning, end, an offset, or a timestamp."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from kafka_kit.json_numbers import JsonInt

__all__ = ["PartitionRef", "SeekPosition", "SeekRequest"]


MAX_LONG = 2**63 - 1
"""Kafka's offsets and timestamps are signed 64-bit: nothing larger can be sent."""

MAX_EXACT_JSON = 2**53 - 1
"""What the OpenAPI schema promises: JSON clients that read numbers as doubles (JavaScript, and
fuzzers that generate them) cannot tell 2**63 - 1 from 2**63. The server accepts up to 2**63 - 1."""


_POSITION_NUMBER: JsonDict = {"type": "integer", "minimum": 0, "maximum": MAX_EXACT_JSON}
"""An offset or timestamp, as each branch of the cross-field rule states it again (a generator
may take a branch on its own)."""


class SeekPosition(StrEnum):
    """The kinds of seek a registry can perform."""

    BEGINNING = "beginning"
    END = "end"
    OFFSET = "offset"
    TIMESTAMP = "timestamp"


class PartitionRef(BaseModel):
    """One partition of a topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = Field(min_length=1)
    """The topic."""
    # A JSON boolean or string is not a partition (lax mode would take false as 0); 3.0 is 3.
    partition: JsonInt = Field(ge=0)
    """The partition."""


class SeekRequest(BaseModel):
    """A seek for some (or, without ``partitions``, all) of a listener's assigned partitions."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"position": "beginning"},
                {
                    "position": "offset",
                    "offset": 42,
                    "partitions": [{"topic": "events", "partition": 0}],
                },
                {"position": "timestamp", "timestamp": 1767225600000},
            ],
            # The cross-field rule the validator enforces, stated in the schema too.
            "oneOf": [
                {
                    "properties": {
                        "position": {"enum": ["beginning", "end"]},
                        "offset": {"type": "null"},
                        "timestamp": {"type": "null"},
                    }
                },
                {
                    "properties": {
                        "position": {"const": "offset"},
                        "offset": _POSITION_NUMBER,
                        "timestamp": {"type": "null"},
                    },
                    "required": ["offset"],
                },
                {
                    "properties": {
                        "position": {"const": "timestamp"},
                        "timestamp": _POSITION_NUMBER,
                        "offset": {"type": "null"},
                    },
                    "required": ["timestamp"],
                },
            ],
        },
    )

    position: SeekPosition
    """``beginning``, ``end``, ``offset`` or ``timestamp``."""
    offset: JsonInt | None = Field(
        default=None,
        ge=0,
        le=MAX_LONG,
        json_schema_extra={"maximum": MAX_EXACT_JSON},
        description="With position=offset. Past the log end: the end (the listener waits for "
        "new records); before the log start: the start.",
    )
    timestamp: JsonInt | None = Field(
        default=None,
        ge=0,
        le=MAX_LONG,
        json_schema_extra={"maximum": MAX_EXACT_JSON},
        description="Epoch ms, with position=timestamp: the first record at or after it (none: "
        "the end).",
    )
    partitions: list[PartitionRef] | None = Field(
        default=None, description="Only these partitions; all assigned ones when absent."
    )

    @model_validator(mode="after")
    def _value_matches_position(self) -> SeekRequest:
        wants_offset = self.position is SeekPosition.OFFSET
        wants_timestamp = self.position is SeekPosition.TIMESTAMP
        if wants_offset != (self.offset is not None):
            raise ValueError("'offset' is given exactly when position is 'offset'")
        if wants_timestamp != (self.timestamp is not None):
            raise ValueError("'timestamp' is given exactly when position is 'timestamp'")
        return self
