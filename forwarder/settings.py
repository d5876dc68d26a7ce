"""The forwarding policy: what may leave, grouped how, released when, and to whom.

Its content hash is its version; each new version is recorded in the audit log.
"""

import hashlib
import math
import re
from typing import Annotated, Literal

import msgspec

from forwarder.budget import Privacy
from warehouse.privacy import FREE_TEXT

Dimension = Literal["utm_source", "utm_medium", "utm_campaign", "utm_content", "site", "device_type"]
# Text a link could carry about a person: a pattern for a free-text dimension that matches any of it is open-ended.
_FREE_TEXT_PROBES = ("jane-doe-hiv-prep", "jane_doe", "janedoe", "Jane Doe", "jdoe1961", "hiv", "x", "qzv")
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$",
                                   description="a letter, then letters, digits or _ (at most 40)")]
EventName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="an event name")]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$",
                                      description="an environment variable name like SLUICE_META_TOKEN")]
MIN_K = 11
_WINDOWS_A_MONTH = {"day": 31, "hour": 31 * 24}


def _floor(value: float) -> str:
    """`value` rounded down to five decimals: a suggestion that is itself within the cap."""
    return f"{math.floor(value * 10**5) / 10**5:g}"


class Signal(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """An allow-listed conversion event and the generic name it leaves under."""

    event: EventName
    name: Name = "Lead"
    value_property: str = ""
    """A numeric custom property summed as the signal's value; empty: no value."""
    value_cap: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    """One visitor's value in a window is clamped to this."""


class _Destination(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True, tag_field="type"):
    id: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="a destination id")]
    signals: list[Name] = []
    """The signal names sent here; empty: every signal."""
    dimensions: list[Dimension] = msgspec.field(default_factory=lambda: ["utm_source", "utm_campaign"])

    @property
    def kind(self) -> str:
        """The `type` key of its table: meta, ga4, tiktok, webhook or csv."""
        return self.__struct_config__.tag


class MetaDestination(_Destination, tag="meta"):
    """Meta Conversions API: one event per cell, a synthetic external_id, action_source "other"."""

    dataset_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,20}$", description="the dataset (pixel) id")]
    access_token_env: EnvName
    api_version: Annotated[str, msgspec.Meta(pattern=r"^v[0-9]{2}\.[0-9]$")] = "v26.0"
    test_event_code: str = ""


class Ga4Destination(_Destination, tag="ga4"):
    """GA4 Measurement Protocol: one request per cell under a synthetic client_id."""

    measurement_id: Annotated[str, msgspec.Meta(pattern=r"^G-[A-Z0-9]{4,16}$", description="like G-ABC123")]
    api_secret_env: EnvName


class TikTokDestination(_Destination, tag="tiktok"):
    """TikTok Events API 2.0: one event per cell, a synthetic external_id."""

    event_source_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{8,32}$", description="the pixel code")]
    access_token_env: EnvName
    test_event_code: str = ""


class WebhookDestination(_Destination, tag="webhook"):
    """A signed JSON POST of each window's cells."""

    url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s]+$", description="an http(s) URL")]
    secret_env: EnvName


class CsvDestination(_Destination, tag="csv"):
    """Files of date x dimensions x conversions and value, for media-mix models (Meridian, GeoLift)."""

    directory: str = ""
    """Empty: `exports/` in the data dir."""


class GoogleAdsDestination(_Destination, tag="google_ads"):
    def __post_init__(self) -> None:
        raise ValueError(
            "Google Ads imports conversions only per click (gclid/gbraid/wbraid) or with hashed email or phone: "
            "person-level identifiers that Sluice never sends. Use a csv destination for Meridian instead.")


class LinkedInDestination(_Destination, tag="linkedin"):
    def __post_init__(self) -> None:
        raise ValueError(
            "LinkedIn's Conversions API needs a user id on every event (hashed email, li_fat_id or name): "
            "person-level identifiers that Sluice never sends. Use a csv or webhook destination instead.")


Destination = (MetaDestination | Ga4Destination | TikTokDestination | WebhookDestination | CsvDestination
               | GoogleAdsDestination | LinkedInDestination)


class ForwarderSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    enabled: bool = False
    """Run the schedule inside `sluice serve` (embedded mode) or `sluice forwarder`."""
    k: Annotated[int, msgspec.Meta(ge=MIN_K, description=f"at least {MIN_K}")] = MIN_K
    """The fewest distinct visitors a released cell may have."""
    window: Literal["day", "hour"] = "day"
    lateness_minutes: Annotated[int, msgspec.Meta(ge=0, le=2880)] = 120
    """How long after its end a window waits for late events before it is sent."""
    lookback_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 30
    """A conversion goes to the visitor's last non-direct session this many days back at most."""
    backfill_days: Annotated[int, msgspec.Meta(ge=1, le=7)] = 2
    """Closed windows this far back are sent when due; older ones never are."""
    max_conversions_per_visitor: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3
    """One visitor's conversions in a window count at most this many times."""
    epsilon: Annotated[float, msgspec.Meta(ge=0, le=10)] = 1.0
    """Differential privacy budget per signal and window; 0 is exact mode, which needs `allow_exact`."""
    delta: Annotated[float, msgspec.Meta(gt=0, le=1e-4)] = 1e-6
    """The chance per signal and window that a cell of one visitor is released regardless."""
    monthly_epsilon: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 31.0
    """The most one signal's windows of a calendar month may spend: what one visitor can lose in a month through
    that signal (through each signal they convert on)."""
    allow_exact: bool = False
    """Let `epsilon = 0` release true counts: k scripted visitors then reveal whether one patient converted."""
    values: dict[Dimension, list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]]] = {}
    """The exact values a dimension may send; others are grouped as "(other)"."""
    patterns: dict[Dimension, str] = {}
    """Values a dimension may send (a regular expression matching the whole value); others are grouped as "(other)"."""
    schedule_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 15
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 8
    signals: list[Signal] = []
    destinations: list[Destination] = []

    def __post_init__(self) -> None:
        window_hours = 24 if self.window == "day" else 1
        if self.epsilon == 0 and not self.allow_exact:
            raise ValueError("epsilon = 0 sends exact counts: anyone who can send requests can add k - 1 scripted "
                             "visitors to a cell and learn whether one patient converted, and their exact value. "
                             "Give epsilon above 0 (the default is 1), or set allow_exact = true to accept that")
        most = self.epsilon * _WINDOWS_A_MONTH[self.window]
        if most > self.monthly_epsilon:
            raise ValueError(f"a signal's {_WINDOWS_A_MONTH[self.window]} {self.window} windows of a month can spend "
                             f"epsilon {most:g}, over monthly_epsilon ({self.monthly_epsilon:g}): lower epsilon to "
                             f"{_floor(self.monthly_epsilon / _WINDOWS_A_MONTH[self.window])} or raise monthly_epsilon")
        if self.lateness_minutes / 60 + window_hours > self.backfill_days * 24:
            raise ValueError(f"a {self.window} window closes {self.lateness_minutes} minutes after it ends, later than "
                             f"backfill_days ({self.backfill_days}) lets it be sent: lower the lateness or raise the "
                             "backfill")
        for signal in self.signals:
            if signal.value_property and signal.value_cap <= 0:
                raise ValueError(f"signal {signal.name!r} sums {signal.value_property!r}: give it a value_cap above 0")
        for dimension, pattern in self.patterns.items():
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"patterns.{dimension} is not a regular expression: {exc}") from None
            free = next((text for text in _FREE_TEXT_PROBES if compiled.fullmatch(text)), None)
            if dimension in FREE_TEXT and free:
                raise ValueError(f"patterns.{dimension} lets any text through (it matches {free!r}): list the "
                                 f"values in forwarder.values.{dimension}, or write a pattern of their fixed parts "
                                 "such as 'knee-(spring|fall)-20[0-9]{2}'")
        names = [signal.name for signal in self.signals]
        if len(set(names)) != len(names) or len({s.event for s in self.signals}) != len(self.signals):
            raise ValueError("each signal needs its own event and its own name")
        ids = [destination.id for destination in self.destinations]
        if len(set(ids)) != len(ids):
            raise ValueError("destination ids must be unique")
        for destination in self.destinations:
            undeclared = [d for d in destination.dimensions
                          if d in FREE_TEXT and d not in self.values and d not in self.patterns]
            if undeclared:
                raise ValueError(f"destination {destination.id!r} sends {', '.join(undeclared)}: anyone can write "
                                 "those in a link, a patient's name or diagnosis too; declare what may leave in "
                                 f"forwarder.values.{undeclared[0]} (a list) or forwarder.patterns.{undeclared[0]}")
            unknown = set(destination.signals) - set(names)
            if unknown:
                raise ValueError(f"destination {destination.id!r} names signals no [[forwarder.signals]] defines: "
                                 f"{', '.join(sorted(unknown))}")
        for name in names:
            groupings = {d.id: frozenset(d.dimensions) for d in self.destinations if self.sends(d, name)}
            if len(set(groupings.values())) > 1:
                described = "; ".join(f"{i}: {', '.join(sorted(g)) or 'none'}" for i, g in sorted(groupings.items()))
                raise ValueError(f"signal {name!r} is grouped differently by its destinations ({described}): one "
                                 "grouping's totals would reveal cells the other suppresses; give them the same "
                                 "dimensions")

    @staticmethod
    def sends(destination: _Destination, signal: str) -> bool:
        return not destination.signals or signal in destination.signals

    def dimensions(self, signal: str) -> tuple[str, ...]:
        """The one grouping of a signal (the same at every destination), in a fixed order."""
        for destination in self.destinations:
            if self.sends(destination, signal):
                return tuple(sorted(destination.dimensions))
        return ()

    def privacy(self, signal: str) -> Privacy:
        """What the signal's windows spend and what its released cells need."""
        cap = next((s.value_cap for s in self.signals if s.name == signal and s.value_property), 0.0)
        return Privacy(k=self.k, epsilon=self.epsilon, delta=self.delta,
                       max_per_visitor=self.max_conversions_per_visitor, value_cap=cap)

    def version(self) -> str:
        """A content hash: any change to the policy is a new version."""
        return hashlib.sha256(msgspec.json.encode(self, order="sorted")).hexdigest()[:16]
