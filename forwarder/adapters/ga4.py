"""GA4 Measurement Protocol: one request per cell, under a client_id made from the cell."""

from datetime import timedelta

import httpx
import msgspec

from forwarder.adapters.base import CURRENCY, Dimensions, Item, Outcome, ga_client_id, http_outcome, post
from forwarder.guard import Request, Shape
from forwarder.settings import Ga4Destination


class Params(Dimensions, forbid_unknown_fields=True, frozen=True, omit_defaults=True, kw_only=True):
    value: float
    currency: str
    conversions: int


class Event(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str
    params: Params


class Payload(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    client_id: str
    timestamp_micros: int
    non_personalized_ads: bool
    events: list[Event]


class Ga4Adapter:
    batch_size = 1  # the client_id is per request, and each cell has its own
    deduplicates = False  # GA4 keeps every hit it gets
    max_age = timedelta(hours=72)

    def __init__(self, destination: Ga4Destination, secret: str) -> None:
        self._secret = secret
        self._url = ("https://www.google-analytics.com/mp/collect"
                     f"?measurement_id={destination.measurement_id}&api_secret={secret}")

    def shape(self, items: list[Item]) -> Shape:
        return Shape(url=self._url, headers={"content-type": "application/json"}, schema=Payload)

    def build(self, items: list[Item]) -> Request:
        (item,) = items
        # Parameter values are capped at 100 characters by GA4.
        dimensions = {name: value[:100] for name, value in item.dimensions.items()}
        payload = Payload(client_id=ga_client_id(item.key),
                          timestamp_micros=int(item.window_end.timestamp()) * 1_000_000 - 1,
                          non_personalized_ads=True,
                          events=[Event(name=item.signal, params=Params(value=item.value, currency=CURRENCY,
                                                                        conversions=item.conversions, **dimensions))])
        return Request(method="POST", url=self._url, headers={"content-type": "application/json"},
                       body=msgspec.json.encode(payload), secrets=frozenset({self._secret}))

    def deliver(self, request: Request, http: httpx.Client) -> Outcome:
        response = post(request, http)
        if isinstance(response, Outcome):
            return response
        # The production endpoint answers 2xx even to malformed payloads; only transport and 5xx say more.
        return http_outcome(response, retryable=response.status_code >= 500 or response.status_code == 429)
