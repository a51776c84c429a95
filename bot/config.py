"""Configuration: `config/settings.toml`, overridden by `TIERLINE_*` environment variables.

Every file under `config/` is validated by pydantic when it is loaded; a bad one is refused
with a `ConfigError` that names the file, the field and the reason, which the CLI prints as
one line instead of a traceback.
"""

import contextlib
import functools
import hashlib
import json
import marshal
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.version import VERSION as PYDANTIC_VERSION

from bot.storage.writes import is_postgres_url

ENV_PREFIX = "TIERLINE_"


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
    return value


# A server's root URL (without the trailing slash), and an IANA time zone name.
HttpUrl = Annotated[str, AfterValidator(_http_url)]
ZoneName = Annotated[str, AfterValidator(_zone_name)]
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

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class OperatorSetting(Section):
    """How one Tier 1 operator is named to applicants in a live chat."""

    staff: str = Field(min_length=1)  # "telegram:<user id>", or the console's --staff id
    first_name: str | None = None
    number: int | None = Field(default=None, ge=1, le=9999)

    @field_validator("first_name")
    @classmethod
    def _one_first_name(cls, value: str | None) -> str | None:
        if value is not None and not (
            len(value) <= 30 and value.replace("-", "").replace("'", "").isalpha()
        ):
            raise ValueError("a first name only: one word of letters (no surname, no spaces)")
        return value


class Tier1Settings(Section):
    """Tier 1 operators: when they are live (federal holidays are always closed), and the
    live chat with one."""

    live_opens: time = time(8, 0)
    live_closes: time = time(20, 0)
    # Nobody picks a waiting chat up within this many minutes: back to the assistant.
    live_chat_wait_minutes: int = Field(default=10, ge=1, le=240)
    # The expected wait announced: this many minutes per person in the queue (oneself too).
    live_chat_minutes_per_person: int = Field(default=4, ge=1, le=120)
    # How an operator is named to the applicant: "number" or "first_name" (from
    # `operators`; an operator without one is named by number).
    operator_naming: Literal["number", "first_name"] = "number"
    operators: list[OperatorSetting] = []

    @model_validator(mode="after")
    def _opens_before_closes(self) -> Self:
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
    def _opens_before_closes(self) -> Self:
        if self.callback_opens >= self.callback_closes:
            raise ValueError("callback_opens must be before callback_closes")
        return self


class TelegramSettings(Section):
    """The Telegram bot (`tierline telegram`): where the Bot API is, who is staff, how fast
    to send, and the optional webhook. The token itself is `telegram_token` above."""

    # The Bot API server's root; "/bot<token>/<method>" is appended. A self-hosted
    # telegram-bot-api server, or a local fake in tests, goes here.
    base_url: HttpUrl = "https://api.telegram.org"
    # Telegram user ids allowed to use /queue, /take and /done.
    staff_user_ids: list[int] = []
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
    # python-telegram-bot's AIORateLimiter: Telegram's overall (30 messages/s) and group
    # limits, and the 429 retries above. Off only for a Bot API server without Telegram's
    # limits (a local fake, a benchmark); a 429 then backs the chat off like any failure.
    rate_limiter: bool = True
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
    # Replicas: webhook processes on one PostgreSQL database behind a load balancer. An
    # update is handled no sooner than this after it was stored, so that an earlier update
    # of the same chat posted at the same moment to another replica is handled first.
    replica_settle_seconds: float = Field(default=0.25, ge=0, le=10)
    # How often each replica looks for updates left open (by a replica that died): an
    # update still the oldest open one of its chat at two looks in a row is taken over.
    replica_sweep_seconds: float = Field(default=2.0, gt=0, le=600)

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


