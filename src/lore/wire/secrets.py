"""Wire forms of a tenant's secrets: a value goes in, only its masked form and dates come out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from lore.security.secrets import MAX_SECRET_CHARS, SecretName


class SecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: SecretStr = Field(min_length=1, max_length=MAX_SECRET_CHARS, description="Stored encrypted.")


class SecretOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: SecretName
    masked: str = Field(description="Its first three and last four characters at most.")
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = Field(description="When Lore last answered with it (to the minute).")
    failing_since: datetime | None = Field(description="Since when its provider refuses it (401 or 403).")


class SecretList(BaseModel):
    items: list[SecretOut]
