"""A signed webhook: each request carries one signal's cells of one window.

Signature: `Sluice-Signature: v1=<hex HMAC-SHA256(secret, "<Sluice-Timestamp>.<raw body>")>`.
"""

import hashlib
import hmac
import time
from datetime import timedelta

import httpx
import msgspec

from forwarder.adapters.base import Item, Outcome, http_outcome, post
from forwarder.guard import Request, Shape
from forwarder.settings import WebhookDestination


class Cell(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    key: str
    dimensions: dict[str, str]
    visitors: int
    conversions: int
    value: float


class Payload(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    signal: str
    window_start: str
    window_end: str
    cells: list[Cell]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What a receiver recomputes to trust a request (compare with `hmac.compare_digest`)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


class WebhookAdapter:
    batch_size = 1000
    deduplicates = True  # each cell's key, and the Idempotency-Key header
    max_age = timedelta(days=7)

    def __init__(self, destination: WebhookDestination, secret: str, clock=time.time) -> None:
        self._destination = destination
        self._secret = secret
        self._clock = clock

    def shape(self, items: list[Item]) -> Shape:
        return Shape(url=self._destination.url, schema=Payload, headers={
            "content-type": "application/json", "sluice-timestamp": r"[0-9]{10,12}",
            "sluice-signature": r"v1=[0-9a-f]{64}", "idempotency-key": r"[0-9a-f]{32}"})

    def build(self, items: list[Item]) -> Request:
        first = items[0]
        payload = Payload(signal=first.signal, window_start=first.window_start.isoformat(),
                          window_end=first.window_end.isoformat(),
                          cells=[Cell(key=i.key, dimensions=i.dimensions, visitors=i.visitors,
                                      conversions=i.conversions, value=i.value) for i in items])
        body = msgspec.json.encode(payload)
        timestamp = str(int(self._clock()))
        headers = {"content-type": "application/json", "sluice-timestamp": timestamp,
                   "sluice-signature": signature(self._secret, timestamp, body),
                   "idempotency-key": hashlib.sha256("".join(i.key for i in items).encode()).hexdigest()[:32]}
        return Request(method="POST", url=self._destination.url, headers=headers, body=body)

    def deliver(self, request: Request, http: httpx.Client) -> Outcome:
        response = post(request, http)
        if isinstance(response, Outcome):
            return response
        return http_outcome(response, retryable=response.status_code in (408, 429) or response.status_code >= 500)
