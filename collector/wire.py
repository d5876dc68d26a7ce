"""The wire format browsers send to /collect and /consent, validated with msgspec."""

from typing import Annotated, Literal

import msgspec

from collector.errors import CollectorError
from warehouse.settings import SiteId

_NAME = msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="1-64 letters, digits, _ . : -")
Name = Annotated[str, _NAME]
Url = Annotated[str, msgspec.Meta(max_length=2048)]
PropValue = Annotated[str, msgspec.Meta(max_length=512)] | int | float | bool
Props = Annotated[dict[Name, PropValue], msgspec.Meta(max_length=32)]

MAX_BATCH = 50


class WireEvent(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    site: SiteId
    name: Name
    url: Url
    referrer: Url = ""
    ts: Annotated[int, msgspec.Meta(ge=0)] | None = None
    """Client time in milliseconds since the epoch."""
    id: Annotated[str, msgspec.Meta(max_length=64)] = ""
    """Client event id, for de-duplication."""
    props: Props = {}
    gpc: bool = False
    dnt: bool = False


class WireConsent(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    site: SiteId
    analytics: bool
    ads: bool
    policy_version: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,32}$")] | None = None
    """None: the site's current policy version (its banner's)."""
    source: Literal["banner", "api", "consent-mode", "tcf"] = "banner"
    """Where the choice was made: Sluice's banner, the page's own call, Google Consent Mode or an IAB TCF platform."""


Batch = WireEvent | Annotated[list[WireEvent], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class InvalidInput(CollectorError):
    """Input that breaks a rule; names the field and the rule."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


_events = msgspec.json.Decoder(Batch)
_consent = msgspec.json.Decoder(WireConsent)


def decode_events(body: bytes) -> list[WireEvent]:
    """One event or a batch of up to 50, all valid, or `InvalidInput` for the first broken rule."""
    batch = _decode(_events, body)
    return batch if isinstance(batch, list) else [batch]


def decode_consent(body: bytes) -> WireConsent:
    return _decode(_consent, body)


def _decode(decoder: msgspec.json.Decoder, body: bytes):
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        rule, _, where = str(exc).partition(" - at `$")
        raise InvalidInput(where.rstrip("`").lstrip(".") or "body", rule.replace("`", "")) from None
    except msgspec.DecodeError as exc:
        raise InvalidInput("body", f"not valid JSON ({exc})") from None
