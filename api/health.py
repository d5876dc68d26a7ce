"""Liveness of the internal listener: up, and able to reach the warehouse."""

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException

from api.audit import not_audited
from api.auth import public
from warehouse import Warehouse

_PROBE = "a probe, for load balancers, of whether the warehouse answers; it reads no data"


class Health(msgspec.Struct, frozen=True):
    status: str
    warehouse: str


@get("/healthz", sync_to_thread=True, opt=not_audited(_PROBE) | public(_PROBE), raises=[ServiceUnavailableException])
def internal_health(warehouse: NamedDependency[Warehouse]) -> Health:
    """The internal listener is up and can reach the warehouse."""
    if not warehouse.ping():
        raise ServiceUnavailableException(detail="warehouse unreachable")
    return Health(status="ok", warehouse="ok")
