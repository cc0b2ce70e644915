"""Headless Chromium for the console tests: Debian's chromium driven by Playwright for Python.

The browser is never skipped: without one the tests fail and say how to get it. JavaScript
errors (uncaught, console.error, a console file that fails to load) fail the test that saw them.
"""

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, ConsoleMessage, Page, Response

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "console"
HOW_TO_INSTALL = (
    "the console tests need Chromium: on Debian/Ubuntu run `apt-get install chromium` (./scripts/test "
    "does this itself when run as root), or point ORDERATLAS_CHROMIUM at a Chromium executable"
)


def chromium_path(env: dict[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    wanted = env.get("ORDERATLAS_CHROMIUM")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    return None


def require_chromium(env: dict[str, str] | None = None) -> str:
    path = chromium_path(env)
    if path is None:
        pytest.fail(HOW_TO_INSTALL, pytrace=False)
    return path


class Watched:
    """A page whose script errors are collected, screenshots saved and forms checked by axe-core."""

    def __init__(self, page: Page, name: str) -> None:
        self.page, self.name, self.errors = page, name, []
        self.shots: list[Path] = []
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        # An API answer of 4xx is logged by Chromium as "Failed to load resource"; the console shows
        # those to the user on purpose, so only the console's own files count (see _response).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console error: {message.text}")

    def _response(self, response: Response) -> None:
        if "/console" in response.url and response.status >= 400:
            self.errors.append(f"{response.status} for {response.url}")

    async def shot(self, what: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}-{len(self.shots) + 1:02d}-{what}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    async def accessible(self) -> None:
        """axe-core's WCAG A/AA rules (labels, contrast, names ...): no violation at all."""
        options = {"runOnly": ["wcag2a", "wcag2aa"], "resultTypes": ["violations"]}
        results = await Axe().run(self.page, options=options)
        assert results.violations_count == 0, results.generate_report()

    async def check(self, what: str) -> Path:
        """Accessible, no JavaScript value leaked into the text as a word, and photographed."""
        await self.accessible()
        text = await self.page.locator("main").inner_text()
        assert not re.search(r"\b(null|undefined|NaN)\b|\[object Object\]", text), text
        return await self.shot(what)


@asynccontextmanager
async def watched_page(browser: Browser, base_url: str, name: str) -> AsyncIterator[Watched]:
    context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    watched = Watched(await context.new_page(), name)
    try:
        yield watched
    finally:
        await context.close()
    assert watched.errors == [], watched.errors
