"""Settings: the only module that reads the environment (and `.env`).

Every setting named in PRODUCT.md is parsed and validated here; a bad value raises
`ConfigError` naming the setting, and `create_app` turns that into one line on stderr.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

DEVELOPMENT_SECRET_KEY = "dev-insecure-secret-key"  # noqa: S105 - refused outside development
KNOWN_PLACEHOLDERS = {"", "changeme", "changethis", "secret", "dev", DEVELOPMENT_SECRET_KEY}
ENVIRONMENTS = ("development", "test", "production")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Integer settings are at least 1, except these.
MINIMUMS = {"TRUSTED_PROXY_HOPS": 0}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    TULAY_ENV: str = "production"
    SECRET_KEY: str = ""
    DATABASE_URL: str = ""
    REDIS_URL: str = ""
    PUBLIC_BASE_URL: str = "http://localhost:5000"
    TWILIO_ACCOUNT_SID: str = ""
    TWILIO_AUTH_TOKEN: str = ""
    TWILIO_SMS_FROM: str = ""
    TWILIO_WHATSAPP_FROM: str = ""
    TWILIO_API_BASE_URL: str = "https://api.twilio.com"
    TWILIO_WHATSAPP_TEMPLATE_SID: str = ""
    DATA_ENCRYPTION_KEY: str = ""
    WORKING_LANGUAGE: str = "en"
    # IANA time zone the console shows times in for staff who chose none.
    DEFAULT_TIME_ZONE: str = "UTC"
    ARGOS_PACKAGES_DIR: str = ""
    MT_ENGINE_ORDER: str = "argos,apertium"
    INSTANCE_PATH: str = str(PROJECT_ROOT / "instance")
    SWEEP_AFTER_SECONDS: int = 60
    SWEEP_INTERVAL_SECONDS: int = 30
    RETENTION_DAYS: int = 365
    COMPLIANCE_K: int = 5
    COMPLIANCE_CACHE_SECONDS: int = 300
    MAX_CONTENT_LENGTH: int = 64 * 1024
    LOG_LEVEL: str = "INFO"
    # Per client address, on POST /report and POST /status (limits' syntax, ";" between limits).
    PUBLIC_RATE_LIMIT: str = "10 per minute;60 per hour"
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed (0: none).
    TRUSTED_PROXY_HOPS: int = 0
    ROUTING_RULES_PATH: str = str(PROJECT_ROOT / "casework" / "data" / "routing_rules.yaml")
    SLA_POLICY_PATH: str = str(PROJECT_ROOT / "casework" / "data" / "sla.yaml")
    TRIAGE_LEXICON_PATH: str = str(PROJECT_ROOT / "casework" / "data" / "triage_lexicon.yaml")
    ALERT_WEBHOOK_URL: str = ""
    # Staff notification e-mails: smtp://user:pass@host:port (?starttls=true), smtps://…; empty: inbox only.
    SMTP_URL: str = ""
    SLA_CHECK_INTERVAL_SECONDS: int = 300
    # A console session ends after this many minutes without a request, and this many hours
    # after sign-in however active it is (checked on the server, not only by cookie expiry).
    CONSOLE_IDLE_MINUTES: int = 30
    CONSOLE_SESSION_HOURS: int = 8
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.TULAY_ENV == "production"

    def as_flask_config(self) -> dict[str, Any]:
        config = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        config.update(self.extra)
        return config


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ConfigError(f"{name} must be a URL starting with one of {', '.join(schemes)}; got {value!r}")


def _check_smtp_url(value: str) -> None:
    from app.mail import SmtpUrlError, parse_smtp_url

    try:
        parse_smtp_url(value)
    except SmtpUrlError as exc:
        # The message never repeats the URL: it may hold the SMTP password.
        raise ConfigError(f"SMTP_URL {exc}") from None


def _check_encryption_key(value: str) -> None:
    """Accept one or more comma-separated Fernet keys (the first encrypts; all decrypt)."""
    for key in value.split(","):
        try:
            raw = base64.urlsafe_b64decode(key.strip().encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ConfigError(
                "DATA_ENCRYPTION_KEY must be url-safe base64 of 32 bytes (make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            )


def _check_rate_limit(name: str, value: str) -> None:
    from limits import parse_many

    try:
        if not parse_many(value):
            raise ValueError(value)
    except ValueError:
        raise ConfigError(f"{name} must look like '10 per minute;60 per hour'; got {value!r}") from None


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    dotenv_path: str | os.PathLike[str] | None = None,
) -> Settings:
    """Build validated settings from `.env`, then the environment, then explicit overrides.

    Raises ConfigError naming the first bad setting.
    """
    source: dict[str, Any] = {}
    env_file = Path(dotenv_path) if dotenv_path else PROJECT_ROOT / ".env"
    if env_file.is_file():
        source.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    source.update(os.environ if environ is None else environ)
    source.update(overrides or {})

    known = {f.name: f for f in fields(Settings) if f.name != "extra"}
    values: dict[str, Any] = {}
    for name, spec in known.items():
        if name not in source:
            continue
        raw = source[name]
        if name.endswith("_PATH") and isinstance(raw, str) and not raw.strip():
            continue  # an empty path (as in .env.example) means the default
        if spec.type == "int" and not isinstance(raw, int):
            values[name] = _int(name, str(raw).strip(), minimum=MINIMUMS.get(name, 1))
        else:
            values[name] = raw.strip() if isinstance(raw, str) else raw
    extra = {k: v for k, v in (overrides or {}).items() if k not in known}
    settings = Settings(**values, extra=extra)
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if s.TULAY_ENV not in ENVIRONMENTS:
        raise ConfigError(f"TULAY_ENV must be one of {', '.join(ENVIRONMENTS)}; got {s.TULAY_ENV!r}")
    if s.is_production:
        if s.SECRET_KEY in KNOWN_PLACEHOLDERS or len(s.SECRET_KEY) < 16:
            raise ConfigError(
                "SECRET_KEY is missing, a placeholder, or shorter than 16 characters (required in production)"
            )
        if not s.DATA_ENCRYPTION_KEY:
            raise ConfigError("DATA_ENCRYPTION_KEY is required in production (personal data is encrypted at rest)")
    elif not s.SECRET_KEY:
        raise ConfigError("SECRET_KEY is missing")
    if s.DATA_ENCRYPTION_KEY:
        _check_encryption_key(s.DATA_ENCRYPTION_KEY)
    elif not s.is_production:
        raise ConfigError("DATA_ENCRYPTION_KEY is missing (make run writes a development key to instance/.env)")
    if s.DATABASE_URL:
        _check_url("DATABASE_URL", s.DATABASE_URL, ("sqlite", "postgresql", "postgresql+psycopg", "postgres"))
    if s.REDIS_URL:
        _check_url("REDIS_URL", s.REDIS_URL, ("redis", "rediss", "unix"))
    _check_url("PUBLIC_BASE_URL", s.PUBLIC_BASE_URL, ("http", "https"))
    _check_url("TWILIO_API_BASE_URL", s.TWILIO_API_BASE_URL, ("http", "https"))
    if s.TWILIO_ACCOUNT_SID and not (s.TWILIO_ACCOUNT_SID.startswith("AC") and len(s.TWILIO_ACCOUNT_SID) == 34):
        raise ConfigError("TWILIO_ACCOUNT_SID must look like AC followed by 32 hex characters")
    if bool(s.TWILIO_ACCOUNT_SID) != bool(s.TWILIO_AUTH_TOKEN):
        raise ConfigError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together")
    if s.TWILIO_WHATSAPP_FROM and not s.TWILIO_WHATSAPP_FROM.startswith("whatsapp:+"):
        raise ConfigError("TWILIO_WHATSAPP_FROM must look like whatsapp:+15551234567")
    if s.TWILIO_SMS_FROM and not (s.TWILIO_SMS_FROM.startswith("+") or s.TWILIO_SMS_FROM.startswith("MG")):
        raise ConfigError("TWILIO_SMS_FROM must be an E.164 number (+15551234567) or a Messaging Service SID (MG…)")
    if not (2 <= len(s.WORKING_LANGUAGE) <= 3 and s.WORKING_LANGUAGE.isalpha() and s.WORKING_LANGUAGE.islower()):
        raise ConfigError(
            f"WORKING_LANGUAGE must be a lowercase ISO 639-1 code such as 'en'; got {s.WORKING_LANGUAGE!r}"
        )
    try:
        ZoneInfo(s.DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"DEFAULT_TIME_ZONE must be an IANA time zone such as UTC or Asia/Manila; got {s.DEFAULT_TIME_ZONE!r}"
        ) from None
    if s.ARGOS_PACKAGES_DIR and Path(s.ARGOS_PACKAGES_DIR).exists() and not Path(s.ARGOS_PACKAGES_DIR).is_dir():
        raise ConfigError(f"ARGOS_PACKAGES_DIR is not a directory: {s.ARGOS_PACKAGES_DIR}")
    engines = [name.strip() for name in s.MT_ENGINE_ORDER.split(",") if name.strip()]
    unknown = [name for name in engines if name not in ("argos", "apertium")]
    if unknown or len(set(engines)) != len(engines):
        raise ConfigError(f"MT_ENGINE_ORDER must list argos and/or apertium, each once; got {s.MT_ENGINE_ORDER!r}")
    _check_rate_limit("PUBLIC_RATE_LIMIT", s.PUBLIC_RATE_LIMIT)
    if s.COMPLIANCE_K < 2:
        raise ConfigError(f"COMPLIANCE_K must be at least 2 (a cell of one case is a person); got {s.COMPLIANCE_K}")
    if s.CONSOLE_IDLE_MINUTES > s.CONSOLE_SESSION_HOURS * 60:
        raise ConfigError(
            f"CONSOLE_IDLE_MINUTES ({s.CONSOLE_IDLE_MINUTES}) must not exceed CONSOLE_SESSION_HOURS "
            f"({s.CONSOLE_SESSION_HOURS}) in minutes"
        )
    if s.CONSOLE_SESSION_HOURS > 24 * 7:
        raise ConfigError(f"CONSOLE_SESSION_HOURS must be at most 168 (a week); got {s.CONSOLE_SESSION_HOURS}")
    if not Path(s.INSTANCE_PATH).is_absolute():
        raise ConfigError(f"INSTANCE_PATH must be an absolute path; got {s.INSTANCE_PATH!r}")
    if s.LOG_LEVEL.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR; got {s.LOG_LEVEL!r}")
    if s.ALERT_WEBHOOK_URL:
        _check_url("ALERT_WEBHOOK_URL", s.ALERT_WEBHOOK_URL, ("http", "https"))
    if s.SMTP_URL:
        _check_smtp_url(s.SMTP_URL)
    _check_casework_data(s)


def _check_casework_data(s: Settings) -> None:
    """Load the casework data files once at start, so a bad rule stops the process naming it."""
    from casework.routing import RoutingRulesError, load_rules_file
    from casework.sla import SlaPolicyError, load_sla_policy
    from casework.triage import LexiconError, load_lexicon

    checks = (
        ("ROUTING_RULES_PATH", load_rules_file, RoutingRulesError),
        ("SLA_POLICY_PATH", load_sla_policy, SlaPolicyError),
        ("TRIAGE_LEXICON_PATH", load_lexicon, LexiconError),
    )
    for name, load, error in checks:
        try:
            load(getattr(s, name))
        except error as exc:
            raise ConfigError(f"{name}: {exc}") from None


DEV_SERVER_HOST = "127.0.0.1"
DEV_SERVER_PORT = 5000


def dev_server_address(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Where `make run` listens: HOST and PORT from the environment (or `.env`).

    HOST defaults to 127.0.0.1, this machine only: the dev server prints the demo staff's
    passwords and runs with development secrets. Set HOST=0.0.0.0 to serve every interface.
    Raises ConfigError naming a bad value.
    """
    source: dict[str, str] = {}
    env_file = PROJECT_ROOT / ".env"
    if environ is None and env_file.is_file():
        source.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    source.update(os.environ if environ is None else environ)
    host = (source.get("HOST") or "").strip() or DEV_SERVER_HOST
    if any(c.isspace() or c in "/[]@" for c in host):
        raise ConfigError(f"HOST must be an address or host name such as 127.0.0.1 or 0.0.0.0; got {host!r}")
    raw_port = (source.get("PORT") or "").strip() or str(DEV_SERVER_PORT)
    port = _int("PORT", raw_port, minimum=1)
    if port > 65535:
        raise ConfigError(f"PORT must be at most 65535, got {port}")
    return host, port


def database_url(s: Settings) -> str:
    """The SQLAlchemy URL: DATABASE_URL, or the embedded SQLite file under the instance folder."""
    if not s.DATABASE_URL:
        return f"sqlite:///{Path(s.INSTANCE_PATH) / 'tulay.sqlite3'}"
    url = s.DATABASE_URL
    # Heroku-style and bare postgresql URLs are normalised to the psycopg 3 driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
