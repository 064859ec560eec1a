"""Fixtures for the console tests: the real app on both databases, logged-in
test clients, and two organisations' worth of data (tests/console/seed.py)."""

from __future__ import annotations

import re

import pytest

from tests.console import seed

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Client:
    """A logged-in (or not) Flask test client that knows its CSRF token."""

    def __init__(self, app):
        self.http = app.test_client()
        self.token = None

    def csrf(self) -> str:
        if self.token is None:
            page = self.http.get("/console/login")
            self.token = CSRF.search(page.text).group(1)
        return self.token

    def login(self, email: str, password: str = seed.PASSWORD, address: str = "198.51.100.7"):
        response = self.http.post(
            "/console/login",
            data={"email": email, "password": password, "csrf_token": self.csrf()},
            environ_base={"REMOTE_ADDR": address},
        )
        if response.status_code == 302:
            # The session was renewed at login: so was the CSRF token.
            self.token = CSRF.search(self.http.get("/console/password").text).group(1)
        return response

    def get(self, path: str, **kwargs):
        return self.http.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf()
        return self.http.post(path, data=data, **kwargs)


@pytest.fixture
def console_app(settings):
    from app import create_app

    return create_app(settings)


@pytest.fixture
def client(console_app):
    return lambda: Client(console_app)
