"""Operations on the warehouse that `sluice` commands run through the internal listener.

They are authenticated by the ops token, the secret in the data dir that only the service
account can read, and every call is audited.
"""

import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Protocol

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotAuthorizedException, ServiceUnavailableException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_409_CONFLICT

from api.accounts import Account
from api.audit import act_as, audited, note
from api.auth import SECURED, NewUser, UserChange, apply_change, bearer_token
from api.compliance import forward_status
from api.errors import AccountConflict, BackupRefused, NoSuchAccount, Unavailable
from forwarder.errors import ForwarderBusy, ForwarderError
from forwarder.report import RunReport, run_report
from scanner.scan import ScanResult
from scanner.store import RecordedScan, record
from warehouse import Finding, Warehouse
from warehouse.events import count_events
from warehouse.migrations import applied_versions
from warehouse.migrations import migrate as migrate_schema
from warehouse.outbox import ForwardStatus
from warehouse.reports import refresh_cells
from warehouse.settings import SiteId

ACTOR_HEADER = "sluice-actor"
OPS_ERRORS = [NotAuthorizedException, ServiceUnavailableException]
"""What any operation may answer besides its own errors: no ops token, and a warehouse or audit log that cannot."""


class AppliedMigration(msgspec.Struct, frozen=True):
    version: int
    name: str


class MigrateResult(msgspec.Struct, frozen=True):
    applied: list[AppliedMigration]
    current: int


class DemoSeed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    events: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    days: Annotated[int, msgspec.Meta(ge=1, le=400)] = 90
    site: SiteId = "default"
    seed: int = 0
    only_if_empty: bool = False
    """Seed nothing if the warehouse already holds events (so `up --demo` seeds once)."""
    compute_cells: bool = True
    """Compute the visit reports' cells of the seeded days now; a caller seeding in chunks asks on the last."""


class DemoSeeded(msgspec.Struct, frozen=True):
    inserted: int
    skipped: bool = False


class DemoLoader(Protocol):
    """Generates and stores demo traffic; the composing process supplies it (it enriches like the collector)."""

    def __call__(self, warehouse: Warehouse, events: int, days: int, site: str, seed: int) -> int: ...


class BackupRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    destination: Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern="^/")]
    """An absolute path on the server's machine: a new or empty directory."""


class BackupMade(msgspec.Struct, frozen=True):
    destination: str
    tables: dict[str, int]
    """Row count per table in the backup."""
    files: int
    bytes: int


class BackupMaker(Protocol):
    """Writes a backup of this process's data dir and warehouse to a directory (`sluice.backup`); raises
    `BackupRefused` where it cannot go."""

    def __call__(self, warehouse: Warehouse, destination: Path) -> BackupMade: ...


