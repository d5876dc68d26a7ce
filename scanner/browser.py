"""The dynamic mode: each page loaded in headless Chromium, every request it makes recorded."""

import shutil
from collections.abc import Sequence

from scanner.errors import BrowserMissing


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def requests_of(urls: Sequence[str], timeout_seconds: float, args: Sequence[str] = ()) -> dict[str, list[str]]:
    """URL -> every request URL the page made while loading and shortly after (tags injected by tags too)."""
    executable = chromium()
    if executable is None:
        raise BrowserMissing("the dynamic scan needs Chromium (Debian: apt install chromium)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise BrowserMissing("the dynamic scan needs Playwright: pip install 'sluice[browser]'") from None
    made: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(args))
        try:
            for url in urls:
                page = browser.new_page()
                requests: list[str] = []
                page.on("request", lambda request, seen=requests: seen.append(request.url))
                try:
                    page.goto(url, wait_until="load", timeout=timeout_seconds * 1000)
                    page.wait_for_timeout(1000)  # tags that wait for load, then inject more
                except Error:
                    pass  # what it requested before failing still counts
                made[url] = requests
                page.close()
        finally:
            browser.close()
    return made
