"""The forwarder service needs no more than its warehouse user's grants: every statement of a run, checked."""

import re

import httpx

from forwarder.runner import Forwarder
from tests.conftest import AUDIT_KEY
from tests.forwarder.conftest import ENV, NOW, YESTERDAY, settings
from warehouse import AuditLog, Warehouse, WarehouseSettings
from warehouse.grants import FORWARDER, SERVE

_READ = re.compile(r"\b(?:FROM|JOIN)\s+(?:`?\w+`?\.)?`?(\w+)`?", re.IGNORECASE)
_WRITTEN = re.compile(r"^INSERT\s+INTO\s+(?:`?\w+`?\.)?`?(\w+)`?", re.IGNORECASE)


class Recording:
    """A warehouse client that notes the privilege and table of every statement, then runs it."""

    def __init__(self, client, tables: set[str]) -> None:
        self._client, self._tables = client, tables
        self.used: set[tuple[str, str]] = set()

    def __getattr__(self, name):
        return getattr(self._client, name)

    def _statement(self, sql: str) -> None:
        sql = sql.strip()
        self.used |= {("SELECT", table) for table in _READ.findall(sql) if table in self._tables}
        if written := _WRITTEN.match(sql):
            self.used.add(("INSERT", written[1]))
        elif sql.split(None, 1)[0].upper() not in ("SELECT", "WITH"):
            self.used.add(("ANY", sql))  # anything but a read or an insert is itself the finding

    def query(self, sql, *args, **kwargs):
        self._statement(sql)
        return self._client.query(sql, *args, **kwargs)

    def command(self, sql, *args, **kwargs):
        self._statement(sql)
        return self._client.command(sql, *args, **kwargs)

    def query_rows_stream(self, sql, *args, **kwargs):
        self._statement(sql)
        return self._client.query_rows_stream(sql, *args, **kwargs)

    def insert(self, table, *args, **kwargs):
        self.used.add(("INSERT", table))
        return self._client.insert(table, *args, **kwargs)

    def raw_insert(self, table, *args, **kwargs):
        self.used.add(("INSERT", table))
        return self._client.raw_insert(table, *args, **kwargs)


def test_a_forwarder_run_uses_only_what_its_warehouse_user_is_granted(clean, platforms, tmp_path):
    tables = {row[0] for row in clean.client.query("SELECT name FROM system.tables WHERE database = currentDatabase()")
              .result_rows}
    recording = Recording(clean.client, tables)
    warehouse = Warehouse(recording, clean.dsn, WarehouseSettings(),
                          AuditLog(recording, AUDIT_KEY, chain="sluice-forwarder"))
    forwarder = Forwarder(warehouse, settings(), tmp_path / "exports", env=ENV, clock=lambda: NOW,
                          http=httpx.Client(transport=httpx.MockTransport(platforms)), instance="sluice-forwarder")
    forwarder.record_policy()
    run = forwarder.run(window=YESTERDAY)
    assert run.outcomes["sent"] and platforms.requests  # a real run: cells prepared, released and sent
    beyond = sorted(f"{privilege} {table}" for privilege, table in recording.used if not FORWARDER.may(privilege, table))
    assert not beyond, f"the forwarder did what its grants refuse: {beyond}"
    assert {table for privilege, table in recording.used if privilege == "SELECT"} >= {"events", "consent"}
    assert all(SERVE.may(privilege, table) for privilege, table in recording.used)  # serve can run it as well
