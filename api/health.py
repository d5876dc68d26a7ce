"""Liveness of the internal listener: up, and able to reach the warehouse."""

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException

from warehouse import Warehouse


class Health(msgspec.Struct, frozen=True):
    status: str
    warehouse: str


@get("/healthz", sync_to_thread=True)
def internal_health(warehouse: NamedDependency[Warehouse]) -> Health:
    """The internal listener is up and can reach the warehouse."""
    if not warehouse.ping():
        raise ServiceUnavailableException(detail="warehouse unreachable")
    return Health(status="ok", warehouse="ok")
