"""A scan of the fixture site finds every planted tracker, and nothing else."""

import httpx
import pytest

from scanner.browser import chromium
from scanner.scan import scan_site
from tests.scanner.conftest import INJECTED, PLANTED, settings


def _found(site, result) -> set[tuple[str, str, str, str]]:
    return {(f.page.removeprefix(site.url), f.host, f.vendor, f.kind) for f in result.findings}


def test_a_static_scan_lists_every_planted_tracker_and_nothing_else(site):
    policy = settings(site)
    with httpx.Client() as http:
        result = scan_site(policy.targets[0], policy, http)
    assert _found(site, result) == PLANTED
    assert result.scan.pages == 3 and result.scan.mode == "static"  # the sitemap brought the unlinked page


def test_the_crawl_keeps_to_its_caps(site):
    policy = settings(site, max_pages=1)
    with httpx.Client() as http:
        result = scan_site(policy.targets[0], policy, http)
    assert result.scan.pages == 1 and {f.page.removeprefix(site.url) for f in result.findings} == {"/"}


def test_query_strings_never_reach_the_findings(site):
    site.pages["/"] = site.pages["/"].replace('href="/services"', 'href="/services?patient=Jane+Doe"')
    policy = settings(site)
    with httpx.Client() as http:
        result = scan_site(policy.targets[0], policy, http)
    assert all("?" not in f.page and "Jane" not in f.page for f in result.findings)


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (Debian: apt install chromium)")
def test_a_dynamic_scan_also_catches_a_tracker_another_script_injects(site):
    policy = settings(site, dynamic=True, max_pages=2, max_depth=1)
    with httpx.Client() as http:
        # No real network here: every other host fails fast, and the attempt is still seen.
        result = scan_site(policy.targets[0], policy, http,
                           browser_args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
    requests = {(f.page.removeprefix(site.url), f.host, f.vendor) for f in result.findings if f.kind == "request"}
    assert INJECTED in requests
    assert ("/", "connect.facebook.net", "Meta Pixel") in requests
    assert result.scan.mode == "dynamic"
