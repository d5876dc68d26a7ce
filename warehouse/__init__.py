"""The ClickHouse warehouse: client factory, schema and migrations, and the audit log."""

from warehouse.anchors import AnchorError, AnchorFile
from warehouse.audit import AuditEntry, AuditLog, ChainReport, Finding
from warehouse.client import Warehouse, connect, open_warehouse
from warehouse.dsn import Dsn, embedded_dsn, parse_dsn
from warehouse.errors import DsnError, MigrationError, WarehouseError, WarehouseUnavailable
from warehouse.migrations import MIGRATIONS, Migration
from warehouse.settings import WarehouseSettings

__all__ = [
    "MIGRATIONS",
    "AnchorError",
    "AnchorFile",
    "AuditEntry",
    "AuditLog",
    "ChainReport",
    "Dsn",
    "DsnError",
    "Finding",
    "Migration",
    "MigrationError",
    "Warehouse",
    "WarehouseError",
    "WarehouseSettings",
    "WarehouseUnavailable",
    "connect",
    "embedded_dsn",
    "open_warehouse",
    "parse_dsn",
]