class ForwardRun(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    destination: str | None = None
    window: datetime | None = None
    """A window's start; none: every window due."""
    dry_run: bool = False


class VerifyResult(msgspec.Struct, frozen=True):
    intact: bool
    checked: int
    findings: list[Finding]
    anchors: int | None
    """How many anchors the chains were checked against; none when this process keeps no anchor file."""


def require_ops_token(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: the request carries the ops token as a bearer credential."""
    expected = connection.app.state.ops_token
    token = bearer_token(connection)
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotAuthorizedException(detail="an ops token is required")
    act_as(connection, _actor(connection))


def _actor(connection: ASGIConnection) -> str:
    return "ops:" + connection.headers.get(ACTOR_HEADER, "unknown")[:64]


class OpsController(Controller):
    path = "/api/ops"
    guards = [require_ops_token]
    security = SECURED
    tags = ["operations"]

    @post("/migrate", sync_to_thread=True, status_code=200, opt=audited("warehouse.migrate"),
          raises=OPS_ERRORS)
    def migrate(self, request: Request, warehouse: NamedDependency[Warehouse]) -> MigrateResult:
        """Apply pending schema migrations."""
        applied = [AppliedMigration(m.version, m.name) for m in migrate_schema(warehouse.client, warehouse.ddl)]
        note(request, resource=warehouse.dsn.redacted(), detail={"applied": [m.version for m in applied]})
        return MigrateResult(applied=applied, current=max(applied_versions(warehouse.client), default=0))

    @post("/demo/seed", sync_to_thread=True, status_code=200, opt=audited("demo.seed"),
          raises=[*OPS_ERRORS, Unavailable])
    def seed_demo(self, request: Request, data: JSONBody[DemoSeed], warehouse: NamedDependency[Warehouse]) -> DemoSeeded:
        """Load generated hospital traffic, enriched like live events; call in chunks to show progress."""
        load = request.app.state.demo
        if load is None:
            raise Unavailable("this process has no demo loader")
        if data.only_if_empty and count_events(warehouse.client):
            note(request, resource=data.site, detail={"events": 0, "skipped": True})
            return DemoSeeded(inserted=0, skipped=True)
        inserted = load(warehouse, data.events, data.days, data.site, data.seed)
        if data.compute_cells:
            refresh_cells(warehouse.client, data.site)  # the demo's past days read fast from the first report
        note(request, resource=data.site, detail={"events": inserted, "days": data.days})
        return DemoSeeded(inserted=inserted)

    @post("/backup", sync_to_thread=True, status_code=201, opt=audited("backup.create"),
          raises=[*OPS_ERRORS, BackupRefused])
    def back_up(self, request: Request, data: JSONBody[BackupRequest], warehouse: NamedDependency[Warehouse]) -> BackupMade:
        """Back up the warehouse, the spool and the keys into a new directory, with a manifest of checksums."""
        make = request.app.state.backup
        if make is None:
            raise BackupRefused("this process keeps no data dir to back up")
        made = make(warehouse, Path(data.destination))
        note(request, resource=made.destination, detail={"files": made.files, "bytes": made.bytes})
        return made

    @get("/users", sync_to_thread=True, opt=audited("users.read"), raises=OPS_ERRORS)
    def list_users(self, request: Request) -> list[Account]:
        users = request.app.state.accounts.list()
        note(request, detail={"rows": len(users)})
        return users

    @post("/users", sync_to_thread=True, opt=audited("users.add"), raises=[*OPS_ERRORS, AccountConflict])
    def add_user(self, request: Request, data: JSONBody[NewUser]) -> Account:
        return request.app.state.accounts.add(data.username, data.role, data.password, _actor(request))

    @patch("/users/{username:str}", sync_to_thread=True, opt=audited("users.change"),
           raises=[*OPS_ERRORS, NoSuchAccount, AccountConflict])
    def change_user(self, request: Request, username: FromPath[str], data: JSONBody[UserChange]) -> Account:
        state = request.app.state
        return apply_change(state.accounts, state.login_sessions, username, data, _actor(request))

    @post("/forward/run", sync_to_thread=True, status_code=200, opt=audited("forward.run"),
          raises=[*OPS_ERRORS, Unavailable])
    def forward_run(self, request: Request, data: JSONBody[ForwardRun]) -> RunReport:
        """Prepare and send due windows (or one), or with `dry_run` show what would go and send nothing."""
        forwarder = request.app.state.forwarder
        if forwarder is None:
            raise Unavailable("no forwarder here: add [[forwarder.signals]] and [[forwarder.destinations]] "
                              "to the config file")
        window = data.window.replace(tzinfo=UTC) if data.window and data.window.tzinfo is None else data.window
        try:
            run = forwarder.run(data.destination, window, data.dry_run)
        except ForwarderBusy as exc:
            raise ClientException(str(exc), status_code=HTTP_409_CONFLICT) from None
        except ForwarderError as exc:
            raise ClientException(str(exc)) from None
        return run_report(forwarder, run, data.dry_run)

    @post("/scans", sync_to_thread=True, status_code=200, opt=audited("scan.submit"),
          raises=OPS_ERRORS)
    def record_scan(self, request: Request, data: JSONBody[ScanResult],
                    warehouse: NamedDependency[Warehouse]) -> RecordedScan:
        """Store a website scan made by `sluice scan`; answers what is new and gone, and the alerts raised."""
        return record(data, request.app.state.scanner, warehouse)

    @get("/forward/status", sync_to_thread=True, opt=audited("forward.status.read"), raises=OPS_ERRORS)
    def forward_status(self, request: Request, warehouse: NamedDependency[Warehouse]) -> ForwardStatus:
        """The outbox by destination, window and state, and this month's privacy budget spent against its cap."""
        return forward_status(request, warehouse)

    @post("/audit/verify", sync_to_thread=True, status_code=200, opt=audited("audit.verify"),
          raises=OPS_ERRORS)
    def verify_audit(self, request: Request, warehouse: NamedDependency[Warehouse]) -> VerifyResult:
        """Re-walk every audit chain, check it against the anchors, and report each thing found wrong."""
        report = warehouse.audit.verify()
        note(request, resource="audit_log", outcome="success" if report.intact else "failure",
             detail={"checked": report.checked, "anchors": report.anchors,
                     "findings": [msgspec.to_builtins(finding) for finding in report.findings[:20]]})
        return VerifyResult(intact=report.intact, checked=report.checked, findings=report.findings,
                            anchors=report.anchors)
