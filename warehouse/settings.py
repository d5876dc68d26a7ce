"""Settings the warehouse owns, built by the composition root from the config file."""

from typing import Annotated

import msgspec

from warehouse.dsn import parse_dsn

SiteId = Annotated[
    str,
    msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="lowercase letters, digits, - and _ (at most 64)"),
]
"""A site's id, as events, reports and the scanner name it."""
_Identifier = Annotated[
    str,
    msgspec.Meta(pattern=r"^([A-Za-z_][A-Za-z0-9_]{0,63})?$", description="a name of letters, digits and _"),
]
_EnvName = Annotated[
    str,
    msgspec.Meta(pattern=r"^([A-Z_][A-Z0-9_]{0,127})?$", description="an environment variable name like SLUICE_PASSWORD"),
]


class WarehouseSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Where the warehouse is and how long it keeps data."""

    dsn: str = ""
    """`chdb:///path` (embedded) or `http(s)://user@host:port/db`; empty means embedded in the data dir."""
    password_env: _EnvName = ""
    """Name of the environment variable that holds the server password."""
    user_env: _EnvName = ""
    """Name of an environment variable that, where set, names the user instead of the DSN: services that share
    one config file then connect as users of their own (see `warehouse.grants`)."""
    cluster: _Identifier = ""
    """A ClickHouse cluster name; switches DDL to ON CLUSTER with replicated tables."""
    retention_months: Annotated[int, msgspec.Meta(ge=1, le=120)] = 25
    ip_retention_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 30
    """Days after which an event's client IP is cleared (0 clears it at the first merge)."""

    def __post_init__(self) -> None:
        if self.dsn:
            if parse_dsn(self.dsn).password:
                raise ValueError("dsn must not contain a password: name an environment variable in password_env")


class SyslogSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A syslog receiver (the SIEM's collector) that takes RFC 5424 over TCP."""

    host: Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 514
    tls: bool = False
    """TLS 1.2 or newer, the receiver's certificate checked against `ca_file` (else the system's CAs)."""
    ca_file: str = ""
    app_name: Annotated[str, msgspec.Meta(pattern=r"^[!-~]{1,48}$")] = "sluice"


class AuditSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Where the audit chains' heads are anchored, how often, and where the entries stream."""

    anchors: str = ""
    """Path of the append-only anchor file; empty: audit-anchors.jsonl in the data dir."""
    anchor_minutes: Annotated[int, msgspec.Meta(ge=1, le=60)] = 5
    syslog: SyslogSettings | None = None
    jsonl: str = ""
    """A file every audit entry is appended to as a JSON line (for a SIEM agent to ship)."""
    stream_seconds: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 10.0
