"""Browser fixtures: Debian's Chromium driven by Playwright, logged in by session cookie.

The editor bundle must be built first (``make test`` builds it): the live
server serves ``frontend/dist`` as static files.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make around it are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_DIR = (
    Path(os.environ.get("E2E_SCREENSHOT_DIR", "")) if os.environ.get("E2E_SCREENSHOT_DIR") else None
)


@pytest.fixture(scope="session")
def editor_built():
    manifest = Path(settings.BASE_DIR) / "frontend" / "dist" / ".vite" / "manifest.json"
    if not manifest.exists():
        pytest.fail(
            "the editor is not built: run `make frontend` (npm ci && npm run build in frontend/)"
        )
    return manifest


@pytest.fixture(scope="session")
def browser(editor_built):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def login(browser, live_server):
    """``login(user)`` → a Playwright page (1280×800) whose session is that user's."""
    from django.test import Client

    contexts = []

    def make(user):
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # uncaught exceptions in the page fail the test at the end
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    """Save a screenshot when E2E_SCREENSHOT_DIR is set (for looking at the UI)."""
    if SCREENSHOT_DIR:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))
