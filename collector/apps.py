"""The two Litestar apps: the public listener browsers reach, and the internal one."""

import logging
import secrets
from collections.abc import Sequence

from clickhouse_connect.driver.exceptions import ClickHouseError
from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from argon2 import PasswordHasher

from collector.accounts import AccountError, Accounts
from collector.auth import SessionController, UsersController
from collector.collect import (
    MAX_BODY_BYTES, Collector, collect_endpoint, csp_report, preflight, read_consent, record_consent,
)
from collector.health import internal_health, public_health
from collector.metrics import MetricsController, request_metrics
from collector.logins import Sessions, Throttle
from collector.hooks import Hooks
from collector.ops import OpsController
from collector.ratelimit import Rate, RateLimiter
from collector.compliance import ComplianceController, OutboxController, TrackersController
from collector.explore import ExploreController
from collector.reports import ReportsController
from collector.settings import CollectorSettings, Site
from collector.snippet import snippet
from collector.spool import Spools
from warehouse import Warehouse, WarehouseError
from warehouse.errors import first_line

log = logging.getLogger("sluice.api")


def public_app(settings: CollectorSettings, sites: list[Site], spools: Spools) -> Litestar:
    """Only what browsers need is routable here."""
    return Litestar(
        route_handlers=[preflight, public_health, snippet, collect_endpoint, record_consent, read_consent, csp_report],
        state=State({"collector": Collector(settings, sites, spools)}),
        lifespan=[lambda app: spools.running()],
        # No per-request metrics middleware here: it costs a sixth of a /collect request, and the
        # event counters say what matters about this listener.
        openapi_config=None,
        logging_config=None,
        request_max_body_size=MAX_BODY_BYTES,
    )


def internal_app(
    warehouse: Warehouse, ops_token: str, sites: Sequence[str] = (), hasher: PasswordHasher | None = None,
    hooks: Hooks = Hooks(),
) -> Litestar:
    """The internal API, its schema and the metrics, for the dashboard, the CLI and monitoring."""
    state = {
        "warehouse": warehouse,
        "ops_token": ops_token,
        "sites": list(sites),
        "accounts": Accounts(warehouse, hasher),
        "sessions": Sessions(),
        "throttle": Throttle(),
        "login_limiter": RateLimiter(Rate.parse("20/minute")),
        "pseudonym_key": secrets.token_bytes(32),
        "hooks": hooks,
    }
    return Litestar(
        route_handlers=[internal_health, MetricsController, OpsController, SessionController, UsersController,
                        ReportsController, ExploreController, ComplianceController, OutboxController,
                        TrackersController],
        dependencies={"warehouse": Provide(lambda: warehouse, sync_to_thread=False)},
        state=State(state),
        middleware=[request_metrics("internal").middleware],
        exception_handlers={
            WarehouseError: _warehouse_failed,
            ClickHouseError: _warehouse_failed,
            AccountError: _refused,
        },
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


def _refused(request: Request, exc: AccountError) -> Response:
    return Response({"status_code": 400, "detail": str(exc)}, status_code=400)
