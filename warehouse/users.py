"""User accounts, kept append-only: every change is a new row, the latest row per user is in force."""

from datetime import datetime

import msgspec
from clickhouse_connect.driver.client import Client


class UserRecord(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    role: str
    password_hash: str
    disabled: bool
    changed_at: datetime
    changed_by: str


_COLUMNS = list(UserRecord.__struct_fields__)
_CURRENT = (
    "SELECT username, argMax(role, changed_at), argMax(password_hash, changed_at), argMax(disabled, changed_at),"
    " max(changed_at), argMax(changed_by, changed_at) FROM users"
)


def current_users(client: Client) -> list[UserRecord]:
    rows = client.query(f"{_CURRENT} GROUP BY username ORDER BY username").result_rows
    return [UserRecord(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]


def find_user(client: Client, username: str) -> UserRecord | None:
    rows = client.query(f"{_CURRENT} WHERE username = {{name:String}} GROUP BY username",
                        parameters={"name": username}).result_rows
    return UserRecord(**dict(zip(_COLUMNS, rows[0], strict=True))) if rows else None


def append_user(client: Client, record: UserRecord) -> None:
    client.insert("users", [[getattr(record, c) for c in _COLUMNS]], column_names=_COLUMNS)
