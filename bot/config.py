"""Configuration: `config/settings.toml`, overridden by `TIERLINE_*` environment variables.

Every file under `config/` is validated by pydantic when it is loaded; a bad one is refused
with a `ConfigError` that names the file, the field and the reason, which the CLI prints as
one line instead of a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "TIERLINE_"
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts


class ConfigError(Exception):
    """A configuration file or variable is invalid; the message says where and why."""

    def __init__(self, source: str, field: str, reason: str) -> None:
        self.source, self.field, self.reason = source, field, reason
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {reason}")


def config_dir() -> Path:
    """Where the shipped configuration lives: `TIERLINE_CONFIG_DIR`, the source tree's
    `config/`, or the copy packaged inside an installed wheel."""
    override = os.environ.get(f"{ENV_PREFIX}CONFIG_DIR")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "config", here / "_config"):
        if (candidate / "settings.toml").is_file():
            return candidate
    return here.parent / "config"


class Section(BaseModel):
    """Base of every settings section: unknown keys are refused, so typos are caught."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier1Settings(Section):
    """Tier 1 operators: when they are live (federal holidays are always closed)."""

    live_opens: time = time(8, 0)
    live_closes: time = time(20, 0)

    @model_validator(mode="after")
    def _opens_before_closes(self) -> Tier1Settings:
        if self.live_opens >= self.live_closes:
            raise ValueError("live_opens must be before live_closes")
        return self


class Tier2Settings(Section):
    """Tier 2 officer callbacks and the field-office appointments they book."""

    callback_opens: time = time(7, 0)
    callback_closes: time = time(18, 30)
    slot_minutes: int = Field(default=30, ge=5, le=240)
    slot_capacity: int = Field(default=3, ge=1)
    urgent_hours: int = Field(default=72, ge=1)
    regular_business_days: int = Field(default=30, ge=1)
    min_notice_minutes: int = Field(default=60, ge=0)
    slots_per_page: int = Field(default=4, ge=1, le=8)
    reminder_business_days: int = Field(default=1, ge=1)
    max_attempts: int = Field(default=2, ge=1)
    appointment_lead_business_days: int = Field(default=5, ge=1)
    simulate_officer: bool = False

    @model_validator(mode="after")
    def _opens_before_closes(self) -> Tier2Settings:
        if self.callback_opens >= self.callback_closes:
            raise ValueError("callback_opens must be before callback_closes")
        return self


class TelegramSettings(Section):
    """The Telegram bot (`tierline telegram`): where the Bot API is, who is staff, how fast
    to send, and the optional webhook. The token itself is `telegram_token` above."""

    # The Bot API server's root; "/bot<token>/<method>" is appended. A self-hosted
    # telegram-bot-api server, or a local fake in tests, goes here.
    base_url: str = "https://api.telegram.org"
    # Telegram user ids allowed to use /queue, /take and /done.
    staff_user_ids: list[int] = Field(default_factory=list)
    # Pacing per chat: Telegram allows about one message per second to one chat.
    per_chat_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    # Long-poll timeout of getUpdates.
    poll_timeout: int = Field(default=30, ge=0, le=120)
    # How often clock-driven work runs and due outbox notices are pushed.
    notice_poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Updates handled at once (different chats; one chat is always handled in order).
    max_concurrent_updates: int = Field(default=64, ge=1, le=4096)
    # Sending: attempts on 429 answers (every request waits out Telegram's retry_after).
    send_attempts: int = Field(default=6, ge=1, le=50)
    # A chat whose sends fail backs off alone: this long after the first failure, doubling
    # up to the maximum; other chats are not delayed.
    network_backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    network_backoff_max_seconds: float = Field(default=30.0, ge=0, le=600)
    # How long a request waits for Telegram's answer. A message not answered in time may
    # have arrived: it is not sent again (docs/reliability.md).
    read_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # Updates fetched and waiting to be handled; beyond this no more are fetched (Telegram
    # keeps them).
    max_pending_updates: int = Field(default=1000, ge=1, le=100_000)
    # On SIGTERM: how long the work in flight may finish before it is cut (what is cut
    # stays in the inbox and the outbox for the next start).
    shutdown_grace_seconds: float = Field(default=5.0, ge=0, le=60)
    # Webhook mode (instead of long polling) when webhook_url is set; every request must
    # carry webhook_secret_token (1-256 of A-Z a-z 0-9 _ -).
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret_token: SecretStr | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _https_webhook(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must be the public URL Telegram posts to, e.g. https://bot.example.org/tg"
            )
        return value or None

    @field_validator("webhook_secret_token")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value


