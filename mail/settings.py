"""The organisation's mail relay, and who may receive Sluice's reports."""

from typing import Annotated, Literal

import msgspec

from warehouse.views import Address

Host = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9.-]{1,253}$", description="a host name like smtp.example.org")]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]


_ON_THIS_HOST = ("127.0.0.1", "::1", "localhost")


class MailSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    relay: Host | None = None
    """The relay's host; without one, no report is emailed."""
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    """`starttls` upgrades the connection (port 587), `tls` starts with it (465), `none` is for a relay on the box."""
    ca_file: str = ""
    """A CA bundle to check the relay's certificate with (an internal CA); default: the system's."""
    sender: Address | None = None
    username_env: EnvName = "SLUICE_SMTP_USERNAME"
    password_env: EnvName = "SLUICE_SMTP_PASSWORD"
    """The environment variables with the relay's login; where unset, the relay is used without one."""
    internal_domains: list[Host] = []
    """Reports go only to addresses at these domains (and their subdomains): the organisation's own."""
    send_hour: Annotated[int, msgspec.Meta(ge=0, le=23)] = 7
    """The hour (UTC) reports are sent: weekly ones on Mondays, monthly ones on the 1st."""
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 30.0

    def __post_init__(self) -> None:
        if self.relay and not (self.sender and self.internal_domains):
            raise ValueError("a relay needs a sender and internal_domains: reports go to the organisation's own "
                             "addresses only, and the domains say which those are")
        if self.relay and self.security == "none" and self.relay not in _ON_THIS_HOST:
            raise ValueError("security = \"none\" sends the login and the reports in the clear: only for a relay "
                             "on this host (127.0.0.1, ::1 or localhost); use starttls or tls")

    def internal(self, address: str) -> bool:
        """Whether `address` is at one of the organisation's domains."""
        domain = address.rpartition("@")[2].lower()
        return any(domain == d.lower() or domain.endswith("." + d.lower()) for d in self.internal_domains)
