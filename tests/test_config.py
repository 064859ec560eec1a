"""Configuration: embedded defaults, and clear errors for bad settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_settings, parse_duration

ROOT = Path(__file__).resolve().parent.parent
CREDS = {"LINE_CHANNEL_SECRET": "s" * 32, "LINE_CHANNEL_ACCESS_TOKEN": "token", "SECRET_KEY": "k" * 32}


def test_it_runs_on_embedded_defaults_with_no_settings():
    settings = load_settings({})
    assert settings.emulator and settings.demo_clock
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith(
        "instance/tsunagari.sqlite3"
    )
    assert settings.redis_url is None
    assert settings.checkin_summary_delay == 23 * 3600
    assert settings.followup_remind_after == 3 * 3600
    assert settings.tick_seconds == 30
    assert settings.timezone == "Asia/Tokyo"


def test_it_talks_to_real_line_with_credentials():
    settings = load_settings(CREDS)
    assert not settings.emulator and not settings.demo_clock
    assert settings.line_api_base_url == "https://api.line.me"
    assert settings.channel_secret == "s" * 32


def test_it_reads_every_setting():
    settings = load_settings(
        {
            **CREDS,
            "LINE_API_BASE_URL": "http://127.0.0.1:8081/",
            "DATABASE_URL": "postgres://u:p@db.example:5432/tsunagari",
            "REDIS_URL": "redis://127.0.0.1:6379/2",
            "CHECKIN_SUMMARY_DELAY": "90m",
            "FOLLOWUP_REMIND_AFTER": "2h",
            "TICK_SECONDS": "10",
            "BOT_TIMEZONE": "America/New_York",
        }
    )
    assert settings.line_api_base_url == "http://127.0.0.1:8081"
    assert settings.database_url == "postgresql://u:p@db.example:5432/tsunagari"
    assert settings.redis_url == "redis://127.0.0.1:6379/2"
    assert settings.checkin_summary_delay == 5400
    assert settings.followup_remind_after == 7200
    assert settings.tick_seconds == 10
    assert settings.tz.key == "America/New_York"


@pytest.mark.parametrize(
    "text, seconds",
    [("23h", 82800), ("90m", 5400), ("45s", 45), ("120", 120), (" 2H ", 7200), ("1.5h", 5400)],
)
def test_it_reads_durations(text, seconds):
    assert parse_duration("X", text) == seconds


@pytest.mark.parametrize(
    "env, names",
    [
        ({"LINE_CHANNEL_SECRET": "only-the-secret"}, "LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN"),
        ({**CREDS, "CHECKIN_SUMMARY_DELAY": "a day"}, "CHECKIN_SUMMARY_DELAY"),
        ({**CREDS, "CHECKIN_SUMMARY_DELAY": "0"}, "CHECKIN_SUMMARY_DELAY"),
        ({**CREDS, "TICK_SECONDS": "-5"}, "TICK_SECONDS"),
        ({**CREDS, "FOLLOWUP_REMIND_AFTER": "3 hours"}, "FOLLOWUP_REMIND_AFTER"),
        ({**CREDS, "BOT_TIMEZONE": "Tokyo"}, "BOT_TIMEZONE"),
        ({**CREDS, "DATABASE_URL": "sqlite://tsunagari.db"}, "DATABASE_URL"),
        ({**CREDS, "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({**CREDS, "REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({**CREDS, "LINE_API_BASE_URL": "api.line.me"}, "LINE_API_BASE_URL"),
        ({"LINE_API_BASE_URL": "http://127.0.0.1:9"}, "LINE_API_BASE_URL"),
        ({**CREDS, "EMULATOR": "maybe"}, "EMULATOR"),
        ({**CREDS, "SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({**CREDS, "SECRET_KEY": "short"}, "SECRET_KEY is too short"),
    ],
)
def test_it_names_the_bad_setting(env, names):
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert names in str(error.value)


def test_it_stops_the_web_process_with_a_clear_message():
    result = subprocess.run(
        [sys.executable, "-c", "from app import create_app; create_app()"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "CHECKIN_SUMMARY_DELAY": "soon"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "configuration error: CHECKIN_SUMMARY_DELAY='soon'" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_stops_gunicorn_at_once_on_a_configuration_error():
    """The Procfile's web command with LINE credentials but no SECRET_KEY: one
    clear message and an exit, not workers booting and dying in a loop."""
    from tests.test_processes import procfile

    result = subprocess.run(
        ["bash", "-c", f"exec {procfile()['web']}"],
        cwd=ROOT,
        env={
            "PATH": f"{ROOT / '.venv/bin'}:/usr/bin:/bin",
            "PORT": "0",
            "LINE_CHANNEL_SECRET": "s" * 32,
            "LINE_CHANNEL_ACCESS_TOKEN": "token",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "configuration error: SECRET_KEY is not set" in result.stderr
    assert "Booting worker" not in result.stderr
