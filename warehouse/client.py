"""Opening the warehouse: one shared client per process, embedded chDB or a ClickHouse server."""

import os
import threading
from collections.abc import Mapping
from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from warehouse import beside
from warehouse.anchors import AnchorFile
from warehouse.audit import MAIN, AuditLog
from warehouse.dsn import Dsn, parse_dsn
from warehouse.errors import WarehouseUnavailable, first_line
from warehouse.migrations import Migration, migrate
from warehouse.schema import Ddl
from warehouse.settings import WarehouseSettings


class Warehouse:
    """An open warehouse: its client, the DDL for its database, and the audit log."""

    def __init__(self, client: Client, dsn: Dsn, settings: WarehouseSettings, audit: AuditLog) -> None:
        self.client = client
        self.dsn = dsn
        self.writing = threading.Lock()
        """Held while the spool writer stores a segment, and while a backup is taken: a backup finds each
        segment either stored or still in the spool, never both."""
        self.ddl = Ddl(
            database=dsn.database,
            cluster=settings.cluster,
            retention_months=settings.retention_months,
            ip_retention_days=settings.ip_retention_days,
        )
        self.audit = audit

    def migrate(self, actor: str) -> list[Migration]:
        """Apply pending migrations and record in the audit log who ran them and what changed."""
        applied = migrate(self.client, self.ddl)
        self.audit.record(actor, "warehouse.migrate", self.dsn.redacted(), detail={"applied": [m.version for m in applied]})
        return applied

    def has_database(self) -> bool:
        return bool(self.client.command(
            "SELECT count() FROM system.databases WHERE name = {db:String}", parameters={"db": self.dsn.database}
        ))

    def ping(self) -> bool:
        try:
            return self.client.command("SELECT 1") == 1
        except ClickHouseError:
            return False

    def open_beside(self, settings: WarehouseSettings) -> None:
        """Open a second client on the warehouse, for reports to make their checks on while they run."""
        other = connect(settings)
        other.database = self.client.database
        beside.attach(self.client, other)

    def close(self) -> None:
        other = beside.detach(self.client)
        try:
            self.audit.close()
        finally:
            try:
                if other is not None:
                    other.close()
            finally:
                self.client.close()


def open_warehouse(settings: WarehouseSettings, *, audit_key: bytes, migrate_as: str | None = None,
                   audit_chain: str = MAIN, anchors: Path | None = None) -> Warehouse:
    """Connect to the configured warehouse; with `migrate_as`, bring its schema up to date as that actor.

    Without it the database must exist already, except for a caller about to migrate (`Warehouse.migrate`).
    Audit entries are signed with `audit_key`; a service that runs beside `sluice serve` writes them on a
    chain of its own (`audit_chain`). With `anchors`, the chain's head is anchored in that file now, at
    close, and whenever `warehouse.audit.anchor()` is called.
    """
    client = connect(settings)
    audit = AuditLog(client, audit_key, audit_chain, AnchorFile(anchors, audit_key) if anchors else None)
    warehouse = Warehouse(client, parse_dsn(settings.dsn), settings, audit)
    if migrate_as:
        warehouse.migrate(migrate_as)
    elif warehouse.has_database():
        warehouse.client.database = warehouse.dsn.database
    if warehouse.has_database():
        audit.anchor()
        try:
            warehouse.open_beside(settings)
        except ClickHouseError:
            warehouse.close()
            raise
    return warehouse


def connect(settings: WarehouseSettings) -> Client:
    """A client for the DSN in `settings`, with the password taken from the named environment variable."""
    dsn = parse_dsn(settings.dsn)
    try:
        if dsn.embedded:
            return clickhouse_connect.get_client(interface="chdb", path=dsn.path, tz_mode="aware",
                                                 chdb_options={"config-file": str(_engine_config(Path(dsn.path)))})
        return clickhouse_connect.get_client(
            interface=dsn.scheme,
            host=dsn.host,
            port=dsn.port,
            username=username(settings),
            password=_password(settings),
            tz_mode="aware",
            autogenerate_session_id=False,
        )
    except ClickHouseError as exc:
        raise WarehouseUnavailable(f"cannot open the warehouse at {dsn.redacted()}: {_reason(exc)}") from exc


def _engine_config(path: Path) -> Path:
    """The embedded engine's settings, beside its data: BACKUP and RESTORE may use any directory the service
    account can write (the engine refuses them without a setting)."""
    config = path.with_name(f"{path.name}.xml")
    if not config.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("<clickhouse><backups><allowed_path>/</allowed_path></backups></clickhouse>\n")
    return config


def username(settings: WarehouseSettings, env: Mapping[str, str] = os.environ) -> str:
    """The server user: the one `user_env` names where it is set, else the DSN's, else ClickHouse's default."""
    return (env.get(settings.user_env) if settings.user_env else "") or parse_dsn(settings.dsn).username or "default"


def _password(settings: WarehouseSettings) -> str:
    if not settings.password_env:
        return ""
    try:
        return os.environ[settings.password_env]
    except KeyError:
        raise WarehouseUnavailable(
            f"environment variable {settings.password_env} (warehouse.password_env) is not set"
        ) from None


def _reason(exc: Exception) -> str:
    # chDB explains a held data dir in its last sentence; servers put the cause first.
    return "another process has it open" if "Cannot lock file" in str(exc) else first_line(exc)
