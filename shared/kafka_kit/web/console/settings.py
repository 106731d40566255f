"""The console's settings (env ``CONSOLE_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConsoleSettings"]


class ConsoleSettings(BaseSettings):
    """The web console (env ``CONSOLE_*``)."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore")

    refresh_s: float = Field(
        default=2.0, gt=0, description="how often an open console page re-renders itself"
    )
