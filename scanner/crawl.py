"""Crawling the organisation's own pages: from start URLs and sitemap.xml, within page and depth caps.

Every request, redirect hop and sitemap stays on the start URLs' hosts and ports, and on addresses
of the kind those hosts have: a public site's crawl never reaches into the network it runs in.
"""

import ipaddress
import re
import socket
from collections import deque
from collections.abc import Callable, Iterator
from urllib.parse import urljoin, urlsplit

import httpx

from scanner.page import Page, parse

MAX_REDIRECTS = 5
_LOC = re.compile(r"<loc>\s*([^<\s]+)\s*</loc>", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}

_SITE_LOCAL = ipaddress.ip_network("fec0::/10")
_CARRY_IPV4 = [ipaddress.ip_network(net) for net in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")]
"""IPv4-compatible, IPv4-translated and NAT64 prefixes: the last 32 bits are an IPv4 address."""

Resolver = Callable[[str], set[str]]
"""A host name to the addresses it resolves to (none if it does not)."""


def resolve(host: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        return set()


class Scope:
    """What a crawl may fetch: its start URLs' hosts and ports, at addresses as public as theirs."""

    def __init__(self, start_urls: list[str], resolver: Resolver = resolve) -> None:
        self._origins: set[tuple[str, int]] = set()
        for url in start_urls:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
            # A site on a default port may move between http and https on it; any other port is its own.
            self._origins |= {(host, p) for p in _DEFAULT_PORTS.values()} if not parts.port else {(host, port)}
        self._resolver = resolver
        self._hosts = {host for host, _ in self._origins}
        self.internal = any(not _public(address) for host in self._hosts for address in resolver(host))
        """Whether the site itself is on a private, loopback or link-local address (then its hosts may be)."""

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS:
            return False
        host, port = (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS[parts.scheme]
        return (host, port) in self._origins and self.reachable(host, port)

    def reachable(self, host: str, port: int) -> bool:
        """Whether a request may go to `host` on `port`: public addresses, or where the site is internal, its own
        hosts on its own ports."""
        return (self.internal and (host, port) in self._origins) or self.public(host)

    def public(self, host: str) -> bool:
        """Whether `host` resolves, and only to public addresses; asked at every request, as names can move."""
        addresses = self._resolver(host)
        return bool(addresses) and all(map(_public, addresses))


def _public(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if parsed.version == 6:
        if parsed in _SITE_LOCAL:
            return False
        # An IPv6 address that carries an IPv4 one (mapped, compatible, 6to4, NAT64) is as public as that.
        embedded = parsed.ipv4_mapped or parsed.sixtofour or next(
            (ipaddress.IPv4Address(int(parsed) & 0xFFFFFFFF) for net in _CARRY_IPV4 if parsed in net), None)
        if embedded is not None:
            return embedded.is_global
    return parsed.is_global


def crawl(start_urls: list[str], http: httpx.Client, *, max_pages: int, max_depth: int, max_sitemaps: int,
          max_bytes: int, scope: Scope | None = None, on_page: Callable[[Page], None] = lambda page: None,
          ) -> Iterator[Page]:
    """Pages of the start URLs' hosts, breadth first, each filed under the URL its content came from."""
    scope = scope or Scope(start_urls)
    fetch = _Fetcher(http, scope, max_bytes)
    queue = deque((url, 0) for url in [*start_urls, *_sitemaps(start_urls, fetch, max_sitemaps)])
    seen: set[str] = set()
    crawled = 0
    while queue and crawled < max_pages:
        url, depth = queue.popleft()
        if url in seen or not scope.allows(url):
            continue
        seen.add(url)
        fetched = fetch(url, ("html",))
        if fetched is None or (fetched[0] != url and fetched[0] in seen):
            continue
        final, html = fetched
        seen.add(final)
        page = parse(final, html)
        crawled += 1
        on_page(page)
        yield page
        if depth < max_depth:
            queue.extend((link, depth + 1) for link in page.links if link not in seen)


def _sitemaps(start_urls: list[str], fetch: "_Fetcher", limit: int) -> list[str]:
    """Page URLs listed in each host's sitemap.xml and the sitemaps it indexes, one level down, `limit` in all."""
    found: list[str] = []
    origins = dict.fromkeys(f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in start_urls)
    pending = deque(f"{origin}/sitemap.xml" for origin in origins)
    nested = set()
    while pending and limit > 0:
        sitemap = pending.popleft()
        limit -= 1
        fetched = fetch(sitemap, ("xml",))
        for loc in _LOC.findall(fetched[1]) if fetched else []:
            if loc.endswith(".xml") and sitemap not in nested:
                nested.add(loc)
                pending.append(loc)
            else:
                found.append(loc)
    return found


class _Fetcher:
    def __init__(self, http: httpx.Client, scope: Scope, max_bytes: int) -> None:
        self._http, self._scope, self._max_bytes = http, scope, max_bytes

    def __call__(self, url: str, kinds: tuple[str, ...]) -> tuple[str, str] | None:
        """The final URL and body of a page of one of the wanted content types, redirects followed within scope."""
        for _ in range(MAX_REDIRECTS + 1):
            if not self._scope.allows(url):
                return None
            try:
                with self._http.stream("GET", url, follow_redirects=False) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    return self._body(response, kinds, url)
            except httpx.HTTPError:
                return None
        return None

    def _body(self, response: httpx.Response, kinds: tuple[str, ...], url: str) -> tuple[str, str] | None:
        kind = response.headers.get("content-type", "")
        if response.status_code != 200 or not any(k in kind for k in kinds):
            return None
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                return None
        return url, body.decode(response.encoding or "utf-8", errors="replace")
