"""Where a service finds Kafka Connect (env ``CONNECT_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConnectSettings"]


class ConnectSettings(BaseSettings):
    """A Connect cluster's REST URL (any worker of the group); none: no Connect endpoints."""

    model_config = SettingsConfigDict(env_prefix="CONNECT_", extra="ignore")

    url: str | None = Field(
        default=None,
        description="a Kafka Connect worker's REST URL, e.g. `http://connect:8083`; none: off",
    )
    timeout_s: float = Field(default=30.0, gt=0, description="longest wait for Connect's answer")
