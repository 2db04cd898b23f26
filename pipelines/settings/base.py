"""What every settings section shares: the strict base model, the error and the secret marker.

``_Strict`` holds the rules common to every section (TOML types as written, finite numbers, no
unknown keys, secrets refused); ``SECRET`` is the error type of a secret found in the file.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

SECRET = "secret_in_file"
"""Error type of a secret found in the file: its value is never repeated in a message."""


class SettingsError(ValueError):
    """The settings file is missing, unreadable or has a bad value (named with its key)."""


class _Strict(BaseModel):
    """TOML types as written (no ``"20"`` for 20), finite numbers, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
    SECRETS: ClassVar[dict[str, str]] = {}
    """Keys refused as secrets, each with where its value must come from instead."""

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        for key, instead in cls.SECRETS.items():
            if isinstance(data, dict) and key in data:
                raise PydanticCustomError(
                    SECRET, "{key} is a secret and never goes in the settings file: {instead}",
                    {"key": key, "instead": instead},
                )
        return data
