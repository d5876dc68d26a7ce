"""The internal API as a Litestar app: for the dashboard, the CLI and monitoring."""

import logging
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from clickhouse_connect.driver.exceptions import ClickHouseError
from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from api.accounts import Accounts
from api.audit import AuditHook
from api.auth import SessionController, UsersController
from api.compliance import ComplianceController, DimensionValuesController, OutboxController, TrackersController
from api.errors import ApiError
from api.explore import ExploreController
from api.health import internal_health
from api.logins import AddressLimit, LoginSessions, Throttle
from api.metrics import MetricsController, request_metrics
from api.ops import DemoLoader, OpsController
from api.reports import ReportsController
from forwarder.runner import Forwarder
from scanner.settings import ScannerSettings
from warehouse import Warehouse, WarehouseError
from warehouse.errors import first_line

log = logging.getLogger("sluice.api")


def internal_app(
    warehouse: Warehouse, ops_token: str, sites: Sequence[str] = (), *, hasher: PasswordHasher | None = None,
    forwarder: Forwarder | None = None, scanner: ScannerSettings = ScannerSettings(), demo: DemoLoader | None = None,
    dashboard_key: bytes = b"",
) -> Litestar:
    """The internal API over `warehouse`; `forwarder` and `demo` only where this process has them.

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
        "demo": demo,
        "dashboard_key": dashboard_key,
    }
    return Litestar(
        route_handlers=[internal_health, MetricsController, OpsController, SessionController, UsersController,
                        ReportsController, ExploreController, ComplianceController, OutboxController,
                        TrackersController, DimensionValuesController],
        dependencies={"warehouse": Provide(lambda: warehouse, sync_to_thread=False)},
        state=State(state),
        middleware=[request_metrics("internal").middleware, AuditHook()],
        exception_handlers={WarehouseError: _warehouse_failed, ClickHouseError: _warehouse_failed, ApiError: _refused},
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="Sluice internal API", version="1", path="/api/schema", render_plugins=[JsonRenderPlugin()]
        ),
    )


def _warehouse_failed(request: Request, exc: Exception) -> Response:
    """Operators (the ops token) get the warehouse's reason; other users a reference to the logged one."""
    reason, reference = first_line(exc), secrets.token_hex(4)
    log.error("warehouse failure", extra={"path": request.url.path, "error": reason, "reference": reference})
    shown = reason if request.url.path.startswith("/api/ops/") else f"see the server log, reference {reference}"
    return Response({"status_code": 503, "detail": f"warehouse failure: {shown}"}, status_code=503)


def _refused(request: Request, exc: ApiError) -> Response:
    return Response({"status_code": 400, "detail": str(exc)}, status_code=400)
