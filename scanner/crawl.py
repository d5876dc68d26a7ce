"""Crawling the organisation's own pages: from start URLs and sitemap.xml, within page and depth caps."""

import re
from collections import deque
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx

from scanner.page import Page, host_of, parse

MAX_PAGE_BYTES = 5 * 2**20
_LOC = re.compile(r"<loc>\s*([^<\s]+)\s*</loc>", re.IGNORECASE)


def crawl(start_urls: list[str], http: httpx.Client, *, max_pages: int, max_depth: int,
          on_page: Callable[[Page], None] = lambda page: None) -> Iterator[Page]:
    """Pages of the start URLs' hosts, breadth first; links elsewhere are not followed."""
    hosts = {host_of(url) for url in start_urls}
    queue = deque((url, 0) for url in [*start_urls, *_sitemaps(start_urls, http)])
    seen: set[str] = set()
    crawled = 0
    while queue and crawled < max_pages:
        url, depth = queue.popleft()
        if url in seen or host_of(url) not in hosts:
            continue
        seen.add(url)
        html = _fetch(url, http)
        if html is None:
            continue
        page = parse(url, html)
        crawled += 1
        on_page(page)
        yield page
        if depth < max_depth:
            queue.extend((link, depth + 1) for link in page.links if link not in seen)


def _sitemaps(start_urls: list[str], http: httpx.Client) -> list[str]:
    """Page URLs listed in each host's sitemap.xml (and the sitemaps it indexes, one level down)."""
    found: list[str] = []
    for origin in dict.fromkeys(f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in start_urls):
        for loc in _locations(f"{origin}/sitemap.xml", http):
            found += _locations(loc, http) if loc.endswith(".xml") else [loc]
    return found


def _locations(url: str, http: httpx.Client) -> list[str]:
    text = _fetch(url, http, kinds=("xml",))
    return _LOC.findall(text) if text else []


def _fetch(url: str, http: httpx.Client, kinds: tuple[str, ...] = ("html",)) -> str | None:
    """The body of a page of one of the wanted content types, at most MAX_PAGE_BYTES; None otherwise."""
    try:
        with http.stream("GET", url, follow_redirects=True) as response:
            kind = response.headers.get("content-type", "")
            if response.status_code != 200 or not any(k in kind for k in kinds):
                return None
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_PAGE_BYTES:
                    return None
            return body.decode(response.encoding or "utf-8", errors="replace")
    except httpx.HTTPError:
        return None
