"""Fixtures for the browser tests: real Chromium, driven by Playwright,
against the real local stack (``make run`` in a thread).

When Chromium is missing the tests skip with a message saying so, unless
REQUIRE_BROWSER=1 (CI sets it): then they fail, so a CI image without a
browser cannot pass silently.  Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from config import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING = f"Chromium not found at {CHROMIUM}: apt-get install chromium (browser tests did not run)"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WIDE = {"width": 1440, "height": 900}


def browser_required() -> bool:
    return os.environ.get("REQUIRE_BROWSER", "").strip().lower() in ("1", "true", "yes", "on")


def unavailable(reason: str) -> None:
    """Skip, or fail when REQUIRE_BROWSER is set."""
    if browser_required():
        pytest.fail(f"{reason} [REQUIRE_BROWSER=1: failing instead of skipping]", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    if not os.path.exists(CHROMIUM):
        unavailable(MISSING)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable(
            "Playwright is not installed: pip install -r requirements-dev.txt (browser tests did not run)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


@dataclass
class LocalStack:
    url: str
    app: object
    platform: object


@pytest.fixture
def stack(tmp_path):
    """The all-in-one local app (bot + LINE emulator + simulator) on a free
    port, with the RQ worker and sweep threads, a fresh SQLite file, a fresh
    emulator state file and the in-process fakeredis."""
    from app import create_local_app
    from jobs import runtime
    from jobs.embedded import start_sweep_thread, start_worker_thread
    from models import create_schema

    # The server must exist before the app (the app needs its own URL), so
    # it serves through a holder filled in just below.
    holder = {}
    server = make_server(
        "127.0.0.1",
        0,
        lambda environ, start: holder["app"](environ, start),
        threaded=True,
        request_handler=_QuietHandler,
    )
    base = f"http://127.0.0.1:{server.server_port}"
    settings = Settings(
        emulator=True,
        demo_clock=True,
        redis_url=None,
        database_url=f"sqlite:///{tmp_path / 'tsunagari.sqlite3'}",
        line_api_base_url=base + "/line-api",
        tick_seconds=0.5,
        line_timeout=5.0,
    )
    app = create_local_app(settings, base, state_path=tmp_path / "line-emulator.json")
    create_schema()
    runtime.connection().flushdb()  # fakeredis lives as long as the process
    holder["app"] = app

    stop = threading.Event()
    threads = [start_worker_thread(stop), start_sweep_thread(stop)]
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    serving.start()
    yield LocalStack(base, app, app.extensions["line_emulator"])
    stop.set()
    server.shutdown()
    server.server_close()
    for thread in threads:
        thread.join(timeout=5)


@pytest.fixture
def page(browser):
    """A fresh browser context (empty localStorage) at the wide size; fails
    the test on any JavaScript error."""
    context = browser.new_context(viewport=WIDE, locale="ja-JP")
    new_page = context.new_page()
    new_page.set_default_timeout(15_000)
    errors: list[str] = []
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    new_page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield new_page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def screenshot():
    """``screenshot(page, name)`` saves tests/artifacts/<name>.png and returns its path."""

    def take(page, name: str, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
