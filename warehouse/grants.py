"""The ClickHouse users of a server deployment, each with the least it needs, as SQL for the warehouse's admin.

`sluice serve` migrates, collects and reports, so it may change the schema, but not alter, empty or drop
the audit log. The forwarder service, the one with a way out, reads what it aggregates and appends to
the outbox, its leases and its audit chain: it alters and deletes nothing.
"""

from collections.abc import Mapping

import msgspec

AUDIT_LOG = "audit_log"


class Grant(msgspec.Struct, frozen=True):
    privileges: tuple[str, ...]
    table: str = "*"
    """A table of the database, or every table (`*`)."""


class ServiceUser(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    purpose: str
    grants: tuple[Grant, ...]
    revokes: tuple[Grant, ...] = ()
    """Taken back from what `grants` gives (ClickHouse's partial revokes)."""

    def may(self, privilege: str, table: str) -> bool:
        """Whether this user holds `privilege` on `table` of the database (`ALTER` holds every `ALTER ...`)."""
        def covers(grant: Grant) -> bool:
            held = any(p == privilege or (p == "ALTER" and privilege.startswith("ALTER ")) for p in grant.privileges)
            return held and grant.table in ("*", table)

        return any(map(covers, self.grants)) and not any(map(covers, self.revokes))


# What could change or remove audit rows; migrations may still add a column or change a setting of the table.
_NEVER_ON_AUDIT = ("ALTER UPDATE", "ALTER DELETE", "ALTER DROP COLUMN", "ALTER CLEAR COLUMN", "ALTER MODIFY COLUMN",
                   "ALTER RENAME COLUMN", "ALTER TTL", "ALTER MATERIALIZE TTL", "ALTER MOVE PARTITION",
                   "ALTER FETCH PARTITION", "TRUNCATE", "DROP TABLE", "OPTIMIZE")

SERVE = ServiceUser(
    name="sluice",
    purpose="sluice serve: migrates the schema at start, stores events, answers reports and keeps the audit log",
    grants=(Grant(("SELECT", "INSERT", "CREATE DATABASE", "CREATE TABLE", "CREATE VIEW", "DROP TABLE", "DROP VIEW", "ALTER",
                   "ALTER UPDATE", "ALTER DELETE", "TRUNCATE", "OPTIMIZE")),),
    revokes=(Grant(_NEVER_ON_AUDIT, AUDIT_LOG),),
)
FORWARDER = ServiceUser(
    name="sluice_forwarder",
    purpose="sluice forwarder: reads the conversions it aggregates, appends to the outbox and its audit chain",
    grants=(
        *(Grant(("SELECT",), table) for table in ("events", "visits", "consent", "schema_migrations")),
        *(Grant(("SELECT", "INSERT"), table) for table in ("outbox", "leases", AUDIT_LOG)),
    ),
)
USERS = (SERVE, FORWARDER)


def grant_sql(database: str, users: tuple[ServiceUser, ...] = USERS, *, cluster: str = "",
              passwords: Mapping[str, str] | None = None) -> str:
    """`CREATE USER`, `GRANT` and `REVOKE` statements for each service user (on a cluster, for the `_local`
    tables behind the Distributed ones too); `passwords` by user name, else a placeholder the admin replaces."""
    on_cluster = f' ON CLUSTER "{cluster}"' if cluster else ""
    lines = []
    for user in users:
        password = (passwords or {}).get(user.name, f"<password of {user.name}>")
        lines += [f"-- {user.purpose}",
                  f"CREATE USER IF NOT EXISTS {user.name}{on_cluster} IDENTIFIED WITH sha256_password BY '{password}';"]
        for verb, grants, to in (("GRANT", user.grants, "TO"), ("REVOKE", user.revokes, "FROM")):
            lines += [f'{verb}{on_cluster} {", ".join(g.privileges)} ON "{database}".{table} {to} {user.name};'
                      for g in grants for table in _tables(g, cluster)]
        lines.append("")
    return "\n".join(lines)


def _tables(grant: Grant, cluster: str) -> list[str]:
    if grant.table == "*":
        return ["*"]
    return [f'"{grant.table}"', f'"{grant.table}_local"'] if cluster else [f'"{grant.table}"']
