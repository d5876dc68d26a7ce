"""Operations on the warehouse that `sluice` commands run through the internal listener.

They are authenticated by the ops token, the secret in the data dir that only the service
account can read, and every call is audited.
"""

import hmac

import msgspec
from litestar import Controller, Request, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler

from warehouse import BrokenLink, Warehouse
from warehouse.migrations import applied_versions

ACTOR_HEADER = "sluice-actor"


class AppliedMigration(msgspec.Struct, frozen=True):
    version: int
    name: str


class MigrateResult(msgspec.Struct, frozen=True):
    applied: list[AppliedMigration]
    current: int


class VerifyResult(msgspec.Struct, frozen=True):
    intact: bool
    checked: int
    broken: BrokenLink | None = None


def require_ops_token(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: the request carries the ops token as a bearer credential."""
    expected = connection.app.state.ops_token
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotAuthorizedException(detail="an ops token is required")


def _actor(request: Request) -> str:
    return "ops:" + request.headers.get(ACTOR_HEADER, "unknown")[:64]


class OpsController(Controller):
    path = "/api/ops"
    guards = [require_ops_token]
    tags = ["operations"]

    @post("/migrate", sync_to_thread=True, status_code=200)
    def migrate(self, request: Request, warehouse: NamedDependency[Warehouse]) -> MigrateResult:
        """Apply pending schema migrations."""
        applied = [AppliedMigration(m.version, m.name) for m in warehouse.migrate(_actor(request))]
        return MigrateResult(applied=applied, current=max(applied_versions(warehouse.client), default=0))

    @post("/audit/verify", sync_to_thread=True, status_code=200)
    def verify_audit(self, request: Request, warehouse: NamedDependency[Warehouse]) -> VerifyResult:
        """Re-walk the audit chain and report its first broken link."""
        report = warehouse.audit.verify()
        broken = report.broken
        warehouse.audit.record(
            _actor(request),
            "audit.verify",
            "audit_log",
            outcome="success" if report.intact else "failure",
            detail={"checked": report.checked, "broken_seq": broken.seq if broken else None},
        )
        return VerifyResult(intact=report.intact, checked=report.checked, broken=broken)
