"""The dynamic mode: each page loaded in headless Chromium, every request it makes recorded.

Chromium runs with its sandbox where the system allows it (not as root, which Chromium refuses), and
sends every request through `scanner.proxy`, which refuses private, loopback and link-local addresses
unless the site itself is on one.
"""

import logging
import shutil
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scanner.crawl import Scope
from scanner.errors import BrowserMissing
from scanner.proxy import FilteringProxy

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

log = logging.getLogger("sluice.scanner")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def requests_of(urls: Sequence[str], timeout_seconds: float, scope: Scope,
                args: Sequence[str] = ()) -> dict[str, list[str]]:
    """URL -> every request URL the page made while loading and shortly after (tags injected by tags too)."""
    executable = chromium()
    if executable is None:
        raise BrowserMissing("the dynamic scan needs Chromium (Debian: apt install chromium)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise BrowserMissing("the dynamic scan needs Playwright: pip install 'sluice[browser]'") from None
    made: dict[str, list[str]] = {}
    with FilteringProxy(scope) as proxy, sync_playwright() as playwright:
        browser = _launch(playwright, executable, [*args, *_through(proxy)], Error)
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


def _through(proxy: str) -> list[str]:
    """Chromium's flags for sending everything through `proxy`: loopback too, and WebRTC without UDP."""
    # Chromium reads the WebRTC policy under one name, its headless shell under the other.
    return [f"--proxy-server={proxy}", "--proxy-bypass-list=<-loopback>",
            "--webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"]


def _launch(playwright: "Playwright", executable: str, args: Sequence[str], error: type[Exception]) -> "Browser":
    try:
        return playwright.chromium.launch(executable_path=executable, args=list(args), chromium_sandbox=True)
    except error as exc:
        log.warning("Chromium's sandbox is not available here (running as root, or no user namespaces): "
                    "pages load without it", extra={"reason": str(exc).splitlines()[0][:200]})
        return playwright.chromium.launch(executable_path=executable, args=list(args), chromium_sandbox=False)

