"""The one configuration file: loading, validation with every problem reported, and defaults.

Secrets never live in the file; it names the environment variables that hold them.
"""

import difflib
import os
import re
import socket
import tomllib
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from api.directory import LoginSettings
from collector.settings import CollectorSettings, Site
from forwarder.settings import ForwarderSettings
from mail import MailSettings
from scanner.settings import ScannerSettings
from sluice.backup import BackupSettings
from sluice.deadlines import Limits
from sluice.errors import SluiceError
from sluice.tls import TlsSettings
from warehouse import WarehouseSettings
from warehouse.settings import AuditSettings

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


class ServerSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The two listeners of `sluice serve`."""

    host: str = "0.0.0.0"
    public_port: Port = 8400
    internal_host: str = "127.0.0.1"
    internal_port: Port = 8401
    public_workers: Annotated[int, msgspec.Meta(ge=0, le=64)] = 2
    """Processes serving the public listener; 0 serves it in the main process."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    instance: Annotated[str, msgspec.Meta(pattern=r"^([a-z0-9][a-z0-9-]{0,47})?$",
                                          description="lowercase letters, digits and - (at most 48)")] = ""
    """This instance's name among several on one warehouse (its audit chain, its leases); empty: the host's name."""
    limits: Limits = Limits()
    """Deadlines and a cap for every listening process."""
    tls: TlsSettings = TlsSettings()
    """HTTPS for both listeners and the dashboard."""

    @property
    def instance_id(self) -> str:
        return self.instance or _host_name()


def _host_name() -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().split(".")[0].lower()).strip("-")[:48]
    return name or "sluice"


def _default_sites() -> list[Site]:
    return [Site(id="default", origins=["*"])]


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    warehouse: WarehouseSettings = WarehouseSettings()
    audit: AuditSettings = AuditSettings()
    server: ServerSettings = ServerSettings()
    collector: CollectorSettings = CollectorSettings()
    forwarder: ForwarderSettings = ForwarderSettings()
    scanner: ScannerSettings = ScannerSettings()
    mail: MailSettings = MailSettings()
    backup: BackupSettings = BackupSettings()
    login: LoginSettings = LoginSettings()
    sites: list[Site] = msgspec.field(default_factory=_default_sites)

    def __post_init__(self) -> None:
        ids = [site.id for site in self.sites]
        duplicates = sorted({site_id for site_id in ids if ids.count(site_id) > 1})
        if duplicates:
            raise ValueError(f"site ids must be unique; repeated: {', '.join(duplicates)}")


class Problem(msgspec.Struct, frozen=True):
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(SluiceError):
    """A configuration file that cannot be used; lists every problem found."""

    def __init__(self, source: Path, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))


def find_config(explicit: Path | None) -> Path | None:
    """The file named by `--config`, else by `SLUICE_CONFIG`, else none (all defaults)."""
    if explicit is not None:
        return explicit
    env = os.environ.get("SLUICE_CONFIG")
    return Path(env) if env else None


def load_config(path: Path | None) -> Config:
    """Read and validate `path`; no path means every default."""
    if path is None:
        return Config()
    raw = _read_toml(path)
    problems = check(raw)
    if problems:
        raise ConfigError(path, problems)
    return msgspec.convert(raw, Config)


def check(raw: dict[str, Any]) -> list[Problem]:
    """Every problem in a parsed config, each with its key path and what was expected."""
    return _problems(raw, Config, "")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, [Problem("", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [Problem("", f"cannot read the file: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [Problem("", f"not valid TOML: {exc}")]) from None


def _problems(value: Any, typ: Any, path: str) -> list[Problem]:
    if isinstance(typ, type) and issubclass(typ, msgspec.Struct) and isinstance(value, dict):
        return _struct_problems(value, typ, path)
    if get_origin(typ) in (Union, UnionType) and isinstance(value, dict) and (chosen := _tagged(typ, value)):
        return _struct_problems(value, chosen, path)
    if get_origin(typ) is list and isinstance(value, list):
        (item,) = get_args(typ)
        found = [p for i, element in enumerate(value) for p in _problems(element, item, f"{path}[{i}]")]
        return found or _convert_problems(value, typ, path)
    return _convert_problems(value, typ, path)


def _tagged(union: Any, value: dict[str, Any]) -> type[msgspec.Struct] | None:
    """The member of a tagged union of structs that `value` names by its tag, if any."""
    members = [t for t in get_args(union) if isinstance(t, type) and issubclass(t, msgspec.Struct)]
    return next((t for t in members if t.__struct_config__.tag is not None
                 and value.get(t.__struct_config__.tag_field) == t.__struct_config__.tag), None)


def _struct_problems(value: dict[str, Any], struct: type[msgspec.Struct], path: str) -> list[Problem]:
    fields = {field.encode_name: field for field in msgspec.structs.fields(struct)}
    tag = struct.__struct_config__.tag_field
    found = [_unknown_key(key, fields, path) for key in value if key not in fields and key != tag]
    valid = {}
    for name, field in fields.items():
        if name in value:
            problems = _problems(value[name], field.type, _join(path, name))
            found += problems
            if not problems:
                valid[name] = value[name]
        elif field.required:
            found.append(Problem(path, f"missing required key {name!r}"))
    # Checks across keys run on the valid keys too, so one pass reports them alongside the rest.
    required = {name for name, field in fields.items() if field.required}
    return found + (_convert_problems(valid, struct, path) if required <= valid.keys() else [])


def _convert_problems(value: Any, typ: Any, path: str) -> list[Problem]:
    try:
        msgspec.convert(value, typ)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `$")
        description = _description(typ)
        if description and not where:
            message = f"expected {description}, got {value!r}"
        return [Problem(path + where.rstrip("`"), _friendly(message))]
    return []


def _description(typ: Any) -> str:
    """What a constrained type accepts, in words: its `msgspec.Meta` description or its literal values."""
    if get_origin(typ) is Literal:
        return "one of " + ", ".join(map(str, get_args(typ)))
    if get_origin(typ) is not Annotated:
        return ""
    return next((m.description for m in get_args(typ)[1:] if isinstance(m, msgspec.Meta) and m.description), "")


def _unknown_key(key: str, fields: dict[str, Any], path: str) -> Problem:
    close = difflib.get_close_matches(key, fields, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(fields)}"
    return Problem(_join(path, key), f"unknown key{hint}")


def _friendly(message: str) -> str:
    return message.replace("Expected", "expected", 1).replace("`", "")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
