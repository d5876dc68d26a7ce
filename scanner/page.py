"""What one HTML page loads from where: scripts, iframes, images, preloads, styles, inline tags, links."""

from html.parser import HTMLParser
from typing import Literal
from urllib.parse import urljoin, urldefrag, urlsplit

import msgspec

from scanner.signatures import snippets_in

Kind = Literal["script", "iframe", "image", "preload", "stylesheet", "inline", "request", "csp"]
_PRELOADS = {"preload", "prefetch", "preconnect", "dns-prefetch", "modulepreload"}


class Resource(msgspec.Struct, frozen=True):
    kind: Kind
    url: str
    """Absolute; for an inline tag, the vendor's name."""


class Page(msgspec.Struct, frozen=True):
    url: str
    resources: list[Resource]
    links: list[str]
    """Absolute http(s) links without fragments, for the crawl to follow."""


def parse(url: str, html: str) -> Page:
    extractor = _Extractor(url)
    extractor.feed(html)
    extractor.close()
    return Page(url=url, resources=list(dict.fromkeys(extractor.resources)), links=list(dict.fromkeys(extractor.links)))


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class _Extractor(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self._base = base
        self._in_script = False
        self._script: list[str] = []
        self.resources: list[Resource] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "base" and attributes.get("href"):
            self._base = urljoin(self._base, attributes["href"])
        elif tag == "script":
            if attributes.get("src"):
                self._add("script", attributes["src"])
            else:
                self._in_script, self._script = True, []
        elif tag in ("iframe", "frame") and attributes.get("src"):
            self._add("iframe", attributes["src"])
        elif tag in ("img", "source") and (attributes.get("src") or attributes.get("srcset")):
            self._add("image", attributes.get("src") or attributes["srcset"].split()[0])
        elif tag == "link" and attributes.get("href"):
            rel = set(attributes.get("rel", "").lower().split())
            if rel & _PRELOADS:
                self._add("preload", attributes["href"])
            elif "stylesheet" in rel:
                self._add("stylesheet", attributes["href"])
        elif tag == "a" and attributes.get("href"):
            link = urldefrag(urljoin(self._base, attributes["href"])).url
            if urlsplit(link).scheme in ("http", "https"):
                self.links.append(link)

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script:
            self._in_script = False
            for vendor in snippets_in("".join(self._script)):
                self.resources.append(Resource("inline", vendor.name))

    def _add(self, kind: Kind, reference: str) -> None:
        url = urljoin(self._base, reference.strip())
        if urlsplit(url).scheme in ("http", "https"):
            self.resources.append(Resource(kind, url))
