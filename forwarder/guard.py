"""The egress guard: the last check on every request before it leaves the box.

A request passes only if its URL and headers are what its adapter declared (header values of
their declared form), its body decodes into the adapter's schema (unknown fields refused), and
no text in it looks like
an identifier: an email, phone number, IP address, URL, SSN, record number, date of birth or
ZIP code, or any raw visitor, session or click id of the window's events (`warehouse.privacy`), or
starts like a spreadsheet formula, in a CSV file or a webhook's JSON alike.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from forwarder.errors import Blocked
from warehouse.privacy import DETECTORS, runs_in_a_spreadsheet

class RecordedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A request as the audit log keeps it: every byte, credentials replaced by `[credential]`."""

    method: str
    url: str
    headers: dict[str, str]
    body: str


class Request(msgspec.Struct, frozen=True, kw_only=True):
    """One outgoing request, exactly as it will be sent."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    secrets: frozenset[str] = frozenset()
    """Credential values inside the URL or headers: never recorded."""

    def recorded(self) -> RecordedRequest:
        def hide(text: str) -> str:
            for secret in self.secrets:
                text = text.replace(secret, "[credential]")
            return text

        return RecordedRequest(method=self.method, url=hide(self.url),
                               headers={name: hide(value) for name, value in self.headers.items()},
                               body=self.body.decode("utf-8"))


class Shape(msgspec.Struct, frozen=True, kw_only=True):
    """What an adapter declares its requests to be."""

    url: str
    headers: dict[str, str]
    """Header name -> the pattern its value must match in full: values made from config or keys, never events."""
    schema: Any
    """The body's type: msgspec Structs that forbid unknown fields."""
    decode: Callable[[bytes], Any] = msgspec.json.decode
    """Bytes to the document checked against `schema` (JSON unless the adapter says otherwise)."""


def check(request: Request, shape: Shape, *, allowed: set[str], identifiers: set[str]) -> None:
    """Raise `Blocked` with the reason unless the request is exactly what may leave.

    `allowed` are strings the forwarder made itself (window bounds, timestamps); `identifiers`, raw ids.
    """
    # A reason names what was wrong and where, never the text itself: it goes to the audit log.
    if request.url != shape.url:
        raise Blocked("the URL is not the destination's own")
    headers = {name.lower(): value for name, value in request.headers.items()}
    if headers.keys() != shape.headers.keys():
        raise Blocked(f"unexpected headers: {sorted(headers.keys() ^ shape.headers.keys())}")
    for name, value in headers.items():
        if not re.fullmatch(shape.headers[name], value):
            raise Blocked(f"header {name} is not of its declared form")
    try:
        typed = msgspec.convert(shape.decode(request.body), shape.schema,
                                strict=shape.decode is msgspec.json.decode)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, ValueError) as exc:
        raise Blocked(f"the body does not match its schema: {exc}") from None
    lengths = {len(identifier) for identifier in identifiers}
    # The typed document: numbers the schema declares are numbers, and only text is searched.
    for where, text in _strings(msgspec.to_builtins(typed), "$"):
        found = "" if text in allowed else _finding(text, identifiers, lengths)
        if found:
            raise Blocked(f"{found} at {where}")


def _finding(text: str, identifiers: set[str], lengths: set[int]) -> str:
    for name, pattern in DETECTORS.items():
        if pattern.search(text):
            return f"a value that looks like {name}"
    if runs_in_a_spreadsheet(text):
        return "a value that a spreadsheet would run as a formula"
    # Every substring of each identifier length: an id cannot hide inside a longer value.
    if any(text[i:i + n] in identifiers for n in lengths for i in range(len(text) - n + 1)):
        return "a raw identifier of the window's events"
    return ""


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string in a document, keys included, with where it is."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,39}", str(key)) else "?"
            yield f"{where}.{name} (its name)", str(key)
            yield from _strings(item, f"{where}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")
