"""Settings the collector owns: its sites, proxies, cookies, limits and spool."""

from collections.abc import Iterable
from typing import Annotated, Literal

import msgspec

from warehouse.settings import SiteId

Origin = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)$",
        description="an origin (scheme and host only) like https://www.example.org, or *",
    ),
]
Network = Annotated[
    str,
    msgspec.Meta(pattern=r"^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$", description="an IP address or network like 10.0.0.0/8"),
]


class Banner(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """What the optional first-party consent banner (`/consent.js`) says, and the policy version a choice is under."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "Your privacy choices"
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] = (
        "We measure how this website is used with our own analytics, kept on our own servers. With your "
        "permission we also tell advertising platforms how many people our campaigns brought, as totals that "
        "never say who you are.")
    policy_version: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,32}$")] = "1"
    """A new version asks everyone again."""
    policy_url: Annotated[str, msgspec.Meta(pattern=r"^(https?://[^\s]+)?$", description="an http(s) URL")] = ""


class Site(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A website whose pages send events, and the origins allowed to send them (`*` for any)."""

    id: SiteId
    origins: list[Origin]
    consent: Literal["opt-in", "opt-out"] = "opt-in"
    """Without a recorded choice: opt-in assumes no consent, opt-out assumes consent."""
    banner: Banner = Banner()

    def allows(self, origin: str | None) -> bool:
        return "*" in self.origins or origin in self.origins


def opt_out_sites(sites: Iterable[Site]) -> frozenset[str]:
    """The sites whose visitors consent until they refuse; on every other site only a recorded choice counts."""
    return frozenset(site.id for site in sites if site.consent == "opt-out")


class CollectorSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    trusted_proxies: list[Network] = []
    """Proxies whose X-Forwarded-For is believed; from anyone else it is ignored."""
    visitor_cookie_days: Annotated[int, msgspec.Meta(ge=1, le=400)] = 395
    session_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 30
    rate_limit: Annotated[str, msgspec.Meta(pattern=r"^[0-9]+ ?(/|per) ?(second|minute|hour)$",
                                            description="a rate like 100/second or 3000/minute")] = "100/second"
    """Requests per client address to /collect and /consent."""
    spool_max_mb: Annotated[int, msgspec.Meta(ge=1)] = 1024
    """Disk the spool may use while the warehouse is away; beyond it /collect answers 503."""
    batch_max_events: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 50_000
    batch_max_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    csp_hosts_per_hour: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100
    """The most hosts one site's CSP reports may name in an hour, per worker process; violations of other hosts are
    dropped (and counted in `sluice_csp_hosts_dropped_total`) until the next hour."""
