"""One scan of one site: crawl it, optionally load it in Chromium, and list every third party it uses."""

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx
import msgspec
import tldextract

from scanner.browser import requests_of
from scanner.crawl import Resolver, Scope, crawl, resolve
from scanner.page import Page, Resource, host_of
from scanner.settings import ScannerSettings, Target
from scanner.signatures import VENDORS, vendor_of
from warehouse.trackers import Finding, Scan, page_address

# The public suffix list as shipped with the library: a scan never fetches it.
_DOMAINS = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
_BY_NAME = {vendor.name: vendor for vendor in VENDORS}


class ScanResult(msgspec.Struct, frozen=True):
    scan: Scan
    findings: list[Finding]


def scan(target: Target, settings: ScannerSettings, *, own_origins: Sequence[str] = (),
         on_page: Callable[[Page], None] = lambda page: None) -> ScanResult:
    """Crawl one target over HTTP as the scanner identifies itself; stores nothing."""
    with httpx.Client(timeout=settings.timeout_seconds, headers={"user-agent": "sluice-scanner"}) as http:
        return scan_site(target, settings, http, own_origins=own_origins, on_page=on_page)


def scan_site(target: Target, settings: ScannerSettings, http: httpx.Client, *, own_origins: Sequence[str] = (),
              on_page: Callable[[Page], None] = lambda page: None, browser_args: Sequence[str] = (),
              resolver: Resolver = resolve) -> ScanResult:
    """Crawl `target` and return its third parties, page by page; nothing is stored here."""
    started, scan_id = datetime.now(UTC), uuid.uuid4().hex
    first_party = {_domain(host_of(url)) for url in [*target.start_urls, *own_origins] if url != "*"}
    scope = Scope(target.start_urls, resolver)
    pages = list(crawl(target.start_urls, http, max_pages=settings.max_pages, max_depth=settings.max_depth,
                       max_sitemaps=settings.max_sitemaps, max_bytes=settings.max_response_bytes, scope=scope,
                       on_page=on_page))
    resources = {page.url: list(page.resources) for page in pages}
    if settings.dynamic:
        loaded = requests_of(list(resources), settings.timeout_seconds, scope, browser_args)
        for url, requested in loaded.items():
            resources[url] += [Resource("request", request) for request in requested]
    findings = {}
    for page_url, found in resources.items():
        page = page_address(page_url) or page_url.split("?", 1)[0]
        for resource in found:
            finding = _finding(resource, first_party)
            if finding:
                host, vendor = finding
                key = (page, host, vendor, resource.kind)
                findings.setdefault(key, Finding(scan_id=scan_id, site=target.site, page=page, host=host, vendor=vendor,
                                                 kind=resource.kind, source="scan", seen_at=started))
    scan = Scan(scan_id=scan_id, site=target.site, mode="dynamic" if settings.dynamic else "static",
                started_at=started, finished_at=datetime.now(UTC), pages=len(pages))
    return ScanResult(scan=scan, findings=sorted(findings.values(), key=lambda f: (f.page, f.host, f.kind)))


def third_party(host: str, first_party: set[str]) -> bool:
    return bool(host) and _domain(host) not in first_party


def _finding(resource: Resource, first_party: set[str]) -> tuple[str, str] | None:
    """(host, vendor) of a third-party resource; None for the site's own."""
    if resource.kind == "inline":
        vendor = _BY_NAME[resource.url]
        return vendor.hosts[0], vendor.name
    host = host_of(resource.url)
    if not third_party(host, first_party):
        return None
    vendor = vendor_of(host)
    return host, vendor.name if vendor else ""


def _domain(host: str) -> str:
    """The registrable domain (www.example.org -> example.org); an address or single label stays itself."""
    return _DOMAINS(host).top_domain_under_public_suffix or host


