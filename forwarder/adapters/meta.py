"""Meta Conversions API: each cell one server event, `action_source` "other", a synthetic external_id."""

from datetime import timedelta

import httpx
import msgspec

from forwarder.adapters.base import CURRENCY, Dimensions, Item, Outcome, http_outcome, post, synthetic_id
from forwarder.guard import Request, Shape
from forwarder.settings import MetaDestination

# Graph API error codes Meta documents as transient or throttling.
_RETRYABLE = {1, 2, 4, 17, 32, 341, 613}


class UserData(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    external_id: list[str]


class CustomData(Dimensions, forbid_unknown_fields=True, frozen=True, omit_defaults=True, kw_only=True):
    value: float
    currency: str
    num_items: int


class Event(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    event_name: str
    event_time: int
    event_id: str
    action_source: str
    user_data: UserData
    custom_data: CustomData


class Payload(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    data: list[Event]
    test_event_code: str | None = None


class MetaAdapter:
    batch_size = 1000  # Meta's limit per request
    deduplicates = True  # event_id + event_name, within 48 hours
    max_age = timedelta(days=7)

    def __init__(self, destination: MetaDestination, token: str) -> None:
        self._destination = destination
        self._token = token
        self._url = (f"https://graph.facebook.com/{destination.api_version}/{destination.dataset_id}/events"
                     f"?access_token={token}")

    def shape(self, items: list[Item]) -> Shape:
        return Shape(url=self._url, headers={"content-type": "application/json"}, schema=Payload)

    def build(self, items: list[Item]) -> Request:
        events = [
            Event(event_name=item.signal, event_time=int(item.window_end.timestamp()) - 1, event_id=item.key,
                  action_source="other", user_data=UserData(external_id=[synthetic_id(item.key)]),
                  custom_data=CustomData(value=item.value, currency=CURRENCY, num_items=item.conversions,
                                         **item.dimensions))
            for item in items
        ]
        payload = Payload(data=events, test_event_code=self._destination.test_event_code or None)
        return Request(method="POST", url=self._url, headers={"content-type": "application/json"},
                       body=msgspec.json.encode(payload), secrets=frozenset({self._token}))

    def deliver(self, request: Request, http: httpx.Client) -> Outcome:
        response = post(request, http)
        if isinstance(response, Outcome):
            return response
        if response.is_success:
            return http_outcome(response, retryable=False)
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        retryable = response.status_code >= 500 or response.status_code == 429 or code in _RETRYABLE or bool(
            error.get("is_transient"))
        return http_outcome(response, retryable, f"HTTP {response.status_code}, code {code}: {error.get('message', '')}")
