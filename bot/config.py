"""Settings: the only module that reads the environment (and ``.env``).

Every name is documented in ``.env.example``. ``load_settings()`` turns any
invalid value or contradictory combination into one ``ConfigError`` line that
names the setting, so a bad deployment fails at start, not at the first link.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.settings_checks import (
    check_database_url,
    check_http_url,
    check_token_prefix,
    check_ws_url,
)

DEFAULT_DB_URL = "sqlite+aiosqlite:///linkbrief.db"
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # a blank line copied from .env.example means "unset"
        extra="ignore",
        case_sensitive=False,
    )

    # --- Slack -----------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_mode: Literal["socket", "http"] = "socket"
    slack_http_port: int = Field(3000, ge=1, le=65535)
    slack_api_base_url: str = "https://slack.com/api/"
    slack_trigger_reaction: str = "memo"

    # --- Discord ---------------------------------------------------------
    discord_token: SecretStr | None = None
    discord_api_base_url: str | None = None
    discord_gateway_url: str | None = None

    # --- Model -----------------------------------------------------------
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    summarizer: Literal["auto", "llm", "extractive"] = "auto"
    llm_timeout_s: float = Field(60.0, gt=0, le=600)
    llm_max_retries: int = Field(2, ge=0, le=10)
    llm_concurrency: int = Field(4, ge=1, le=256)
    max_input_tokens: int = Field(12000, ge=500)
    max_output_tokens: int = Field(1200, ge=100)
    summary_language: str = ""  # "" = the article's own language
    # Azure OpenAI (classic api-version deployments): set the endpoint to use it.
    azure_openai_endpoint: str | None = None
    azure_openai_api_key: SecretStr | None = None  # else OPENAI_API_KEY
    azure_openai_api_version: str = "2024-10-21"
    azure_openai_deployment: str | None = None  # else LLM_MODEL
    # Headers sent with every model request, for gateways: a JSON object.
    llm_extra_headers: SecretStr | None = None

    # --- Store -----------------------------------------------------------
    database_url: str = DEFAULT_DB_URL
    brief_cache_ttl_s: float = Field(6 * 3600, ge=0)

    # --- Fetching --------------------------------------------------------
    fetch_allowed_private_hosts: str = ""  # comma-separated hosts or CIDRs
    fetch_timeout_s: float = Field(15.0, gt=0, le=300)
    fetch_max_bytes: int = Field(5_000_000, ge=10_000)
    fetch_max_redirects: int = Field(5, ge=0, le=20)
    fetch_user_agent: str = "linkbrief/0.1 (+https://github.com/linkbrief/linkbrief)"
    # Opt-in proxy for page fetches (http://[user:pass@]host:port); the guard still
    # vets every target. The environment's HTTPS_PROXY is not used.
    fetch_proxy: SecretStr | None = None
    # Certificates trusted for page fetches: a PEM file, "system" (the OS store),
    # or unset (certifi's bundle).
    fetch_ca_bundle: str | None = None
    # Extraction (HTML and PDF) runs in worker processes; a job past this is killed.
    extract_timeout_s: float = Field(20.0, gt=0, le=300)
    extract_workers: int = Field(0, ge=0, le=32)  # 0 = one per core, 2 to 4

    # --- Chat behaviour --------------------------------------------------
    max_links_per_message: int = Field(3, ge=1, le=20)

    # --- Limits ----------------------------------------------------------
    rate_limit_user_per_hour: int = Field(20, ge=0)  # 0 = no limit
    rate_limit_channel_per_hour: int = Field(60, ge=0)  # 0 = no limit
    daily_token_budget: int = Field(2_000_000, ge=0)  # per workspace/guild, UTC day; 0 = none

    # --- Digests ---------------------------------------------------------
    digest_default_tz: str = "UTC"
    digest_default_time: str = "09:00"
    digest_max_entries: int = Field(10, ge=1, le=50)
    digest_llm_calls: int = Field(5, ge=0, le=100)  # fresh briefs per digest; then extractive
    digest_poll_interval_s: float = Field(1800.0, ge=30)
    digest_lease_s: float = Field(300.0, ge=10)  # how long a process holds a digest run
    digest_tick_s: float = Field(30.0, gt=0, le=3600)

    # --- Operations ------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # /healthz and /metrics: always on the Slack HTTP server when SLACK_MODE=http;
    # OPS_HTTP_PORT (unset = none) adds a standalone server for the other modes.
    ops_http_port: int | None = Field(None, ge=1, le=65535)
    ops_http_host: str = "0.0.0.0"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("slack_mode", "summarizer", "log_format", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @field_validator("digest_default_tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {v!r}") from exc
        return v

    @field_validator("fetch_allowed_private_hosts")
    @classmethod
    def _hosts(cls, v: str) -> str:
        for entry in _split(v):
            if "/" in entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{entry!r} is not a valid CIDR") from exc
        return v

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str) -> str:
        return check_database_url(v)

    @field_validator("openai_base_url", "slack_api_base_url", "discord_api_base_url")
    @classmethod
    def _http_url(cls, v: str | None, info: ValidationInfo) -> str | None:
        return check_http_url(str(info.field_name).upper(), v)

    @field_validator("discord_gateway_url")
    @classmethod
    def _ws_url(cls, v: str | None) -> str | None:
        return check_ws_url("DISCORD_GATEWAY_URL", v)

    @field_validator("llm_model")
    @classmethod
    def _model(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("LLM_MODEL is empty — name the model, e.g. gpt-4o-mini or llama3.1")
        return v.strip()

    @field_validator("fetch_proxy")
    @classmethod
    def _proxy(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            parts = urlsplit(v.get_secret_value())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must be an http:// or https:// proxy URL")
        return v

    @field_validator("fetch_ca_bundle")
    @classmethod
    def _ca_bundle(cls, v: str | None) -> str | None:
        if v is not None and v != "system" and not Path(v).is_file():
            raise ValueError(f"{v!r} is not a file (a PEM bundle, or 'system')")
        return v

    @field_validator("llm_extra_headers")
    @classmethod
    def _extra_headers(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            _parse_headers(v.get_secret_value())
        return v

    @model_validator(mode="after")
    def _combinations(self) -> Settings:
        slack_where = "your app's page at https://api.slack.com/apps"
        if self.slack_bot_token:
            check_token_prefix(
                "SLACK_BOT_TOKEN", self.slack_bot_token.get_secret_value(), "xoxb-",
                f"OAuth & Permissions → Bot User OAuth Token on {slack_where}",
            )  # fmt: skip
        if self.slack_app_token:
            check_token_prefix(
                "SLACK_APP_TOKEN", self.slack_app_token.get_secret_value(), "xapp-",
                f"Basic Information → App-Level Tokens on {slack_where}",
            )  # fmt: skip
        if self.slack_bot_token and self.slack_mode == "http" and not self.slack_signing_secret:
            raise ValueError("SLACK_SIGNING_SECRET is required when SLACK_MODE=http")
        if self.slack_bot_token and self.slack_mode == "socket" and not self.slack_app_token:
            raise ValueError(
                "SLACK_APP_TOKEN (xapp-…) is required for Socket Mode; "
                "or set SLACK_MODE=http with SLACK_SIGNING_SECRET"
            )
        if (self.slack_app_token or self.slack_signing_secret) and not self.slack_bot_token:
            raise ValueError("SLACK_BOT_TOKEN (xoxb-…) is required when Slack is configured")
        if self.summarizer == "llm" and not self._model_configured:
            raise ValueError(
                "SUMMARIZER=llm needs OPENAI_API_KEY, OPENAI_BASE_URL or AZURE_OPENAI_ENDPOINT"
            )
        return self

    # --- derived -----------------------------------------------------------
    @property
    def allowed_private_hosts(self) -> list[str]:
        return _split(self.fetch_allowed_private_hosts)

    @property
    def llm_enabled(self) -> bool:
        if self.summarizer == "extractive":
            return False
        return self._model_configured

    @property
    def _model_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url or self.azure_openai_endpoint)

    @property
    def llm_api_key(self) -> str | None:
        """The key sent to the model server: Azure's own when Azure is used and has one."""
        key = self.openai_api_key
        if self.azure_openai_endpoint and self.azure_openai_api_key:
            key = self.azure_openai_api_key
        return key.get_secret_value() if key else None

    @property
    def llm_extra_headers_map(self) -> dict[str, str]:
        if self.llm_extra_headers is None:
            return {}
        return _parse_headers(self.llm_extra_headers.get_secret_value())

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def discord_enabled(self) -> bool:
        return self.discord_token is not None

    def secrets(self) -> list[str]:
        """Every secret value, so log filters can redact them."""
        values = [
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
            self.discord_token,
            self.openai_api_key,
            self.azure_openai_api_key,
            self.fetch_proxy,
        ]
        found = [v.get_secret_value() for v in values if v and v.get_secret_value()]
        return found + [value for value in self.llm_extra_headers_map.values() if value]


