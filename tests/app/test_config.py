"""Settings are validated at start; a bad one stops the app with one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from werkzeug.middleware.proxy_fix import ProxyFix

from app import create_app
from app.config import ConfigError, database_url, load_settings

KEY = Fernet.generate_key().decode()
GOOD_PRODUCTION = {
    "TULAY_ENV": "production",
    "SECRET_KEY": "a-long-random-production-secret",
    "DATA_ENCRYPTION_KEY": KEY,
}


def settings(**values: str):
    return load_settings(environ={}, overrides={**GOOD_PRODUCTION, **values}, dotenv_path="/nonexistent")


def test_good_production_settings_load() -> None:
    loaded = settings()
    assert loaded.is_production
    assert loaded.WORKING_LANGUAGE == "en"
    assert (loaded.CONSOLE_IDLE_MINUTES, loaded.CONSOLE_SESSION_HOURS) == (30, 8)


@pytest.mark.parametrize(
    ("label", "values", "named"),
    [
        ("default secret refused", {"SECRET_KEY": "dev"}, "SECRET_KEY"),
        ("missing secret refused", {"SECRET_KEY": ""}, "SECRET_KEY"),
        ("missing encryption key refused", {"DATA_ENCRYPTION_KEY": ""}, "DATA_ENCRYPTION_KEY"),
        ("malformed encryption key", {"DATA_ENCRYPTION_KEY": "not-a-key"}, "DATA_ENCRYPTION_KEY"),
        ("bad database url", {"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ("bad redis url", {"REDIS_URL": "http://x"}, "REDIS_URL"),
        ("bad public url", {"PUBLIC_BASE_URL": "tulay.example"}, "PUBLIC_BASE_URL"),
        ("bad account sid", {"TWILIO_ACCOUNT_SID": "XX123", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_ACCOUNT_SID"),
        ("sid without token", {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32}, "TWILIO_AUTH_TOKEN"),
        ("bad whatsapp sender", {"TWILIO_WHATSAPP_FROM": "+1555"}, "TWILIO_WHATSAPP_FROM"),
        ("bad working language", {"WORKING_LANGUAGE": "English"}, "WORKING_LANGUAGE"),
        ("non-integer", {"RETENTION_DAYS": "soon"}, "RETENTION_DAYS"),
        ("unknown environment", {"TULAY_ENV": "staging"}, "TULAY_ENV"),
        ("relative instance path", {"INSTANCE_PATH": "instance"}, "INSTANCE_PATH"),
        ("no idle time", {"CONSOLE_IDLE_MINUTES": "0"}, "CONSOLE_IDLE_MINUTES"),
        ("idle longer than a session", {"CONSOLE_IDLE_MINUTES": "600"}, "CONSOLE_IDLE_MINUTES"),
        ("session of a month", {"CONSOLE_SESSION_HOURS": "744"}, "CONSOLE_SESSION_HOURS"),
        ("negative proxy hops", {"TRUSTED_PROXY_HOPS": "-1"}, "TRUSTED_PROXY_HOPS"),
        ("non-integer proxy hops", {"TRUSTED_PROXY_HOPS": "one"}, "TRUSTED_PROXY_HOPS"),
    ],
)
def test_bad_setting_is_named(label: str, values: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        settings(**values)


def test_development_allows_short_secret_but_not_missing_key() -> None:
    assert load_settings(
        environ={},
        overrides={"TULAY_ENV": "development", "SECRET_KEY": "dev", "DATA_ENCRYPTION_KEY": KEY},
        dotenv_path="/none",
    )
    with pytest.raises(ConfigError, match="DATA_ENCRYPTION_KEY"):
        load_settings(environ={}, overrides={"TULAY_ENV": "development", "SECRET_KEY": "dev"}, dotenv_path="/none")


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"SECRET_KEY=from-dotenv-file-secret\nDATA_ENCRYPTION_KEY={KEY}\nWORKING_LANGUAGE=fr\n")
    loaded = load_settings(environ={"WORKING_LANGUAGE": "es"}, dotenv_path=env_file)
    assert loaded.SECRET_KEY == "from-dotenv-file-secret"
    assert loaded.WORKING_LANGUAGE == "es"


def test_trusted_proxy_hops_default_to_none_and_apply_proxyfix(make_app: Any) -> None:
    assert settings().TRUSTED_PROXY_HOPS == 0
    assert settings(TRUSTED_PROXY_HOPS="0").TRUSTED_PROXY_HOPS == 0  # as the environment spells it
    assert not isinstance(make_app().wsgi_app, ProxyFix)  # no proxy trusted: X-Forwarded-* are ignored
    fixed = make_app(TRUSTED_PROXY_HOPS="2").wsgi_app
    assert isinstance(fixed, ProxyFix)
    assert (fixed.x_for, fixed.x_proto, fixed.x_host) == (2, 2, 2)


def test_postgres_urls_use_psycopg3() -> None:
    assert database_url(settings(DATABASE_URL="postgres://u@h/db")).startswith("postgresql+psycopg://")
    assert database_url(settings(DATABASE_URL="")).endswith("tulay.sqlite3")


def test_create_app_exits_with_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        create_app({**GOOD_PRODUCTION, "SECRET_KEY": "changeme"})
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "SECRET_KEY" in err[0]


def test_flask_cli_refuses_to_start_in_production_without_key(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TULAY_ENV": "production", "SECRET_KEY": "x" * 32, "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert result.returncode == 2
    assert "DATA_ENCRYPTION_KEY" in result.stderr
    assert "Traceback" not in result.stderr
