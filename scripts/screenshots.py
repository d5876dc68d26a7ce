"""Remake the README's screenshots from the demo: `.venv/bin/python scripts/screenshots.py`.

It starts `sluice up --demo` on a data dir of its own and free loopback ports, logs in with the demo admin in
headless Chromium (the system's, driven by Playwright), saves the overview and compliance pages to docs/, and
stops Sluice again.
"""

import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = {"overview": "Overview", "compliance": "Compliance"}
VIEWPORT = {"width": 1400, "height": 1000}
_LOGIN = re.compile(r"demo login:\s+(\S+) / (\S+)")


def main() -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Chromium (Debian: apt install chromium)")
    ports = [_free_port() for _ in range(3)]
    with tempfile.TemporaryDirectory() as data:
        sluice = subprocess.Popen(
            [str(Path(sys.executable).with_name("sluice")), "up", "--demo", "--demo-events", "200000",
             "--data-dir", data, "--public-port", str(ports[0]), "--internal-port", str(ports[1]),
             "--dashboard-port", str(ports[2])], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            username, password = _demo_login(sluice)
            url = f"http://127.0.0.1:{ports[2]}"
            _wait_for(f"{url}/_stcore/health")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport=VIEWPORT)
                _log_in(page, url, username, password)
                for slug, heading in PAGES.items():
                    # In the app, not by URL: a page loaded anew is a new session, logged out.
                    page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=heading, exact=True).click()
                    page.get_by_role("heading", name=re.compile(f"^{heading}")).wait_for(timeout=60_000)
                    _settle(page)
                    page.screenshot(path=str(DOCS / f"{slug}.png"))
                    print(f"saved docs/{slug}.png")
                browser.close()
        finally:
            sluice.send_signal(signal.SIGINT)
            sluice.wait(timeout=60)


def _demo_login(sluice: subprocess.Popen) -> tuple[str, str]:
    assert sluice.stdout is not None
    for line in sluice.stdout:
        if found := _LOGIN.search(line):
            return found[1], found[2]
    raise SystemExit("sluice up stopped before it printed the demo login")


def _log_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)


def _settle(page: Page) -> None:
    """Wait until Streamlit's script run is over and the charts are drawn."""
    for _ in range(600):
        state = page.evaluate("document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state')")
        if state == "notRunning" and not page.locator("[data-testid=stSkeleton]").count():
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(1500)


def _wait_for(url: str) -> None:
    for _ in range(600):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} never answered")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
