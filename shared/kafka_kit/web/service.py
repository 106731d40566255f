"""What identifies one running service process (env ``SERVICE_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """Settings every service built on ``kafka_kit.web`` shares (env ``SERVICE_*``)."""

    model_config = SettingsConfigDict(env_prefix="SERVICE_", extra="ignore")

    instance_id: str | None = Field(
        default=None,
        description="shown as `instance` in `GET /health`: whoever started the service can tell "
        "it from another process on the same port",
    )

    def health(self, status: str, **details: object) -> dict[str, object]:
        """A ``/health`` body: ``status``, ``details``, and ``instance`` when one is set."""
        body: dict[str, object] = {"status": status, **details}
        if self.instance_id is not None:
            body["instance"] = self.instance_id
        return body
