"""Settings shared by every lifesign process (pydantic-settings, env prefix ``LIFESIGN_``).

Each service subclasses :class:`LifesignSettings` with its own fields; nothing else in the
code base reads ``os.environ`` (STYLE: one settings class per service).
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lifesign.clock import Clock, FixedClock, SystemClock
from lifesign.db import PLANNER_SETTINGS
from lifesign.identity import FieldCipher, Pseudonymizer, key_from_text

#: The standard is written for mainland China; every business date is a Beijing date.
TIMEZONE = ZoneInfo("Asia/Shanghai")

# Development keys: `lifesign up` and the tests use them when nothing else is configured.
# A production deployment must set LIFESIGN_PSEUDONYM_KEY and LIFESIGN_ENCRYPTION_KEY.
DEV_PSEUDONYM_KEY = "lifesign-dev-pseudonym-key-not-for-production"
DEV_ENCRYPTION_KEY = "lifesign-dev-encryption-key-not-for-production"


class LifesignSettings(BaseSettings):
    """Connection strings, keys and the clock, common to every service."""

    model_config = SettingsConfigDict(env_prefix="LIFESIGN_", extra="ignore", frozen=True)

    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, comma separated."
    )
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/lifesign",
        description="SQLAlchemy URL of the PostgreSQL database (asyncpg driver).",
    )
    database_planner: dict[str, str] = Field(
        default_factory=lambda: dict(PLANNER_SETTINGS),
        description="PostgreSQL settings sent with every connection (JSON); {} keeps the "
        "server's own. The default plans a batch's key probes on the indexes.",
    )
    pseudonym_key: SecretStr = Field(
        default=SecretStr(DEV_PSEUDONYM_KEY),
        description="HMAC key for person pseudonyms (64 hex chars, or any text for dev).",
    )
    encryption_key: SecretStr = Field(
        default=SecretStr(DEV_ENCRYPTION_KEY),
        description="AES-256-GCM key for stored identity fields (64 hex chars).",
    )
    clock: str = Field(
        default="system",
        description="'system', or an ISO timestamp that freezes the clock (tests, demos).",
    )
    otel_console: bool = Field(default=False, description="Print finished spans to stderr.")
    topic_partitions: int = Field(default=4, ge=1, description="Partitions of new topics.")
    topic_replication: int = Field(
        default=1, ge=1, description="Replication factor of new topics (3 on a real cluster)."
    )
    require_keys: bool = Field(
        default=False,
        description="Refuse to start with the development keys (set true in production).",
    )

    @model_validator(mode="after")
    def _no_dev_keys_when_required(self) -> LifesignSettings:
        dev = {DEV_PSEUDONYM_KEY, DEV_ENCRYPTION_KEY}
        keys = (self.pseudonym_key.get_secret_value(), self.encryption_key.get_secret_value())
        if self.require_keys and any(k in dev or len(k) < 32 for k in keys):
            raise ValueError(
                "LIFESIGN_REQUIRE_KEYS is set: LIFESIGN_PSEUDONYM_KEY and "
                "LIFESIGN_ENCRYPTION_KEY must be real keys (64 hex characters)"
            )
        return self

    @cached_property
    def pseudonymizer(self) -> Pseudonymizer:
        return Pseudonymizer(key_from_text(self.pseudonym_key.get_secret_value()))

    @cached_property
    def cipher(self) -> FieldCipher:
        return FieldCipher(key_from_text(self.encryption_key.get_secret_value()))

    def make_clock(self) -> Clock:
        if self.clock == "system":
            return SystemClock()
        frozen = datetime.fromisoformat(self.clock)
        if frozen.tzinfo is None:
            frozen = frozen.replace(tzinfo=TIMEZONE)
        return FixedClock(frozen)


class ServiceSettings(LifesignSettings):
    """What every long-running service adds: its HTTP port and consumer tuning."""

    http_host: str = "127.0.0.1"
    http_port: int = 0
    batch_max_records: int = Field(default=2000, ge=1)
    batch_timeout_ms: int = Field(default=200, ge=1)
    session_timeout_ms: int = Field(
        default=6000,
        ge=1000,
        description="Consumer-group session timeout; Tansu holds JoinGroup for about half.",
    )
