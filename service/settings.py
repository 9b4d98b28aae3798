"""Configuration, read once from the environment and validated at start-up.

Secrets are `SecretStr`, so printing the settings or an error about them never shows the value.
"""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.mcp_config import McpServerSpec, parse_mcp_servers, parse_timeouts

DEFAULT_API_BASE_URL = "https://api.hume.ai"
REDIS_SCHEMES = ("redis", "rediss", "unix")
MIN_OPS_TOKEN_CHARS = 16


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    hume_api_key: SecretStr
    hume_webhook_signing_key: SecretStr | None = None
    hume_webhook_accept_api_key: bool = True
    hume_api_base_url: str = DEFAULT_API_BASE_URL
    hume_ws_base_url: str | None = None
    redis_url: str = "redis://localhost:6379/0"
    tool_modules: Annotated[list[str], NoDecode] = Field(default_factory=list)

    webhook_max_body_bytes: int = Field(default=256 * 1024, gt=0)
    webhook_tolerance_seconds: int = Field(default=180, gt=0)
    claim_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    retry_after_seconds: int = Field(default=5, gt=0)

    tool_timeout_seconds: float = Field(default=10.0, gt=0)
    tool_say_if_slow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Phrases (`|`-separated) said while a tool is slow, for tools whose `@tool(say_if_slow=...)` does not say."""
    tool_slow_after_seconds: float = Field(default=2.0, gt=0)
    worker_pool_size: int = Field(default=4, gt=0)
    worker_concurrency: int = Field(default=64, ge=1)
    worker_cpu_pinning: bool = True
    """Each worker process of a pool on one CPU, spread over the CPUs (`workers.cpu_pinning`)."""
    record_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    transcripts_enabled: bool = True
    delivery_grace_seconds: float = Field(default=2.0, ge=0)
    hook_timeout_seconds: float = Field(default=30.0, gt=0)

    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    """The worker's and the relay's metrics port (None: 9100 for the worker, 9101 for the relay; 0: off)."""
    log_format: Literal["text", "json"] = "text"

    relay_enabled: bool = True
    relay_confirm_timeout_ms: int = Field(default=200, gt=0)

    mcp_servers: Annotated[list[McpServerSpec], NoDecode] = Field(default_factory=list)
    mcp_timeout_seconds: float = Field(default=10.0, gt=0)
    mcp_server_timeouts: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)
    mcp_token: SecretStr | None = None
    ops_token: SecretStr | None = None

    @field_validator("hume_api_key")
    @classmethod
    def _api_key_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("it is empty (set it to your Hume API key)")
        return value

    @field_validator("hume_webhook_signing_key", "mcp_token", "ops_token", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("ops_token")
    @classmethod
    def _ops_token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_OPS_TOKEN_CHARS:
            raise ValueError(f"it is shorter than {MIN_OPS_TOKEN_CHARS} characters, too easy to guess")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in REDIS_SCHEMES or (parts.scheme != "unix" and not parts.hostname):
            raise ValueError(f"it must look like redis://HOST:PORT/DB (or rediss://, unix://), not {value!r}")
        return value

    @field_validator("hume_api_base_url", "hume_ws_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https", "ws", "wss"):
            raise ValueError(f"it must be an http(s):// or ws(s):// URL, not {value!r}")
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("tool_modules", mode="before")
    @classmethod
    def _tool_modules_from_commas(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("tool_say_if_slow", mode="before")
    @classmethod
    def _phrases_from_bars(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split("|") if part.strip()]
        return value

    @field_validator("mcp_servers", mode="before")
    @classmethod
    def _mcp_servers(cls, value: object) -> object:
        return parse_mcp_servers(value) if isinstance(value, str) else value

    @field_validator("mcp_server_timeouts", mode="before")
    @classmethod
    def _mcp_server_timeouts(cls, value: object, info: ValidationInfo) -> object:
        timeouts = parse_timeouts(value) if isinstance(value, str) else value
        if "mcp_servers" not in info.data:  # MCP_SERVERS itself is invalid, and says so
            return timeouts
        known = {spec.name for spec in info.data.get("mcp_servers", [])}
        unknown = sorted(set(timeouts) - known) if isinstance(timeouts, dict) else []
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not in MCP_SERVERS")
        return timeouts

    def mcp_timeout(self, server: str) -> float:
        """Seconds a call to a tool of this MCP server may take (also its connection's)."""
        return self.mcp_server_timeouts.get(server, self.mcp_timeout_seconds)

    @field_validator("hume_api_base_url", "hume_ws_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @cached_property
    def webhook_keys(self) -> tuple[str, ...]:
        """Every key a webhook signature may be made with: signing keys first, then the API key."""
        keys: list[str] = []
        if self.hume_webhook_signing_key is not None:
            keys.extend(self.hume_webhook_signing_key.get_secret_value().split(","))
        if self.hume_webhook_accept_api_key:
            keys.append(self.hume_api_key.get_secret_value())
        return tuple(key.strip() for key in keys if key.strip())

    @property
    def ws_base_url(self) -> str:
        if self.hume_ws_base_url:
            return self.hume_ws_base_url
        base = self.hume_api_base_url
        if base.startswith("https://"):
            return "wss://" + base.removeprefix("https://")
        if base.startswith("http://"):
            return "ws://" + base.removeprefix("http://")
        return base


NO_HUME_API_KEY = "not-needed-by-this-command"


def load_settings(*, needs_hume_api_key: bool = True) -> Settings:
    """Settings from the environment, or exit with one line per missing or invalid variable.

    `needs_hume_api_key=False` is for commands that never talk to Hume (`mcp`): a missing key is then no error.
    """
    try:
        return Settings()
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
        if not needs_hume_api_key:
            errors = [e for e in errors if not (e["loc"] == ("hume_api_key",) and e["type"] == "missing")]
            if not errors:
                return Settings(hume_api_key=SecretStr(NO_HUME_API_KEY))
        for error in errors:
            print(f"evi-toolhost: {describe_setting_error(error)}", file=sys.stderr)
        raise SystemExit(2) from None


def describe_setting_error(error: Any) -> str:
    """One line naming the variable and what is wrong with it, never its value (it may be a secret)."""
    name = "_".join(str(part) for part in error["loc"]).upper()
    if error["type"] == "missing":
        return f"environment variable {name} is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"environment variable {name} is invalid: {message}"