class Limits(Section):
    """Bounds on what any input may carry, one place for every input path: a longer or
    deeper input gets a clear answer and changes nothing. (Button data is bounded by
    Telegram's 64 bytes, which is not a setting.)"""

    # A typed message, in characters (Telegram's own limit is 4096), on every channel.
    text_chars: int = Field(default=4096, ge=16, le=65_536)
    # One console or JSONL input line, in bytes (read in bounded memory whatever comes).
    line_bytes: int = Field(default=65_536, ge=1024, le=16 * 1024 * 1024)
    # How deeply a JSON input (a JSONL line, a webhook body) may nest arrays and objects.
    json_depth: int = Field(default=32, ge=2, le=500)
    # One webhook request body, in bytes.
    webhook_body_bytes: int = Field(default=1024 * 1024, ge=16 * 1024, le=64 * 1024 * 1024)
    # A staff note (`/done ... note`, `tierline staff complete --note`), in characters.
    staff_note_chars: int = Field(default=1000, ge=1, le=4096)
    # Any other staff argument (a reference, an outcome, a staff id), in characters.
    staff_arg_chars: int = Field(default=64, ge=8, le=1024)
    # Logs: a record repeated more than this many times per window (same logger, level
    # and message) is collapsed into one "suppressed N similar messages" line.
    log_repeats: int = Field(default=5, ge=1, le=10_000)
    log_window_seconds: float = Field(default=60.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _line_holds_a_message(self) -> Self:
        # A JSONL line carries a message as JSON text: up to 4 bytes a character, more
        # when escaped. A line bound below that would refuse messages the text bound takes.
        if self.line_bytes < 4 * self.text_chars:
            raise ValueError(
                f"line_bytes ({self.line_bytes}) must be at least 4 × text_chars "
                f"({4 * self.text_chars}), or a JSONL line could not carry a full message"
            )
        return self


class RetentionSettings(Section):
    """How long personal data is kept (`tierline purge`, and a job inside the running bot).
    A number of days of 0 keeps that data forever."""

    # What applicants typed or pressed (the transcript scenario recording reads).
    transcript_days: int = Field(default=30, ge=0, le=3650)
    # The transition log: which rule moved each conversation, and when.
    transition_days: int = Field(default=30, ge=0, le=3650)
    # Notices already delivered (they carry phone numbers and staff notes).
    delivered_notice_days: int = Field(default=7, ge=0, le=3650)
    # A conversation nobody wrote in for this long is forgotten (state and answers); the
    # next message starts afresh. Callbacks and requests are kept: staff work them.
    idle_conversation_days: int = Field(default=30, ge=0, le=3650)
    # Channels whose transcript keeps inputs exactly as typed (a test deployment that
    # records scenarios with real receipt numbers). Others keep receipt numbers, A-numbers
    # and phone numbers masked, and free-text answers only as their length.
    verbatim_transcripts: list[Literal["console", "telegram"]] = []
    # The job inside the running bot: how often it runs, and rows deleted per commit.
    purge_every_minutes: int = Field(default=60, ge=1, le=10080)
    purge_batch_rows: int = Field(default=1000, ge=10, le=50000)


class TrainerSettings(Section):
    """The trainer's classroom (`tierline trainer`): a local web page with its own database.
    Bound to 127.0.0.1 unless `host` says otherwise: the page drives the engine and the
    staff desk, so it is for the trainer's own machine."""

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    # Its own database file, rebuilt whenever the trainer steps back or restarts.
    db_path: Path = Path("tierline-trainer.db")


class UscisSettings(Section):
    """The USCIS Case Status API (`case_source = "uscis"`); see docs/uscis.md. The client
    secret is read from `TIERLINE_USCIS__CLIENT_SECRET` only, never from the file."""

    base_url: HttpUrl = "https://api-int.uscis.gov"  # "/case-status/{receipt}" is appended
    token_url: HttpUrl = "https://api-int.uscis.gov/oauth/accesstoken"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    # Local pacing: the sandbox allows 5 requests a second, production 10.
    requests_per_second: float = Field(default=5.0, gt=0, le=1000)
    # Calls a day, counted in the database before each call; the day starts at
    # `quota_resets_at` in `quota_timezone` (USCIS states both differently in places).
    daily_quota: int = Field(default=1000, ge=0, le=10_000_000)
    quota_resets_at: time = time(0, 0)
    quota_timezone: ZoneName = "UTC"
    # An answer this recent is given again without asking USCIS.
    cache_minutes: int = Field(default=60, ge=0, le=10_080)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Extra attempts after a 5xx, a timeout or a 429 (each waits, doubling from the backoff).
    retries: int = Field(default=2, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    # The watch list: the share of the daily quota its polls may use, at most this many
    # polls of one case a day, and at most this many polls per run of the watcher.
    watch_share: float = Field(default=0.5, ge=0, le=1)
    watch_max_polls_per_day: int = Field(default=4, ge=1, le=96)
    watch_batch: int = Field(default=20, ge=1, le=1000)


class Settings(BaseModel):
    """Everything a deployer sets: `settings.toml`, then `TIERLINE_*` variables (see
    `environment()`), then command-line options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: ZoneName = "America/New_York"
    # The database: a SQLite file (a path, the embedded default) or a PostgreSQL database
    # (a `postgresql://user:password@host:port/name` URL). `TIERLINE_DB` sets it too.
    db_path: Path | str = Path("tierline.db")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    load_demo_cases: bool = True
    # A line in the greeting and every booking confirmation: a practice assistant, not
    # USCIS; nobody will actually call (config/messages/core.toml, `practice.note`).
    practice_mode: bool = True
    # The language an applicant is spoken to in when they have not chosen one and their
    # channel says nothing usable (Telegram's language_code): "en" or "es" (bot/languages.py).
    default_language: str = "en"
    telegram_token: SecretStr | None = None
    config_dir: Path = Field(default_factory=config_dir)
    tier1: Tier1Settings = Field(default_factory=Tier1Settings)
    tier2: Tier2Settings = Field(default_factory=Tier2Settings)

    telegram: TelegramSettings = TelegramSettings()
    limits: Limits = Field(default_factory=Limits)
    retention: RetentionSettings = RetentionSettings()
    trainer: TrainerSettings = Field(default_factory=TrainerSettings)
    # Where case statuses come from: "local" (the imported CSV) or "uscis" (the USCIS Case
    # Status API, with the imported cases behind it); see `[uscis]`.
    case_source: Literal["local", "uscis"] = "local"
    uscis: UscisSettings = Field(default_factory=UscisSettings)

    @model_validator(mode="after")
    def _uscis_credentials(self) -> Self:
        if self.case_source == "uscis" and not (self.uscis.client_id and self.uscis.client_secret):
            raise ValueError(
                'case_source = "uscis" needs TIERLINE_USCIS__CLIENT_ID and'
                " TIERLINE_USCIS__CLIENT_SECRET (from the USCIS developer portal)"
            )
        return self

    @field_validator("db_path", mode="before")
    @classmethod
    def _db_location(cls, value: Any) -> Any:
        return database_location(value) if isinstance(value, str | Path) else value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        from bot.languages import LANGUAGES

        if value not in LANGUAGES:
            raise ValueError(f"unknown language {value!r} (one of: {', '.join(LANGUAGES)})")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def database_location(value: str | Path) -> Path | str:
    """`--db`, `TIERLINE_DB` or `db_path` read: a `postgresql://` URL stays text (a path
    would fold its `//`), anything else is the path of a SQLite file."""
    if is_postgres_url(value):
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if not (parts.hostname or "host=" in parts.query) or not parts.path.strip("/"):
            raise ValueError(
                "a PostgreSQL URL names a host and a database:"
                " postgresql://user:password@host:5432/name"
            )
        return value
    return Path(value)


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
        if path == ["db"]:  # TIERLINE_DB: the short name of TIERLINE_DB_PATH
            path = ["db_path"]
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
    """A TOML file's contents, or a `ConfigError` saying what is wrong with it.

    Parsing TOML in pure Python is the largest part of loading the configuration (~27 ms
    for the shipped files), so a parsed file is kept in a cache keyed by a hash of its
    bytes, as Python keeps compiled modules: an edited file has a new key and is parsed
    again, and what is parsed is validated on every load all the same."""
    return _parsed_toml(path, _read_bytes(path))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot be read: {exc.strerror}") from None


def _parsed_toml(path: Path, raw: bytes) -> dict[str, Any]:
    """`raw`, the bytes of the file `path`, parsed (from the cache when parsed before)."""
    cached = _ParsedCache.get(raw)
    if isinstance(cached, dict):
        return cached
    import tomllib  # only when a file is parsed: its import compiles several expressions

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(str(path), "", "not valid TOML: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None
    _ParsedCache.put(raw, data)
    return data


T = TypeVar("T")


class _ParsedCache:
    """Values derived from files' bytes alone (a parsed TOML file, a checked catalogue, a
    validated rule file), under `TIERLINE_CACHE_DIR` (default `$XDG_CACHE_HOME/tierline`,
    else `~/.cache/tierline`; empty turns it off), keyed by a hash of the bytes, as Python
    keeps compiled modules. Plain data is kept in `marshal` form, validated models as
    pickles (`kind="model"`). A cache that cannot be read or written is passed over: it only
    ever saves time."""

    _VERSION = f"py{sys.version_info[0]}{sys.version_info[1]}-"

    @staticmethod
    def _dir() -> Path | None:
        configured = os.environ.get(ENV_PREFIX + "CACHE_DIR")
        if configured is not None:
            return Path(configured) if configured else None
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "tierline"

    @classmethod
    def _file(cls, kind: str, raw: bytes) -> Path | None:
        folder = cls._dir()
        if folder is None:
            return None
        digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
        return folder / f"{kind}-{cls._VERSION}{digest}"

    @classmethod
    def get(cls, raw: bytes, kind: str = "toml") -> Any:
        file = cls._file(kind, raw)
        if file is None:
            return None
        try:
            blob = file.read_bytes()
            if kind == "model":
                import pickle

                return pickle.loads(blob)
            return marshal.loads(blob)
        except Exception:  # a damaged or outdated entry of any kind is passed over
            return None

    @classmethod
    def put(cls, raw: bytes, data: Any, kind: str = "toml") -> None:
        file = cls._file(kind, raw)
        if file is None:
            return
        try:
            if kind == "model":
                import pickle

                blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
            else:
                blob = marshal.dumps(data)  # ValueError for what marshal cannot hold (dates)
            file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, file)
        except (OSError, ValueError, TypeError, AttributeError):  # pickle: TypeError, ...
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)


def derived_from_files(kind: str, root: Path, files: Sequence[Path], derive: Callable[[], T]) -> T:
    """What `derive()` makes of `files` (and nothing else), kept in the cache of parsed
    files under `kind`, keyed by the files' names under `root` and their bytes: an edit, a
    new file or a removed one makes a new key, and `derive` runs again. What it returns must
    be plain data (`marshal`); what it raises is raised every time (nothing is kept)."""
    key = bytearray()
    for path in files:
        try:
            raw = b"/" if path.is_dir() else path.read_bytes()
        except OSError:
            return derive()  # let `derive` say what is wrong with it
        name = path.relative_to(root).as_posix().encode()
        key += b"%d:%s%d:" % (len(name), name, len(raw)) + raw
    found = _ParsedCache.get(bytes(key), kind)
    if found is not None:
        return found
    value = derive()
    _ParsedCache.put(bytes(key), value, kind)
    return value


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    field = ".".join(str(part) for part in err["loc"]) or "(top level)"
    return field, err["msg"]


M = TypeVar("M", bound=BaseModel)


def load_model(path: Path, model: type[M], data: Any = None) -> M:
    """Validate a config file (or already-parsed `data` read from it) against `model`.

    What the validation made of a file's bytes with this code (`_code_stamp`) is kept in the
    cache of parsed files: a start with an unchanged file and unchanged code is served the
    validated model without validating it again, nor, for the rule files' models
    (`defer_build`), building their schemas at all; an edit of either validates again."""
    if data is not None:
        return _validated(path, model, data)
    raw = _read_bytes(path)
    key = b"%s\0%s.%s\0" % (_code_stamp(), model.__module__.encode(), model.__qualname__.encode())
    cached = _ParsedCache.get(key + raw, "model")
    if isinstance(cached, model):
        return cached
    value = _validated(path, model, _parsed_toml(path, raw))
    _ParsedCache.put(key + raw, value, "model")
    return value


def _validated(path: Path, model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        field, reason = _first_error(exc)
        raise ConfigError(str(path), field, reason) from None


@functools.cache
def _code_stamp() -> bytes:
    """What a validated rule file depends on besides its bytes: the code that validates it
    (the modules of `flows/`, where the models live, and this one, each by size and time of
    change, as Python checks a compiled module against its source) and the versions of
    Python and pydantic."""
    import flows

    sources = [Path(__file__)]
    with os.scandir(Path(flows.__file__).parent) as entries:
        sources += [Path(e.path) for e in entries if e.name.endswith(".py")]
    parts = [sys.version, PYDANTIC_VERSION]
    for source in sorted(sources):
        stat = source.stat()
        parts.append(f"{source.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts).encode()


def load_settings(directory: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `settings.toml` in `directory`, then the environment, then `overrides`
    (command-line options, which win over both)."""
    directory = directory or config_dir()
    path = directory / "settings.toml"
    data = read_toml(path)
    if isinstance(data.get("uscis"), dict) and "client_secret" in data["uscis"]:
        raise ConfigError(
            str(path), "uscis.client_secret", "set it in TIERLINE_USCIS__CLIENT_SECRET only"
        )
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
    if isinstance(given.get("db_path"), str):
        try:
            given["db_path"] = database_location(given["db_path"])
        except ValueError as exc:
            raise ConfigError("command-line option", "db_path", str(exc)) from None
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