def _parse_headers(raw: str) -> dict[str, str]:
    """LLM_EXTRA_HEADERS: a JSON object of header names to string values."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError('must be a JSON object, e.g. {"X-Gateway-Key": "..."}') from None
    if not isinstance(data, dict):
        raise ValueError('must be a JSON object, e.g. {"X-Gateway-Key": "..."}')
    for name, value in data.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid header name")
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise ValueError(f"the value of {name} must be a one-line string")
    return data


def _split(value: str) -> list[str]:
    return [part.strip().lower() for part in value.split(",") if part.strip()]


def load_settings(env_file: str | Path | None = ".env", **overrides: object) -> Settings:
    """Build settings from the environment (and ``env_file``), or raise one ConfigError line."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = [str(part) for part in err.get("loc", ()) if part]
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if loc and msg.startswith(loc[0].upper()):  # already names the setting and the fix
        return msg
    if loc:
        got = err.get("input")
        shown = f" (got {got!r})" if isinstance(got, str) and not _is_secret(loc[0]) else ""
        return f"Invalid setting {loc[0].upper()}: {msg}{shown}"
    return f"Invalid settings: {msg}"


def _is_secret(field: str) -> bool:
    """Never echo a secret's value back, nor a value we cannot place."""
    info = Settings.model_fields.get(field)
    return info is None or info.annotation in (SecretStr, SecretStr | None)
