"""Configuration from the environment, validated once at start-up.

Every setting has an embedded default so that ``make run`` works on a fresh
machine with no settings at all; production sets the LINE credentials,
DATABASE_URL and REDIS_URL.  ``load_settings`` raises ``ConfigError`` with a
message naming the variable and what was wrong, never a traceback from deep
inside a library.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent
INSTANCE_DIR = ROOT / "instance"

# The channel secret and token used when none is configured: they only ever
# talk to the built-in emulator (EMULATOR=1), never to real LINE.
DEMO_CHANNEL_SECRET = "tsunagari-demo-secret-0000000000"
DEMO_ACCESS_TOKEN = "tsunagari-demo-access-token"

# JMA's high-frequency earthquake and volcano Atom feed (気象庁防災情報XML).
JMA_EQVOL_FEED_URL = "https://www.data.jma.go.jp/developer/xml/feed/eqvol.xml"


# SECRET_KEY signs session cookies: anything shorter is guessable offline.
MIN_SECRET_KEY = 32


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and why."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hms]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1, "": 1}


def parse_duration(name: str, text: str) -> float:
    """``23h``, ``90m``, ``45s`` or plain seconds -> seconds (> 0)."""
    match = _DURATION.match(text or "")
    if not match:
        raise ConfigError(f"{name}={text!r}: use 23h, 90m, 45s or a number of seconds")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise ConfigError(f"{name}={text!r}: must be greater than zero")
    return seconds


def _flag(name: str, text: str | None, default: bool) -> bool:
    if text is None or text == "":
        return default
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={text!r}: use 1/0, true/false, yes/no or on/off")


def _positive(name: str, text: str, kind: type):
    """A number greater than zero (``kind`` is int or float)."""
    try:
        value = kind(text.strip())
    except ValueError:
        raise ConfigError(f"{name}={text!r}: must be a {'whole ' if kind is int else ''}number") from None
    if value <= 0:
        raise ConfigError(f"{name}={text!r}: must be greater than zero")
    return value


@dataclass(frozen=True)
class Settings:
    """The validated settings; see the table in README.md."""

    channel_secret: str = DEMO_CHANNEL_SECRET
    access_token: str = DEMO_ACCESS_TOKEN
    line_api_base_url: str = "https://api.line.me"
    database_url: str = f"sqlite:///{INSTANCE_DIR / 'tsunagari.sqlite3'}"
    redis_url: str | None = None
    checkin_summary_delay: float = 23 * 3600
    emergency_summary_delay: float = 3 * 3600
    # From a summary to raising, once more to the leaders, the people nobody
    # has said they will check on.
    followup_remind_after: float = 3 * 3600
    # 見守り (one-to-one): an unanswered check is sent again after
    # watch_resend_after; the contacts are told watch_escalate_after the first
    # sending; told again when nobody has taken it after watch_followup_after.
    watch_resend_after: float = 3 * 3600
    watch_escalate_after: float = 12 * 3600
    watch_followup_after: float = 3 * 3600
    tick_seconds: float = 30
    timezone: str = "Asia/Tokyo"
    line_timeout: float = 10.0
    # LINE calls in flight at once per worker process (and kept-alive
    # connections): LINE answers in ~100 ms, so 100 carry ~1,000 sends a
    # second; two workers reach LINE's 2,000/s limit.
    line_concurrency: int = 100
    # LINE's rate limit per endpoint (push, reply) for the whole channel,
    # kept by all workers together (jobs/ratelimit.py).
    line_rate_limit: float = 2000.0
    # JMA's earthquake feed, polled once a minute; "" turns polling off.  The
    # dataclass default is off so that Settings built in code (tests, benches)
    # never reach JMA; load_settings() turns it on with real LINE credentials
    # unless JMA_FEED_URL is "".
    jma_feed_url: str = ""
    # Operator notices (flask notice send): LINE's push rate limit, and the
    # monthly limit assumed when LINE reports none (quota type "none").
    notice_rate_limit: float = 2000.0
    notice_monthly_budget: int = 30000
    # The built-in LINE Platform emulator and simulator page (make run).
    emulator: bool = False
    # Lets the simulator move the bot's clock forward.  Never in production.
    demo_clock: bool = False
    # /healthz answers 503 when the oldest unprocessed webhook event, or the
    # oldest outbox row that is due but unsent, is older than this (seconds).
    health_max_event_age: float = 120.0
    health_max_outbox_age: float = 600.0
    # Signs the operator console's session cookies and CSRF tokens.  Required
    # (load_settings) outside the emulator; Settings built in code (tests,
    # benches) leave it empty and the app makes a per-process random key.
    secret_key: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and validate the environment.  Raises ConfigError."""
    env = os.environ if environ is None else environ
    emulator = _flag("EMULATOR", env.get("EMULATOR"), default=False)
    secret = env.get("LINE_CHANNEL_SECRET", "")
    token = env.get("LINE_CHANNEL_ACCESS_TOKEN", "")
    if bool(secret) != bool(token):
        raise ConfigError(
            "set both LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN "
            "(from the LINE Developers console), or neither for the local emulator"
        )
    if not secret:
        if not emulator and env.get("LINE_API_BASE_URL"):
            raise ConfigError("LINE_API_BASE_URL is set but the LINE credentials are not")
        # No credentials: the only thing we can talk to is the emulator.
        emulator = True
        secret, token = DEMO_CHANNEL_SECRET, DEMO_ACCESS_TOKEN

    base_url = env.get("LINE_API_BASE_URL") or "https://api.line.me"
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", base_url):
        raise ConfigError(f"LINE_API_BASE_URL={base_url!r}: must be an http(s) URL")

    database_url = env.get("DATABASE_URL") or Settings.database_url
    if database_url.startswith("postgres://"):
        # Heroku-style URLs; peewee's db_url knows both spellings but be explicit.
        database_url = "postgresql://" + database_url[len("postgres://") :]
    if database_url.startswith("sqlite://") and not database_url.startswith("sqlite:///"):
        # playhouse.db_url silently turns sqlite://x into an in-memory database.
        raise ConfigError(
            f"DATABASE_URL={database_url!r}: use sqlite:///relative.db or sqlite:////abs/path.db"
        )
    if not database_url.startswith(("sqlite:///", "postgresql://")):
        raise ConfigError(f"DATABASE_URL={database_url!r}: use sqlite:///... or postgresql://...")

    timezone = env.get("BOT_TIMEZONE") or "Asia/Tokyo"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"BOT_TIMEZONE={timezone!r}: not an IANA time zone such as Asia/Tokyo") from None

    redis_url = env.get("REDIS_URL") or None
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL={redis_url!r}: use redis://host:port/db")

    # Unlike the other settings, an empty JMA_FEED_URL means something: off.
    # The local demo (the emulator, no LINE account) does not poll JMA unless
    # asked to: every developer's machine polling it helps nobody.
    jma_feed_url = env.get("JMA_FEED_URL", "" if emulator else JMA_EQVOL_FEED_URL).strip()
    if jma_feed_url and not re.match(r"^https?://[^/\s]+/\S*$", jma_feed_url):
        raise ConfigError(
            f"JMA_FEED_URL={jma_feed_url!r}: must be an http(s) URL of an Atom feed, or empty to turn it off"
        )

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key and not emulator:
        raise ConfigError(
            "SECRET_KEY is not set: the operator console signs its session cookies with it. "
            'Set it to a long random value, e.g. python3 -c "import secrets; print(secrets.token_hex(32))"'
        )
    if secret_key and len(secret_key) < MIN_SECRET_KEY:
        raise ConfigError(f"SECRET_KEY is too short: use at least {MIN_SECRET_KEY} random characters")
    watch_resend_after = parse_duration("WATCH_RESEND_AFTER", env.get("WATCH_RESEND_AFTER") or "3h")
    watch_escalate_after = parse_duration("WATCH_ESCALATE_AFTER", env.get("WATCH_ESCALATE_AFTER") or "12h")
    if watch_escalate_after <= watch_resend_after:
        raise ConfigError(
            f"WATCH_ESCALATE_AFTER={env.get('WATCH_ESCALATE_AFTER') or '12h'!r} must be longer than "
            f"WATCH_RESEND_AFTER={env.get('WATCH_RESEND_AFTER') or '3h'!r}: both count from the first check"
        )

    return Settings(
        channel_secret=secret,
        access_token=token,
        line_api_base_url=base_url.rstrip("/"),
        database_url=database_url,
        redis_url=redis_url,
        checkin_summary_delay=parse_duration(
            "CHECKIN_SUMMARY_DELAY", env.get("CHECKIN_SUMMARY_DELAY") or "23h"
        ),
        emergency_summary_delay=parse_duration(
            "EMERGENCY_SUMMARY_DELAY", env.get("EMERGENCY_SUMMARY_DELAY") or "3h"
        ),
        followup_remind_after=parse_duration(
            "FOLLOWUP_REMIND_AFTER", env.get("FOLLOWUP_REMIND_AFTER") or "3h"
        ),
        watch_resend_after=watch_resend_after,
        watch_escalate_after=watch_escalate_after,
        watch_followup_after=parse_duration("WATCH_FOLLOWUP_AFTER", env.get("WATCH_FOLLOWUP_AFTER") or "3h"),
        tick_seconds=parse_duration("TICK_SECONDS", env.get("TICK_SECONDS") or "30"),
        timezone=timezone,
        line_timeout=parse_duration("LINE_TIMEOUT", env.get("LINE_TIMEOUT") or "10"),
        line_concurrency=_positive("LINE_CONCURRENCY", env.get("LINE_CONCURRENCY") or "100", int),
        line_rate_limit=_positive("LINE_RATE_LIMIT", env.get("LINE_RATE_LIMIT") or "2000", float),
        jma_feed_url=jma_feed_url,
        notice_rate_limit=_positive("NOTICE_RATE_LIMIT", env.get("NOTICE_RATE_LIMIT") or "2000", float),
        notice_monthly_budget=_positive(
            "NOTICE_MONTHLY_BUDGET", env.get("NOTICE_MONTHLY_BUDGET") or "30000", int
        ),
        emulator=emulator,
        demo_clock=_flag("DEMO_CLOCK", env.get("DEMO_CLOCK"), default=emulator),
        health_max_event_age=parse_duration("HEALTH_MAX_EVENT_AGE", env.get("HEALTH_MAX_EVENT_AGE") or "2m"),
        health_max_outbox_age=parse_duration(
            "HEALTH_MAX_OUTBOX_AGE", env.get("HEALTH_MAX_OUTBOX_AGE") or "10m"
        ),
        secret_key=secret_key,
    )
