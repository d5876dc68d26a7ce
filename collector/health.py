"""Liveness of each listener."""

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException

from warehouse import Warehouse


class Health(msgspec.Struct, frozen=True, omit_defaults=True):
    status: str
    warehouse: str | None = None


@get("/healthz", sync_to_thread=False)
def public_health() -> Health:
    """The public listener is up: it answers even while the warehouse is away."""
    return Health(status="ok")


@get("/healthz", sync_to_thread=True)
def internal_health(warehouse: NamedDependency[Warehouse]) -> Health:
    """The internal listener is up and can reach the warehouse."""
    if not warehouse.ping():
        raise ServiceUnavailableException(detail="warehouse unreachable")
    return Health(status="ok", warehouse="ok")
