"""Every internal route's audit entry, written by one hook from the action the route declares.

A route says `opt=audited("report.read")` (or `not_audited(reason)`); its guard names the actor and the
handler may add details with `note`. The hook writes the entry as the response starts, and if it cannot,
the response is withheld and a 503 sent instead: nothing is answered that the audit log does not hold.
"""

import logging
import secrets
from typing import Any

import anyio.to_thread
import msgspec
from clickhouse_connect.driver.exceptions import ClickHouseError
from litestar.connection import ASGIConnection
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from warehouse import Warehouse, WarehouseError
from warehouse.audit import Outcome
from warehouse.errors import first_line

log = logging.getLogger("sluice.api")

_OPT = "audit"
_ACTOR = "audit_actor"
_NOTE = "audit_note"


class Unaudited(msgspec.Struct, frozen=True):
    """A route that writes no entry, and why."""

    reason: str


def audited(action: str) -> dict[str, Any]:
    """Route options: each call is recorded under `action`."""
    return {_OPT: action}


def not_audited(reason: str) -> dict[str, Any]:
    return {_OPT: Unaudited(reason)}


def declared_action(opt: dict[str, Any]) -> str | Unaudited | None:
    """What a route's options declare: its action, why it writes none, or nothing (a route left undeclared)."""
    return opt.get(_OPT)


def act_as(connection: ASGIConnection, actor: str) -> None:
    """Name who makes this request; guards call it once they know."""
    connection.state[_ACTOR] = actor


def note(connection: ASGIConnection, *, detail: dict[str, Any] | None = None, actor: str | None = None,
         action: str | None = None, resource: str | None = None, outcome: Outcome | None = None) -> None:
    """Add to or override what the entry for this request says."""
    current = connection.state.get(_NOTE, {})
    given = {"actor": actor, "action": action, "resource": resource, "outcome": outcome}
    current |= {key: value for key, value in given.items() if value is not None}
    current["detail"] = current.get("detail", {}) | (detail or {})
    connection.state[_NOTE] = current


class AuditHook(ASGIMiddleware):
    """Writes each audited route's entry before its response leaves, or withholds the response."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        action = declared_action(scope["route_handler"].opt)
        if not isinstance(action, str):
            await next_app(scope, receive, send)
            return
        withheld = False

        async def send_recorded(message: Message) -> None:
            nonlocal withheld
            if message["type"] == "http.response.start":
                try:
                    await anyio.to_thread.run_sync(_record, scope, action, message["status"])
                except (WarehouseError, ClickHouseError, OSError) as exc:
                    withheld = True
                    await _withhold(send, scope, exc)
                    return
            if not withheld:
                await send(message)

        await next_app(scope, receive, send_recorded)


def _record(scope: Scope, action: str, status: int) -> None:
    state = scope.get("state", {})
    entry = state.get(_NOTE, {})
    actor = entry.get("actor") or state.get(_ACTOR)
    if not actor:
        return  # refused before anyone was named (401): there is nobody to record, and no data left
    detail = entry.get("detail", {}) | ({"status": status} if status >= 400 else {})
    warehouse: Warehouse = scope["litestar_app"].state.warehouse
    warehouse.audit.record(actor, entry.get("action", action), entry.get("resource", scope["path"]),
                           outcome=entry.get("outcome", _outcome(status)), detail=detail)


def _outcome(status: int) -> Outcome:
    if status < 400:
        return "success"
    return "denied" if status in (401, 403, 429) else "failure"


async def _withhold(send: Send, scope: Scope, exc: Exception) -> None:
    reference = secrets.token_hex(4)
    log.error("audit entry not written; response withheld",
              extra={"path": scope["path"], "error": first_line(exc), "reference": reference})
    body = msgspec.json.encode({"status_code": 503, "detail": f"the audit log cannot be written, so the answer is "
                                                              f"withheld: see the server log, reference {reference}"})
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
