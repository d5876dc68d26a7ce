"""Parsing of warehouse DSNs: embedded chDB or a ClickHouse server over HTTP(S)."""

import re
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, quote, unquote, urlsplit

import msgspec

from warehouse.errors import DsnError

DEFAULT_DATABASE = "sluice"
_DATABASE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_DEFAULT_PORTS = {"http": 8123, "https": 8443}


class Dsn(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed DSN. `path` is set for chDB, `host` and `port` for a server."""

    scheme: str
    database: str
    path: str = ""
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = ""

    @property
    def embedded(self) -> bool:
        return self.scheme == "chdb"

    def redacted(self) -> str:
        """The DSN as text with any password removed, safe for logs and errors."""
        if self.embedded:
            return f"chdb://{self.path}?database={self.database}"
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}/{self.database}"


def embedded_dsn(data_dir: Path) -> str:
    """The default DSN: an embedded warehouse inside the data dir."""
    return f"chdb://{quote(str((data_dir / 'warehouse').resolve()))}"


def parse_dsn(text: str) -> Dsn:
    """Parse `chdb:///abs/path[?database=db]` or `http(s)://[user[:pass]@]host[:port][/db]`."""
    parts = urlsplit(text)
    if parts.scheme == "chdb":
        return _parse_chdb(text, parts.netloc, parts.path, parts.query)
    if parts.scheme in _DEFAULT_PORTS:
        return _parse_server(parts)
    raise DsnError(f"unsupported warehouse DSN scheme {parts.scheme!r}: use chdb:///path or http(s)://host:port/db")


def _parse_chdb(text: str, netloc: str, path: str, query: str) -> Dsn:
    if netloc or not path.startswith("/"):
        raise DsnError(f"embedded DSN {text!r} needs an absolute path, as in chdb:///var/lib/sluice/warehouse")
    options = parse_qs(query)
    unknown = set(options) - {"database"}
    if unknown:
        raise DsnError(f"embedded DSN {text!r}: unknown option(s) {', '.join(sorted(unknown))}")
    database = options.get("database", [DEFAULT_DATABASE])[0]
    return Dsn(scheme="chdb", path=unquote(path), database=_check_database(database, repr(text)))


def _parse_server(parts: SplitResult) -> Dsn:
    # Messages name the host, never the whole DSN: its user part may hold a password.
    if not parts.hostname:
        raise DsnError("server DSN has no host")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise DsnError(f"server DSN for host {parts.hostname!r} has an invalid port") from None
    database = unquote(parts.path.strip("/")) or DEFAULT_DATABASE
    return Dsn(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=_check_database(database, f"for host {parts.hostname!r}"),
    )


def _check_database(name: str, where: str) -> str:
    if not _DATABASE.match(name):
        raise DsnError(f"DSN {where}: database name {name!r} must be letters, digits and underscores")
    return name
