"""Fixtures for the browser tests: real Chromium, driven by Playwright,
against the real local stack (``make run`` in a thread).

When Chromium is missing the tests skip with a message saying so, unless
REQUIRE_BROWSER=1 (CI sets it): then they fail, so a CI image without a
browser cannot pass silently.  Screenshots go to tests/artifacts/ (and, for
the ones the docs show, docs/screenshots/).

Class mode tells the teacher (this computer) from the students (phones on
the network) by the client's address.  Every browser here connects from
127.0.0.1, so a student's browser context sends ``X-Test-Remote-Addr`` and
the test server (only it) puts that address where the network would.
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
# Screenshots the docs show (docs/guide-ja.md, README): UPDATE_DOCS_SCREENSHOTS=1 refreshes them.
DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"


def browser_required() -> bool:
    return os.environ.get("REQUIRE_BROWSER", "").strip().lower() in ("1", "true", "yes", "on")


def unavailable(reason: str) -> None:
    """Skip, or fail when REQUIRE_BROWSER is set."""
    if browser_required():
        pytest.fail(f"{reason} [REQUIRE_BROWSER=1: failing instead of skipping]", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session.  Assertions wait up to 10 s:
    the bot answers through a worker thread on a shared two-core machine."""
    if not os.path.exists(CHROMIUM):
        unavailable(MISSING)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable(
            "Playwright is not installed: pip install -r requirements-dev.txt (browser tests did not run)"
        )
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
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

    def enable_class(self, pin: str = "4321"):
        """Class mode on this stack (web/classroom.py), with a known PIN."""
        from web import classroom

        return classroom.enable(self.app, self.url, pin=pin)


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

    def serve(environ, start):
        phone = environ.get("HTTP_X_TEST_REMOTE_ADDR")
        if phone:
            environ["REMOTE_ADDR"] = phone  # a student's phone on the room's network
        return holder["app"](environ, start)

    server = make_server(
        "127.0.0.1",
        0,
        serve,
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


def watch_errors(page, http_errors_expected: bool = False) -> list[str]:
    """JavaScript errors on ``page``.  A page answered 4xx on purpose (a
    refused PIN, a 404 page) logs "Failed to load resource"; that is not one
    when ``http_errors_expected``."""
    errors: list[str] = []

    def console(msg) -> None:
        expected = http_errors_expected and msg.text.startswith("Failed to load resource")
        if msg.type == "error" and not expected:
            errors.append(msg.text)

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", console)
    return errors


@pytest.fixture
def contexts(browser):
    """``open_page(viewport, phone_address=None)``: a page in a fresh browser
    context (a separate person: own cookies and localStorage), at that size;
    with ``phone_address`` it is a student's phone on the network.  Fails the
    test on any JavaScript error."""
    opened = []

    def open_page(
        viewport: dict, phone_address: str | None = None, mobile: bool = False, http_errors: bool = False
    ):
        headers = {"X-Test-Remote-Addr": phone_address} if phone_address else {}
        context = browser.new_context(
            viewport=viewport, locale="ja-JP", extra_http_headers=headers, has_touch=mobile, is_mobile=mobile
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        opened.append((context, watch_errors(page, http_errors)))
        return page

    yield open_page
    for context, _ in opened:
        context.close()
    problems = [error for _, errors in opened for error in errors]
    assert problems == [], f"JavaScript errors on the pages: {problems}"


@pytest.fixture
def axe_check():
    """``axe_check(page, what)``: run axe-core (bundled with
    axe-playwright-python, no network) on the page as it is now; fail with
    the violations, if any."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page, what: str) -> None:
        results = axe.run(page)
        violations = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['html'][:120]})"
            for v in results.response["violations"]
        ]
        assert violations == [], f"axe-core on {what}: {violations}"

    return check


@pytest.fixture
def screenshot():
    """``screenshot(page, name, docs=False)`` saves tests/artifacts/<name>.png
    (docs/screenshots/ for ``docs=True`` with UPDATE_DOCS_SCREENSHOTS=1) and
    returns its path."""

    def take(page, name: str, full_page: bool = False, docs: bool = False) -> Path:
        # The docs' pictures are refreshed on request only, so a test run
        # leaves the work tree as it was.
        refresh = os.environ.get("UPDATE_DOCS_SCREENSHOTS", "") == "1"
        folder = DOCS_SCREENSHOTS if docs and refresh else ARTIFACTS
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