class Settings(BaseModel):
    """Everything a deployer sets: `settings.toml`, then `TIERLINE_*` variables (see
    `environment()`), then command-line options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "America/New_York"
    db_path: Path = Path("tierline.db")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    load_demo_cases: bool = True
    telegram_token: SecretStr | None = None
    config_dir: Path = Field(default_factory=config_dir)
    tier1: Tier1Settings = Field(default_factory=Tier1Settings)
    tier2: Tier2Settings = Field(default_factory=Tier2Settings)

    telegram: TelegramSettings = TelegramSettings()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings given as environment variables, nested like the file: `TIERLINE_TIMEZONE`
    is `timezone`, `TIERLINE_TIER2__SLOT_CAPACITY` is `tier2.slot_capacity` (names in any
    case). A value that is a JSON list or object (`'[123456789]'`) is read as JSON; others
    are text, which validation turns into the field's type. Variables that name no setting
    are left alone (other tools may share the prefix)."""
    found: dict[str, Any] = {}
    for name, text in (os.environ if environ is None else environ).items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        if path[0] not in Settings.model_fields:
            continue
        value: Any = text
        if text.lstrip().startswith(("[", "{")):
            # Not JSON after all: validation then says what is wrong with the text.
            with contextlib.suppress(ValueError):
                value = json.loads(text)
        section = found
        for part in path[:-1]:
            section = section.setdefault(part, {})
        section[path[-1]] = value
    return found


def _merged(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merged(dict(out[key]), value)
        else:
            out[key] = value
    return out


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's contents, or a `ConfigError` saying what is wrong with it."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot be read: {exc.strerror}") from None


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    field = ".".join(str(part) for part in err["loc"]) or "(top level)"
    return field, err["msg"]


M = TypeVar("M", bound=BaseModel)


def load_model(path: Path, model: type[M], data: Any = None) -> M:
    """Validate a config file (or already-parsed `data` read from it) against `model`."""
    if data is None:
        data = read_toml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        field, reason = _first_error(exc)
        raise ConfigError(str(path), field, reason) from None


def load_settings(directory: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `settings.toml` in `directory`, then the environment, then `overrides`
    (command-line options, which win over both)."""
    directory = directory or config_dir()
    path = directory / "settings.toml"
    data = read_toml(path)
    data.setdefault("config_dir", directory)
    try:
        settings = Settings.model_validate(_merged(data, environment()))
    except ValidationError as exc:
        field, reason = _first_error(exc)
        top = field.split(".", 1)[0]
        env_name = ENV_PREFIX + top.upper()
        if any(k.upper().startswith(env_name) for k in os.environ):
            raise ConfigError(f"environment variable {env_name}", field, reason) from None
        raise ConfigError(str(path), field, reason) from None
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return settings
    # Validated field by field: going through Settings(...) again would let the environment
    # win over the command line.
    checked = {}
    for name, value in given.items():
        current = getattr(settings, name, None)
        if isinstance(value, dict) and isinstance(current, BaseModel):
            value = current.model_dump() | value  # a partial section keeps the rest
        try:
            adapter = TypeAdapter(Settings.model_fields[name].annotation)  # type: ignore[arg-type]
            checked[name] = adapter.validate_python(value)
        except ValidationError as exc:
            field, reason = _first_error(exc)
            field = name if field == "(top level)" else f"{name}.{field}"
            raise ConfigError("command-line option", field, reason) from None
    return settings.model_copy(update=checked)
