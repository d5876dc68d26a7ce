"""The internal API as a Litestar app: for the dashboard, the CLI and monitoring."""

import logging
import secrets
from collections.abc import Iterable, Iterator, Sequence

import msgspec
from argon2 import PasswordHasher
from clickhouse_connect.driver.exceptions import ClickHouseError
from litestar import Litestar, MediaType, Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from api.accounts import Accounts
from api.annotations import AnnotationsController
from api.audit import AuditHook
from api.auth import BEARER, SessionController, UsersController
from api.compliance import ComplianceController, DimensionValuesController, OutboxController, TrackersController
from api.errors import ErrorBody
from api.explore import ExploreController
from api.goals import GoalsController
from api.health import internal_health
from api.logins import AddressLimit, LoginSessions, Throttle
from api.metrics import MetricsController, request_metrics
from api.directory import Directory, LoginSettings
from api.openid import IdentityProvider
from api.ops import BackupMaker, DemoLoader, OpsController
from api.reports import ReportsController
from api.views import ViewsController
from forwarder.runner import Forwarder
from mail import MailSettings
from scanner.settings import ScannerSettings
from warehouse import Warehouse, WarehouseError
from warehouse.errors import first_line

log = logging.getLogger("sluice.api")


def internal_app(
    warehouse: Warehouse, ops_token: str, sites: Sequence[str] = (), *, hasher: PasswordHasher | None = None,
    forwarder: Forwarder | None = None, scanner: ScannerSettings = ScannerSettings(), mail: MailSettings = MailSettings(),
    demo: DemoLoader | None = None,
    dashboard_key: bytes = b"",
    backup: BackupMaker | None = None,
    login: LoginSettings = LoginSettings(),
) -> Litestar:
    """The internal API over `warehouse`; `forwarder`, `demo` and `backup` only where this process has them.

    A login that shows `dashboard_key` may name the browser's address; without one, no forwarded address counts.
    """
    state = {
        "warehouse": warehouse,
        "ops_token": ops_token,
        "sites": list(sites),
        "accounts": Accounts(warehouse, hasher),
        "login_sessions": LoginSessions(),
        "throttle": Throttle(),
        "login_limiter": AddressLimit(),
        "pseudonym_key": secrets.token_bytes(32),
        "forwarder": forwarder,
        "scanner": scanner,
        "mail": mail,
        "demo": demo,
        "dashboard_key": dashboard_key,
        "backup": backup,
        "login": login,
        "directory": Directory(login.ldap) if login.ldap else None,
        "identity_provider": IdentityProvider(login.oidc) if login.oidc else None,
    }
    app = Litestar(
        route_handlers=[internal_health, MetricsController, OpsController, SessionController, UsersController,
                        ReportsController, ExploreController, ComplianceController, OutboxController,
                        TrackersController, DimensionValuesController, AnnotationsController, GoalsController, ViewsController],
        dependencies={"warehouse": Provide(lambda: warehouse, sync_to_thread=False)},
        state=State(state),
        middleware=[request_metrics("internal").middleware, AuditHook()],
        exception_handlers={WarehouseError: _warehouse_failed, ClickHouseError: _warehouse_failed,
                            HTTPException: _refused},
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="Sluice internal API", version="1", path="/api/schema", render_plugins=[JsonRenderPlugin()],
            components=Components(security_schemes={BEARER: SecurityScheme(
                type="http", scheme="bearer",
                description="a login session's token (POST /api/session), or the ops token for /api/ops")}),
        ),
    )
    _document_strict_bodies(app)
    return app


def _warehouse_failed(request: Request, exc: Exception) -> Response:
    """Operators (the ops token) get the warehouse's reason; other users a reference to the logged one."""
    reason, reference = first_line(exc), secrets.token_hex(4)
    log.error("warehouse failure", extra={"path": request.url.path, "error": reason, "reference": reference})
    shown = reason if request.url.path.startswith("/api/ops/") else f"see the server log, reference {reference}"
    return Response({"status_code": 503, "detail": f"warehouse failure: {shown}"}, status_code=503)


def _refused(request: Request, exc: HTTPException) -> Response:
    """Every refusal answers JSON, whatever the route's own media type (a CSV export's too)."""
    body = ErrorBody(status_code=exc.status_code, detail=exc.detail, extra=exc.extra or None)
    return Response(body, status_code=exc.status_code, headers=exc.headers, media_type=MediaType.JSON)


def _document_strict_bodies(app: Litestar) -> None:
    """Request bodies that refuse unknown fields say so: Litestar's document leaves their objects open."""
    schemas = app.openapi_schema.components.schemas or {}
    bodies = [handler.parsed_fn_signature.parameters["data"].annotation for route in app.routes
              for handler in route.route_handlers if "data" in handler.parsed_fn_signature.parameters]
    for struct in _structs(msgspec.inspect.multi_type_info(bodies)):
        if struct.forbid_unknown_fields and struct.cls.__name__ in schemas:
            schemas[struct.cls.__name__].additional_properties = False


def _structs(types: Iterable[msgspec.inspect.Type]) -> Iterator[msgspec.inspect.StructType]:
    for info in types:
        if isinstance(info, msgspec.inspect.StructType):
            yield info
            yield from _structs(field.type for field in info.fields)
        elif isinstance(info, (msgspec.inspect.ListType, msgspec.inspect.SetType, msgspec.inspect.FrozenSetType)):
            yield from _structs([info.item_type])
        elif isinstance(info, msgspec.inspect.UnionType):
            yield from _structs(info.types)
