"""What every adapter shares: the items it sends, the outcome of a request, synthetic ids."""

import hashlib
import math
from datetime import datetime, timedelta
from typing import Protocol

import httpx
import msgspec

from forwarder.guard import Request, Shape

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
CURRENCY = "USD"


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """One released cell, as an adapter sends it."""

    key: str
    signal: str
    window_start: datetime
    window_end: datetime
    dimensions: dict[str, str]
    visitors: int
    conversions: int
    value: float


class Dimensions(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True, kw_only=True):
    """A cell's dimensions as payload fields: only the names a policy can allow may appear."""

    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    site: str | None = None
    device_type: str | None = None


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    retryable: bool = False
    reason: str = ""
    retry_after: float | None = None
    status: int = 0
    body: str = ""


class Adapter(Protocol):
    batch_size: int
    deduplicates: bool
    """The platform drops a repeated event id, so a request whose answer was lost may be sent again."""
    max_age: timedelta
    """The oldest window the platform accepts."""

    def shape(self, items: list[Item]) -> Shape: ...

    def build(self, items: list[Item]) -> Request: ...

    def deliver(self, request: Request, http: httpx.Client) -> Outcome: ...


def synthetic_id(key: str) -> str:
    """A per-cell identifier for platforms that demand one: derived from the cell, never from a person."""
    return hashlib.sha256(f"sluice-cell:{key}".encode()).hexdigest()


def generated_strings(item: Item) -> set[str]:
    """Strings the forwarder itself makes for an item; the guard lets these through its detectors."""
    return {item.key, synthetic_id(item.key), ga_client_id(item.key), item.window_start.isoformat(),
            item.window_end.isoformat(), item.window_start.date().isoformat()}


def ga_client_id(key: str) -> str:
    """GA4's client_id format (`<number>.<number>`), from the cell's key."""
    return f"{int(key[:8], 16)}.{int(key[8:16], 16)}"


def post(request: Request, http: httpx.Client) -> httpx.Response | Outcome:
    """Send an HTTP request; a network failure is a retryable outcome."""
    try:
        return http.request(request.method, request.url, headers=request.headers, content=request.body,
                            timeout=TIMEOUT)
    except httpx.TransportError as exc:
        return Outcome(ok=False, retryable=True, reason=f"network: {type(exc).__name__}")


def retry_after(response: httpx.Response) -> float | None:
    """The seconds a platform asks to wait, if it asks for a plausible (finite, positive) pause."""
    try:
        seconds = float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def http_outcome(response: httpx.Response, retryable: bool, reason: str = "") -> Outcome:
    ok = response.is_success and not reason
    return Outcome(ok=ok, retryable=not ok and retryable, reason="" if ok else reason or f"HTTP {response.status_code}",
                   retry_after=retry_after(response), status=response.status_code, body=response.text[:65536])
