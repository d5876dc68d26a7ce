"""TikTok Events API 2.0: each cell one event with a synthetic external_id; success is body code 0."""

from datetime import timedelta

import httpx
import msgspec

from forwarder.adapters.base import CURRENCY, Dimensions, Item, Outcome, http_outcome, post, synthetic_id
from forwarder.guard import Request, Shape
from forwarder.settings import TikTokDestination

URL = "https://business-api.tiktok.com/open_api/v1.3/event/track/"
_RATE_LIMITED = 40100


class User(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    external_id: str


class Properties(Dimensions, forbid_unknown_fields=True, frozen=True, omit_defaults=True, kw_only=True):
    value: float
    currency: str
    quantity: int


class Event(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    event: str
    event_time: int
    event_id: str
    user: User
    properties: Properties


class Payload(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    event_source: str
    event_source_id: str
    data: list[Event]
    test_event_code: str | None = None


class TikTokAdapter:
    batch_size = 1000
    deduplicates = True  # event_id + event
    max_age = timedelta(days=7)

    def __init__(self, destination: TikTokDestination, token: str) -> None:
        self._destination = destination
        self._token = token

    def shape(self, items: list[Item]) -> Shape:
        return Shape(url=URL, headers={"content-type": "application/json", "access-token": r"[\w.-]+"}, schema=Payload)

    def build(self, items: list[Item]) -> Request:
        events = [
            Event(event=item.signal, event_time=int(item.window_end.timestamp()) - 1, event_id=item.key,
                  user=User(external_id=synthetic_id(item.key)),
                  properties=Properties(value=item.value, currency=CURRENCY, quantity=item.conversions,
                                        **item.dimensions))
            for item in items
        ]
        payload = Payload(event_source="web", event_source_id=self._destination.event_source_id, data=events,
                          test_event_code=self._destination.test_event_code or None)
        return Request(method="POST", url=URL, headers={"content-type": "application/json", "access-token": self._token},
                       body=msgspec.json.encode(payload), secrets=frozenset({self._token}))

    def deliver(self, request: Request, http: httpx.Client) -> Outcome:
        response = post(request, http)
        if isinstance(response, Outcome):
            return response
        try:
            body = response.json()
            code = body.get("code") if isinstance(body, dict) else None
        except ValueError:
            code, body = None, {}
        if response.is_success and code == 0:
            return http_outcome(response, retryable=False)
        # HTTP 200 can still carry an error code.
        retryable = response.status_code >= 500 or response.status_code == 429 or code == _RATE_LIMITED or (
            isinstance(code, int) and code >= 50000)
        message = body.get("message", "") if isinstance(body, dict) else ""
        return http_outcome(response, retryable, f"HTTP {response.status_code}, code {code}: {message}")
