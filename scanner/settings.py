"""What the scanner watches, how far it crawls, which third parties are allowed, and whom it alerts."""

from datetime import date
from typing import Annotated

import msgspec

from warehouse.settings import SiteId

Url = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s]+$", description="an http(s) URL")]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^([A-Za-z_][A-Za-z0-9_]{0,127})?$",
                                      description="an environment variable name like SLUICE_ALERT_SECRET")]
Host = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9.-]{1,253}$", description="a host name like cdn.example.com")]


class Target(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A site to crawl: from these pages and the sitemap.xml of their hosts."""

    site: SiteId
    start_urls: list[Url]


class AllowedVendor(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A third party the organisation allows; it matches its host and subdomains."""

    host: Host
    vendor: str = ""
    baa_signed: date | None = None
    """When a business associate agreement was signed, if one was."""


class ScannerSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    targets: list[Target] = []
    allowed: list[AllowedVendor] = []
    max_pages: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 200
    max_depth: Annotated[int, msgspec.Meta(ge=0, le=10)] = 3
    max_sitemaps: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 10
    """Sitemaps fetched per target: each host's sitemap.xml and those it indexes."""
    max_response_bytes: Annotated[int, msgspec.Meta(ge=1024, le=100 * 2**20)] = 5 * 2**20
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 15.0
    dynamic: bool = False
    """Also load each page in headless Chromium and record every request it makes (tags that tags inject)."""
    schedule_hours: Annotated[int, msgspec.Meta(ge=0, le=24 * 7)] = 24
    """How often `sluice serve` scans (0: never; `sluice scan` any time)."""
    alert_webhook_url: Url | None = None
    alert_secret_env: EnvName = ""
    """The environment variable with the secret that signs alert webhooks; required with a webhook."""
    alert_summary_after: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    """Unknown hosts new on a site in one check past which one summary is sent instead of an alert each."""

    def __post_init__(self) -> None:
        if self.alert_webhook_url and not self.alert_secret_env:
            raise ValueError("alert_webhook_url needs alert_secret_env, the environment variable that holds the "
                             "secret alerts are signed with: without it, anyone who can reach the receiver can "
                             "send it alerts that look like Sluice's")

    def allowance(self, host: str) -> AllowedVendor | None:
        host = host.lower()
        return next((a for a in self.allowed if host == a.host.lower() or host.endswith("." + a.host.lower())), None)
